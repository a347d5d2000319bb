package plan_test

import (
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/csmplan/csmplan/plan"
)

// lineBreaks are the line breaks of YAML.
var lineBreaks = regexp.MustCompile("\r\n|[\r\n\u0085\u2028\u2029]")

// FuzzParse checks that no input makes the loader panic or hang, and that
// every problem it reports points inside the input.
func FuzzParse(f *testing.F) {
	f.Add([]byte(valid))
	f.Add([]byte("apiVersion: csmplan/v1\nkind: Runbook\nname: t\nsteps:\n  - id: a\n    action: log\n    with: {message: [1, 2}\n"))
	f.Add([]byte("a: &a [x,x]\nb: &b [*a,*a]\nc: [*b,*b]\n"))
	f.Add([]byte("steps:\n\t- id: a\n"))
	f.Add([]byte("apiVersion: csmplan/v1\nkind: Runbook\nname: t\nsteps:\n  - id: a\n    pre: [{value: \"${vars.x[0].y}\", expect: {path: \"[*].s\", all: {matches: \"(\"}}}]\n"))
	f.Add([]byte("---\n---\n"))
	f.Add([]byte("\x00\xff"))
	f.Fuzz(func(t *testing.T, src []byte) {
		p, err := plan.Parse("fuzz.yaml", src)
		if err == nil {
			if p == nil {
				t.Fatal("nil plan without error")
			}
			return
		}
		lines := len(lineBreaks.FindAllIndex(src, -1)) + 2
		for _, e := range plan.Errors(err) {
			if e.Pos.Line > lines || e.Pos.Line < 0 {
				t.Fatalf("error at line %d of a %d-line input: %v", e.Pos.Line, lines, e)
			}
		}
		var b strings.Builder
		plan.Render(&b, err, plan.RenderOptions{Context: 2})
	})
}

// generatedRunbook returns a valid runbook of n steps, each a
// precondition, a log action with a reference and a postcondition.
func generatedRunbook(n int) []byte {
	var b strings.Builder
	b.WriteString("apiVersion: csmplan/v1\nkind: Runbook\nname: gen\nparams:\n  host: {type: string, default: h}\nsteps:\n")
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, "  - id: step-%d\n    pre: [{value: \"${params.host}\", expect: {equals: h}}]\n    action: log\n    with: {message: \"step %d on ${params.host}\"}\n    post: [{value: %d, expect: {gte: 0}}]\n", i, i, i)
	}
	return []byte(b.String())
}

// BenchmarkParse measures parse + schema + semantic checks. Goal: 10,000
// steps in under 150 ms and 100 MB, growing linearly.
func BenchmarkParse(b *testing.B) {
	for _, n := range []int{100, 1000, 10000} {
		src := generatedRunbook(n)
		b.Run(fmt.Sprintf("steps=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(src)))
			for i := 0; i < b.N; i++ {
				if _, err := plan.Parse("gen.yaml", src); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
