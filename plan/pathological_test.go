package plan_test

import (
	"bytes"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/csmplan/csmplan/plan"
)

// Inputs that once made loading super-linear (issue 9). Each generator
// returns a runbook of about size bytes; the fuzz seed corpus holds small
// instances, BenchmarkParsePathological runs them at full size.

const pathHead = "apiVersion: csmplan/v1\nkind: Runbook\nname: t\n"

// refsRunbook is full of references, good and bad: params, vars saved by
// earlier steps, outputs of earlier steps, and a last step whose message is
// one long string of references.
func refsRunbook(size int) []byte {
	var b bytes.Buffer
	b.WriteString(pathHead + "params:\n")
	params := max(size/1200, 1)
	for i := 0; i < params; i++ {
		fmt.Fprintf(&b, "  p%d: {type: string, default: x}\n", i)
	}
	b.WriteString("steps:\n")
	long := size / 5
	for i := 0; b.Len() < size-long; i++ {
		p := i % params
		fmt.Fprintf(&b, "  - id: s%d\n    pre: [{value: \"${params.p%d}\", save: v%d}]\n    action: log\n", i, p, i)
		fmt.Fprintf(&b, "    with: {message: \"${params.p%d} ${vars.v%d} ${steps.s%d.outputs.message} ${params.q%d} ${vars.w%d} ${steps.t%d.outputs.message}\"}\n", p, i, max(i-1, 0), i, i, i)
		fmt.Fprintf(&b, "    post: [{value: \"${steps.s%d.outputs.message}\", expect: {equals: x}}]\n", i)
	}
	b.WriteString("  - id: long\n    action: log\n    with: {message: \"")
	for b.Len() < size-4 {
		b.WriteString("é ${params.p0} ")
	}
	b.WriteString("\"}\n")
	return b.Bytes()
}

// duplicateIDsRunbook has every step under the same id, each referring to
// the outputs of "a".
func duplicateIDsRunbook(size int) []byte {
	var b bytes.Buffer
	b.WriteString(pathHead + "steps:\n")
	for b.Len() < size {
		b.WriteString("  - id: a\n    action: log\n    with: {message: \"${steps.a.outputs.message}\"}\n")
	}
	return b.Bytes()
}

// mergeChainRunbook is made of merge keys: a chain of anchors each merging
// the one before (<<: *prev), then a chain of anchors each merging the two
// before through a list merge (<<: [*a, *b]), so that the expansion doubles
// at each level; the second chain runs to size bytes.
func mergeChainRunbook(size int) []byte {
	var b bytes.Buffer
	b.WriteString(pathHead + "params:\n  c0: &c0 {type: string}\n")
	for i := 1; i < 1000 && b.Len() < size/2; i++ {
		fmt.Fprintf(&b, "  c%d: &c%d {<<: *c%d}\n", i, i, i-1)
	}
	b.WriteString("  m0: &m0 {type: string}\n  m1: &m1 {description: d}\n")
	for i := 2; b.Len() < size; i++ {
		fmt.Fprintf(&b, "  m%d: &m%d {<<: [*m%d, *m%d]}\n", i, i, i-1, i-2)
	}
	b.WriteString("steps:\n  - id: a\n    action: log\n    with: {message: x}\n")
	return b.Bytes()
}

// manyErrorsRunbook has a problem on nearly every line.
func manyErrorsRunbook(size int) []byte {
	var b bytes.Buffer
	b.WriteString(pathHead + "steps:\n")
	for i := 0; b.Len() < size; i++ {
		fmt.Fprintf(&b, "  - id: s%d\n    actoin: log\n    timeout: %d\n", i, i)
	}
	return b.Bytes()
}

// mappingErrorsRunbook has many params, each with a problem.
func mappingErrorsRunbook(size int) []byte {
	var b bytes.Buffer
	b.WriteString(pathHead + "params:\n")
	for i := 0; b.Len() < size; i++ {
		fmt.Fprintf(&b, "  p%d: {type: strin}\n", i)
	}
	b.WriteString("steps: [{id: a, action: log, with: {message: x}}]\n")
	return b.Bytes()
}

