package schema

import (
	"bytes"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"sort"
	"sync"

	"github.com/santhosh-tekuri/jsonschema/v5"
	"gopkg.in/yaml.v3"
)

//go:embed runbook.schema.json
var runbookJSON []byte

// RunbookURL is the $id of the runbook schema.
const RunbookURL = "https://github.com/csmplan/csmplan/schema/runbook.schema.json"

// Runbook returns the runbook JSON Schema (draft 2020-12), the embedded file
// runbook.schema.json. The caller may modify the returned slice.
func Runbook() []byte { return bytes.Clone(runbookJSON) }

var runbook struct {
	once sync.Once
	s    *jsonschema.Schema
	err  error
}

// runbookSchema returns the compiled runbook schema, compiled once.
func runbookSchema() (*jsonschema.Schema, error) {
	runbook.once.Do(func() {
		runbook.s, runbook.err = Compile(RunbookURL, runbookJSON)
	})
	return runbook.s, runbook.err
}

// Compile compiles a draft 2020-12 JSON Schema held in src, known as url,
// keeping titles, descriptions and writeOnly so that [ValidateAgainst] can
// use them in messages. It never loads anything over the network: a $ref to
// another document is an error.
func Compile(url string, src []byte) (*jsonschema.Schema, error) {
	c := jsonschema.NewCompiler()
	c.Draft = jsonschema.Draft2020
	c.ExtractAnnotations = true
	c.LoadURL = func(u string) (io.ReadCloser, error) {
		return nil, fmt.Errorf("schema %s: loading %s: %w", url, u, errNoLoad)
	}
	if err := c.AddResource(url, bytes.NewReader(src)); err != nil {
		return nil, fmt.Errorf("schema %s: %w", url, err)
	}
	s, err := c.Compile(url)
	if err != nil {
		return nil, fmt.Errorf("schema %s: %w", url, err)
	}
	return s, nil
}

var errNoLoad = errors.New("external schemas are not loaded")

// Problem is one schema violation, located in the YAML source.
type Problem struct {
	// Line and Column are 1-based, of the offending key or value.
	Line, Column int
	// Message is for people: it names the culprit (a key or a value).
	Message string
	// Suggestion is a close valid alternative ("did you mean"), or "".
	Suggestion string
	// Pointer is the JSON pointer of the instance, such as
	// /steps/2/retry/attempts.
	Pointer string
}

// Error returns "line:column: message".
func (p Problem) Error() string {
	return fmt.Sprintf("%d:%d: %s", p.Line, p.Column, p.Message)
}

// Validate checks a runbook document against the runbook schema. Pass the
// top mapping node (doc.Content[0] of a DocumentNode; a DocumentNode is
// accepted too). The problems are sorted by position and deduplicated; nil
// means the document fits the schema.
func Validate(root *yaml.Node) []Problem {
	s, err := runbookSchema()
	if err != nil {
		// The embedded schema is tested to compile; this is unreachable.
		return []Problem{{Line: 1, Column: 1, Message: fmt.Sprintf("runbook schema: %v", err)}}
	}
	return validate(&mapper{schema: s, rootName: "runbook"}, root)
}

// ValidateAgainst checks node against any compiled schema, such as the
// arguments schema of an action for a step's `with:`. Locations whose YAML
// value is a string containing "${" are not reported (references are typed
// at run time), nor anything below them. where, such as `argument of
// "exec"`, prefixes the messages; it may be empty. A nil node stands for
// absent arguments and is checked as an empty mapping; its problems have
// Line and Column 0, for the caller to place.
func ValidateAgainst(s *jsonschema.Schema, node *yaml.Node, where string) []Problem {
	if s == nil {
		return nil
	}
	return validate(&mapper{schema: s, where: where, skipRefs: true}, node)
}

func validate(m *mapper, root *yaml.Node) []Problem {
	if root != nil && root.Kind == yaml.DocumentNode {
		if len(root.Content) == 0 {
			root = nil
		} else {
			root = root.Content[0]
		}
	}
	if root == nil {
		if m.rootName != "" {
			return []Problem{{Line: 1, Column: 1, Message: m.rootName + " is empty: want a mapping with apiVersion, kind, name and steps"}}
		}
		root = &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
	}
	m.root = root
	m.entries = map[*yaml.Node]*mappingEntries{}
	if fastValid(m.schema, root) {
		return nil
	}
	checked, skipped := m.cut(root)
	conv := converter{}
	v := conv.value(checked, 0)
	if len(conv.problems) > 0 {
		return finish(wrapProblems(conv.problems))
	}
	err := m.schema.Validate(v)
	if err == nil {
		return nil
	}
	var ve *jsonschema.ValidationError
	if !errors.As(err, &ve) {
		return []Problem{{Line: root.Line, Column: root.Column, Message: m.prefix(err.Error())}}
	}
	m.collect(ve)
	m.out = append(m.out, skipped...)
	if len(m.out) == 0 {
		// Every violation was under a reference: nothing to report.
		return nil
	}
	return finish(m.out)
}

func wrapProblems(ps []Problem) []problem {
	out := make([]problem, len(ps))
	for i, p := range ps {
		out[i] = problem{Problem: p}
	}
	return out
}

// finish drops problems made redundant by others, sorts and deduplicates.
func finish(ps []problem) []Problem {
	// A missing key is noise when an unknown key of the same mapping is a
	// misspelling of it: "acton" both is unknown and leaves "action" missing.
	misspelt := map[string]bool{}
	for _, p := range ps {
		if p.unknown && p.Suggestion != "" {
			misspelt[p.object+"\x00"+p.Suggestion] = true
		}
	}
	out := make([]Problem, 0, len(ps))
	for _, p := range ps {
		if len(p.missing) > 0 {
			drop := false
			for _, k := range p.missing {
				if misspelt[p.object+"\x00"+k] {
					drop = true
				}
			}
			if drop {
				continue
			}
		}
		out = append(out, p.Problem)
	}
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		if a.Column != b.Column {
			return a.Column < b.Column
		}
		return a.Message < b.Message
	})
	dedup := out[:0]
	for _, p := range out {
		if n := len(dedup); n > 0 {
			if q := dedup[n-1]; p.Line == q.Line && p.Column == q.Column && p.Message == q.Message {
				continue
			}
		}
		dedup = append(dedup, p)
	}
	return dedup
}
