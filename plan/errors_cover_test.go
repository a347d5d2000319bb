package plan_test

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/csmplan/csmplan/plan"
)

const errHead = "apiVersion: csmplan/v1\nkind: Runbook\nname: t\n"

func TestRenderWithoutLoadErrors(t *testing.T) {
	t.Parallel()
	var b bytes.Buffer
	plan.Render(&b, nil, plan.RenderOptions{})
	if b.Len() != 0 {
		t.Errorf("Render(nil) wrote %q", b.String())
	}
	plan.Render(&b, errors.New("open x.yaml: permission denied"), plan.RenderOptions{Color: true})
	if b.String() != "open x.yaml: permission denied\n" {
		t.Errorf("Render of another error wrote %q, want it as it is", b.String())
	}
}

func TestRenderColorAndContext(t *testing.T) {
	t.Parallel()
	src := errHead + "steps:\n  - id: a\n    actoin: log\n  - id: b\n    action: lgo\n"
	_, err := plan.Parse("t.yaml", []byte(src))
	if err == nil {
		t.Fatal("no error")
	}
	if strings.Contains(err.Error(), "\x1b") {
		t.Errorf("Error() holds colour codes: %q", err.Error())
	}
	var b bytes.Buffer
	plan.Render(&b, err, plan.RenderOptions{Color: true, Context: 2})
	want := "\x1b[1mt.yaml:6:5:\x1b[0m \x1b[31munknown key \"actoin\" in step\x1b[0m\n" +
		"\x1b[34m4 |\x1b[0m steps:\n" +
		"\x1b[34m5 |\x1b[0m   - id: a\n" +
		"\x1b[34m6 |\x1b[0m     actoin: log\n" +
		"\x1b[34m  |\x1b[0m     \x1b[31m^^^^^^\x1b[0m\n" +
		"  = did you mean \"action\"?\n" +
		"\n" +
		"\x1b[1mt.yaml:8:13:\x1b[0m \x1b[31munknown action \"lgo\"\x1b[0m\n" +
		"\x1b[34m6 |\x1b[0m     actoin: log\n" +
		"\x1b[34m7 |\x1b[0m   - id: b\n" +
		"\x1b[34m8 |\x1b[0m     action: lgo\n" +
		"\x1b[34m  |\x1b[0m             \x1b[31m^^^\x1b[0m\n" +
		"  = did you mean \"log\"?\n"
	if got := b.String(); got != want {
		t.Errorf("render:\n%q\nwant:\n%q", got, want)
	}
}

func TestErrorsOfWrappedAndBuiltErrors(t *testing.T) {
	t.Parallel()
	_, err := plan.Parse("t.yaml", []byte(errHead+"steps:\n  - id: a\n    action: lgo\n"))
	wrapped := fmt.Errorf("loading: %w", err)
	errs := plan.Errors(wrapped)
	if len(errs) != 1 || errs[0].Pos != (plan.Pos{Line: 6, Column: 13}) || !errors.Is(errs[0], plan.ErrUnknown) {
		t.Fatalf("Errors of a wrapped load error = %v", errs)
	}
	if errs[0].Pos.String() != "6:13" {
		t.Errorf("Pos.String() = %q, want 6:13", errs[0].Pos.String())
	}
	if got := plan.Errors(errors.New("other")); got != nil {
		t.Errorf("Errors of another error = %v, want none", got)
	}
	// An error built in Go, without a position or a source, still reads
	// and renders.
	e := &plan.Error{File: "gen.yaml", Msg: "no steps", Suggestion: "steps", Err: plan.ErrSchema}
	if e.Error() != `gen.yaml: no steps (did you mean "steps"?)` {
		t.Errorf("Error() = %q", e.Error())
	}
	var b bytes.Buffer
	plan.Render(&b, e, plan.RenderOptions{Context: 3})
	if b.String() != "gen.yaml: no steps\n  = did you mean \"steps\"?\n" {
		t.Errorf("render of an error without a position:\n%q", b.String())
	}
}

// TestSyntaxErrorsExplained checks the syntax errors that yaml.v3 words
// for a parser, each located and said for a person.
func TestSyntaxErrorsExplained(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name, src, want string
	}{
		{"unclosed flow mapping", errHead + "steps:\n  - id: a\n    action: log\n    with: {message: x\n", "t.yaml:7:11: unclosed '{': a flow mapping must end with '}'"},
		{"unclosed quote", errHead + "title: \"never closed\n", "t.yaml:4:8: unexpected end of file: a quoted string or a flow collection is not closed"},
		{"reserved character", errHead + "title: @home\n", "t.yaml:4:8: a value cannot start with this character: quote it"},
		{"backquote", errHead + "title: `x`\n", "t.yaml:4:8: a value cannot start with this character: quote it"},
		{"list item out of line", errHead + "steps:\n  - id: a\n    pre: [{value: true}]\n - id: b\n", "t.yaml:7:2: bad indentation"},
	} {
		_, err := plan.Parse("t.yaml", []byte(tt.src))
		if !errors.Is(err, plan.ErrSyntax) || !strings.HasPrefix(err.Error(), tt.want) {
			t.Errorf("%s: %v\nwant %s...", tt.name, err, tt.want)
		}
	}
}

// TestLineBreaks checks that positions and frames count lines as YAML
// does, whatever the line breaks.
func TestLineBreaks(t *testing.T) {
	t.Parallel()
	lines := []string{"apiVersion: csmplan/v1", "kind: Runbook", "name: t", "steps:", "  - id: a", "    actoin: log"}
	for name, br := range map[string]string{"CRLF": "\r\n", "CR": "\r", "NEL": "\u0085", "LS": "\u2028", "PS": "\u2029"} {
		src := strings.Join(lines, br) + br
		_, err := plan.Parse("t.yaml", []byte(src))
		if err == nil || !strings.HasPrefix(err.Error(), `t.yaml:6:5: unknown key "actoin" in step`) {
			t.Errorf("%s: %v, want the problem at 6:5", name, err)
			continue
		}
		var b bytes.Buffer
		plan.Render(&b, err, plan.RenderOptions{Context: 1})
		want := "5 |   - id: a\n6 |     actoin: log\n  |     ^^^^^^\n"
		if !strings.Contains(b.String(), want) {
			t.Errorf("%s: frame\n%q\nwant it to hold\n%q", name, b.String(), want)
		}
	}
}
