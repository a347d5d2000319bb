package schema

import (
	"fmt"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// bigRunbook returns a valid runbook of n steps, each with a precondition,
// an action with arguments, a retry policy and a postcondition.
func bigRunbook(n int) []byte {
	var b strings.Builder
	b.WriteString("apiVersion: csmplan/v1\nkind: Runbook\nname: big\nparams:\n  host: {type: string, required: true}\n")
	b.WriteString("targets:\n  primary: {host: \"${params.host}\", port: 9559}\ndefaults: {timeout: 10m}\nsteps:\n")
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, `  - id: step-%d
    title: Step number %d
    pre:
      - probe: csm.ha
        with: {target: primary}
        expect: {path: role, equals: Active}
        wait: {timeout: 5m, interval: 10s}
    action: exec
    with: {argv: [echo, "%d"]}
    timeout: 1m
    retry: {attempts: 3, interval: 10s, backoff: 2}
    post:
      - value: ${vars.x}
        expect: {gte: 6.3.10.1}
    on_failure: continue
`, i, i, i)
	}
	return []byte(b.String())
}

func parse(tb testing.TB, src []byte) *yaml.Node {
	tb.Helper()
	var doc yaml.Node
	if err := yaml.Unmarshal(src, &doc); err != nil {
		tb.Fatal(err)
	}
	return doc.Content[0]
}

// BenchmarkValidate validates a 10,000-step runbook (parsing excluded).
func BenchmarkValidate(b *testing.B) {
	root := parse(b, bigRunbook(10000))
	if ps := Validate(root); len(ps) > 0 {
		b.Fatalf("generated runbook is invalid: %v", ps[0])
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if ps := Validate(root); len(ps) > 0 {
			b.Fatal(ps[0])
		}
	}
}

// BenchmarkParseAndValidate adds the YAML parse, for comparison.
func BenchmarkParseAndValidate(b *testing.B) {
	src := bigRunbook(10000)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if ps := Validate(parse(b, src)); len(ps) > 0 {
			b.Fatal(ps[0])
		}
	}
}

// BenchmarkValidateOneProblem measures the error path: one unknown key in
// the last of 10,000 steps sends the document through jsonschema and the
// position mapping.
func BenchmarkValidateOneProblem(b *testing.B) {
	src := append(bigRunbook(10000), "    tiemout: 1m\n"...)
	root := parse(b, src)
	if ps := Validate(root); len(ps) != 1 {
		b.Fatalf("want one problem, got %v", ps)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		Validate(root)
	}
}
