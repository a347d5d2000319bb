package plan_test

import (
	"testing"

	"github.com/csmplan/csmplan/plan"
)

// TestConditionString checks how conditions read in messages and
// documents: the title when there is one, else the subject and what is
// expected of it.
func TestConditionString(t *testing.T) {
	t.Parallel()
	src := `apiVersion: csmplan/v1
kind: Runbook
name: t
params:
  level: {type: string, default: 6.3.11}
steps:
  - id: a
    title: Check
    pre:
      - title: the server is up
        probe: http
        with: {url: "https://h/", method: GET}
      - probe: http
        with: {url: "https://h/"}
        expect: {path: status, in: [200, 204]}
      - value: ${params.level}
        expect: {gte: 6.3.10, as: version}
      - value: [1, 2]
        expect: {all: {lt: 3, gt: 0}, contains: 1}
      - value: {k: v}
        expect: {not_equals: {}, empty: false}
      - value: true
`
	p, err := plan.Parse("t.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	want := []struct{ str, subject string }{
		{"the server is up", `http(method=GET, url=https://h/)`},
		{`http(url=https://h/) status in [200,204]`, `http(url=https://h/)`},
		{`${params.level} gte "6.3.10" (as a version)`, `${params.level}`},
		{`[1,2] all (lt 3 and gt 0) and contains 1`, `[1,2]`},
		{`{"k":"v"} not_equals {} and empty false`, `{"k":"v"}`},
		{`true is true`, `true`},
	}
	s := p.Step("a")
	for i, c := range s.Pre {
		if got := c.String(); got != want[i].str {
			t.Errorf("condition %d reads %q, want %q", i+1, got, want[i].str)
		}
		if got := c.Subject(); got != want[i].subject {
			t.Errorf("condition %d: subject %q, want %q", i+1, got, want[i].subject)
		}
	}
	if s.Name() != "Check" || p.Step("nope") != nil || p.Param("nope") != nil || p.Param("level").Default != "6.3.11" {
		t.Errorf("Name %q, Step(nope) %v, Param(nope) %v, level %v", s.Name(), p.Step("nope"), p.Param("nope"), p.Param("level"))
	}
	var none *plan.Expect
	if none.String() != "is true" {
		t.Errorf("a nil expectation reads %q, want \"is true\"", none.String())
	}
}