// lateSyntaxErrorRunbook is a valid runbook that ends with a step whose
// arguments hold many lines and then a line indented wrongly: the YAML
// parser reports the start of the step, far above the culprit.
func lateSyntaxErrorRunbook(size int) []byte {
	var b bytes.Buffer
	b.WriteString(pathHead + "steps:\n")
	keys := min(500, size/40)
	for i := 0; b.Len() < size-keys*16; i++ {
		fmt.Fprintf(&b, "  - id: s%d\n    action: log\n    with: {message: x}\n", i)
	}
	b.WriteString("  - id: z\n    action: log\n    with:\n")
	for i := 0; i < keys; i++ {
		fmt.Fprintf(&b, "      k%d: x\n", i)
	}
	b.WriteString("     bad: x\n")
	return b.Bytes()
}

// aliasArgumentsRunbook gives every step the same large arguments through
// an alias: each alias is small, the arguments it stands for are a quarter
// of the runbook.
func aliasArgumentsRunbook(size int) []byte {
	var b bytes.Buffer
	b.WriteString(pathHead + "steps:\n  - id: a\n    action: log\n    with: &w {message: [")
	b.WriteString(strings.Repeat("x, ", size/12))
	b.WriteString("x]}\n")
	for i := 0; b.Len() < size; i++ {
		fmt.Fprintf(&b, "  - {id: b%d, action: log, with: *w}\n", i)
	}
	return b.Bytes()
}

// oneLineErrorsRunbook is a runbook written as one line of JSON with a
// problem in every step.
func oneLineErrorsRunbook(size int) []byte {
	var b bytes.Buffer
	b.WriteString(`{"apiVersion": "csmplan/v1", "kind": "Runbook", "name": "t", "steps": [`)
	for i := 0; b.Len() < size; i++ {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, `{"id": "s%d", "actoin": "log"}`, i)
	}
	b.WriteString("]}\n")
	return b.Bytes()
}

// validRunbook is a valid runbook of about size bytes: the cost of loading
// at all.
func validRunbook(size int) []byte {
	var b bytes.Buffer
	b.WriteString(pathHead + "params:\n  host: {type: string, default: h}\nsteps:\n")
	for i := 0; b.Len() < size; i++ {
		fmt.Fprintf(&b, "  - id: step-%d\n    pre: [{value: \"${params.host}\", expect: {equals: h}}]\n    action: log\n    with: {message: \"step %d on ${params.host}\"}\n    post: [{value: %d, expect: {gte: 0}}]\n", i, i, i)
	}
	return b.Bytes()
}

// pathological lists the shapes with their full size.
var pathological = []struct {
	name string
	gen  func(size int) []byte
	size int
}{
	{"refs", refsRunbook, 5 << 20},
	{"duplicate-ids", duplicateIDsRunbook, 5 << 20},
	{"merge-chain", mergeChainRunbook, 5 << 20},
	{"many-errors", manyErrorsRunbook, 5 << 20},
	{"mapping-errors", mappingErrorsRunbook, 5 << 20},
	{"late-syntax-error", lateSyntaxErrorRunbook, plan.MaxSize - 1<<10},
	{"alias-arguments", aliasArgumentsRunbook, 5 << 20},
	{"one-line-errors", oneLineErrorsRunbook, 5 << 20},
	{"valid", validRunbook, 5 << 20},
}

var update = flag.Bool("update", false, "rewrite the fuzz seeds of the pathological shapes")

// seedSize is the size of the pathological shapes in the fuzz seed corpus.
const seedSize = 3 << 10

