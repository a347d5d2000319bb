package boundarytest_test

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/csmplan/csmplan/internal/boundarytest"
)

// pkg writes the files into a new directory and returns it.
func pkg(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, src := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(src), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestWrites(t *testing.T) {
	t.Parallel()
	dir := pkg(t, map[string]string{
		"output.go":   "package p\n\nimport (\"fmt\"; \"io\")\n\nfunc printf(w io.Writer, f string, a ...any) { fmt.Fprintf(w, f, a...) }\n",
		"run.go":      "package p\n\nimport (\"fmt\"; \"io\"; \"os\")\n\nfunc run(w io.Writer) {\n\tfmt.Println(\"hi\")\n\t_ = fmt.Sprintf(\"%d\", 1)\n\tio.WriteString(w, \"x\")\n\tprintf(os.Stdout, \"ok\")\n}\n",
		"run_test.go": "package p\n\nimport \"fmt\"\n\nfunc show() { fmt.Println(\"a test prints as it likes\") }\n",
	})
	got, err := boundarytest.Writes(dir, "output.go")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{filepath.Join(dir, "run.go") + ":6:2: fmt.Println", filepath.Join(dir, "run.go") + ":8:2: io.WriteString"}
	if !slices.Equal(got, want) {
		t.Errorf("Writes = %q, want %q", got, want)
	}
}

func TestWritesOfAFileThatDoesNotParse(t *testing.T) {
	t.Parallel()
	dir := pkg(t, map[string]string{"broken.go": "package p\n\nfunc {\n"})
	if _, err := boundarytest.Writes(dir, "output.go"); err == nil || !strings.Contains(err.Error(), "broken.go:3") {
		t.Errorf("err = %v, want the place that does not parse", err)
	}
}

// recorder is a testing.TB that keeps what Check says.
type recorder struct {
	testing.TB
	errors []string
	fatal  bool
}

func (r *recorder) Helper() {}

func (r *recorder) Errorf(format string, args ...any) {
	r.errors = append(r.errors, fmt.Sprintf(format, args...))
}

func (r *recorder) Fatal(args ...any) { r.fatal = true }

func TestCheck(t *testing.T) {
	t.Parallel()
	dir := pkg(t, map[string]string{"run.go": "package p\n\nimport \"fmt\"\n\nfunc run() { fmt.Print(1) }\n"})
	r := &recorder{TB: t}
	boundarytest.Check(r, dir, "output.go", "print with printf")
	want := []string{filepath.Join(dir, "run.go") + ":5:14: fmt.Print: print with printf, which escapes what comes from outside"}
	if !slices.Equal(r.errors, want) || r.fatal {
		t.Errorf("Check said %q (fatal %v), want %q", r.errors, r.fatal, want)
	}
	r = &recorder{TB: t}
	boundarytest.Check(r, pkg(t, map[string]string{"x.go": "not go"}), "output.go", "print with printf")
	if !r.fatal {
		t.Error("Check of a file that does not parse did not fail the test")
	}
}