// TestPathologicalFuzzSeeds checks that the fuzz seed corpus holds a small
// instance of each pathological shape, testdata/fuzz/FuzzParse/pathological-*;
// go test ./plan -run PathologicalFuzzSeeds -update rewrites them.
func TestPathologicalFuzzSeeds(t *testing.T) {
	t.Parallel()
	for _, shape := range pathological {
		if shape.name == "valid" {
			continue
		}
		path := filepath.Join("testdata", "fuzz", "FuzzParse", "pathological-"+shape.name)
		want := fmt.Sprintf("go test fuzz v1\n[]byte(%s)\n", strconv.Quote(string(shape.gen(seedSize))))
		if *update {
			if err := os.WriteFile(path, []byte(want), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		got, err := os.ReadFile(path)
		if err != nil || string(got) != want {
			t.Errorf("%s is not the seed of %s (%v): run go test ./plan -run PathologicalFuzzSeeds -update", path, shape.name, err)
		}
	}
}

// load parses src and draws every problem, as `csmplan validate` does.
func load(src []byte) int {
	_, err := plan.Parse("p.yaml", src)
	plan.Render(io.Discard, err, plan.RenderOptions{Context: 2})
	return len(plan.Errors(err))
}

// BenchmarkParsePathological loads each shape at full size and draws its
// problems: every one should take well under 2 s.
//
//	go test ./plan -run '^$' -bench Pathological -benchtime 1x
func BenchmarkParsePathological(b *testing.B) {
	for _, shape := range pathological {
		src := shape.gen(shape.size)
		b.Run(shape.name, func(b *testing.B) {
			b.SetBytes(int64(len(src)))
			b.ReportAllocs()
			problems := 0
			for i := 0; i < b.N; i++ {
				problems = load(src)
			}
			b.ReportMetric(float64(problems), "problems")
		})
	}
}

// BenchmarkFuzzCorpus loads every input of the fuzz corpus in
// testdata/fuzz/FuzzParse and reports the slowest, the loader's worst case
// over the corpus.
func BenchmarkFuzzCorpus(b *testing.B) {
	files, err := filepath.Glob("testdata/fuzz/FuzzParse/*")
	if err != nil || len(files) == 0 {
		b.Fatalf("no fuzz corpus: %v", err)
	}
	inputs := make([][]byte, len(files))
	for i, f := range files {
		if inputs[i], err = readFuzzInput(f); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	var slowest time.Duration
	var which string
	for n := 0; n < b.N; n++ {
		for i, src := range inputs {
			start := time.Now()
			load(src)
			if d := time.Since(start); d > slowest {
				slowest, which = d, files[i]
			}
		}
	}
	b.ReportMetric(float64(slowest.Nanoseconds()), "slowest-ns")
	b.ReportMetric(float64(len(inputs)), "inputs")
	b.Logf("slowest of %d inputs: %s, %v", len(inputs), filepath.Base(which), slowest)
}

// readFuzzInput reads a corpus file of one []byte value ("go test fuzz v1").
func readFuzzInput(path string) ([]byte, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	lines := strings.SplitN(strings.TrimSpace(string(data)), "\n", 2)
	if len(lines) != 2 || lines[0] != "go test fuzz v1" {
		return nil, fmt.Errorf("%s: not a fuzz corpus file", path)
	}
	lit, ok := strings.CutPrefix(strings.TrimSpace(lines[1]), "[]byte(")
	if !ok || !strings.HasSuffix(lit, ")") {
		return nil, fmt.Errorf("%s: want one []byte value", path)
	}
	s, err := strconv.Unquote(strings.TrimSuffix(lit, ")"))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return []byte(s), nil
}

// allocated returns the bytes allocated while f runs.
func allocated(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// TestLoadGrowsLinearly loads each shape at two sizes, n and 4n, and checks
// that loading the larger allocates at most growthLimit times as much: work
// that grows with the square of the size shows as 16 times. Allocation is a
// measure of work that does not depend on the machine's load, unlike time.
//
// The test does not run in parallel: the allocation counters are shared by
// the whole process.
func TestLoadGrowsLinearly(t *testing.T) {
	const n, growthLimit = 16 << 10, 8
	load(validRunbook(n)) // compile the schema once
	for _, shape := range []struct {
		name string
		gen  func(int) []byte
	}{
		{"refs", refsRunbook},
		{"duplicate-ids", duplicateIDsRunbook},
		{"many-errors", manyErrorsRunbook},
		{"alias-arguments", aliasArgumentsRunbook},
		{"one-line-errors", oneLineErrorsRunbook},
		{"valid", validRunbook},
	} {
		small, large := shape.gen(n), shape.gen(4*n)
		var smallProblems, largeProblems int
		a := allocated(func() { smallProblems = load(small) })
		b := allocated(func() { largeProblems = load(large) })
		ratio := float64(b) / float64(a)
		t.Logf("%s: %.1f", shape.name, ratio)
		if ratio > growthLimit {
			t.Errorf("%s: %d bytes allocate %d, %d bytes allocate %d: %.1f times as much for 4 times the input (%d and %d problems)",
				shape.name, len(small), a, len(large), b, ratio, smallProblems, largeProblems)
		}
	}
}
