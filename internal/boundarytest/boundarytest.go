// Package boundarytest checks that a package prints only through its output
// boundary: one file whose functions escape what comes from outside before
// it reaches a terminal (see package termsafe). Elsewhere in the package, a
// direct write with fmt.Fprint..., fmt.Print... or io.WriteString is a
// place where text from a runbook, a server or a process could reach the
// screen unescaped.
//
//	func TestOneOutputBoundary(t *testing.T) {
//		boundarytest.Check(t, ".", "output.go", "print with printf (output.go)")
//	}
package boundarytest

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"strings"
	"testing"
)

// Writes returns the direct writes in the Go files of dir, its test files
// and the boundary file aside: each "file.go:12:3: fmt.Fprintf". A file
// that does not parse is an error.
func Writes(dir, boundary string) ([]string, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		return nil, fmt.Errorf("boundarytest: listing the Go files of %s: %w", dir, err)
	}
	var found []string
	fset := token.NewFileSet()
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") || filepath.Base(name) == boundary {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			return nil, fmt.Errorf("boundarytest: %w", err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			sel, ok := n.(*ast.SelectorExpr)
			if !ok {
				return true
			}
			if pkg, ok := sel.X.(*ast.Ident); ok {
				switch {
				case pkg.Name == "fmt" && (strings.HasPrefix(sel.Sel.Name, "Fprint") || strings.HasPrefix(sel.Sel.Name, "Print")),
					pkg.Name == "io" && sel.Sel.Name == "WriteString":
					found = append(found, fmt.Sprintf("%s: %s.%s", fset.Position(sel.Pos()), pkg.Name, sel.Sel.Name))
				}
			}
			return true
		})
	}
	return found, nil
}

// Check fails t for each direct write in the package in dir outside its
// boundary file, saying how to print instead (hint).
func Check(t testing.TB, dir, boundary, hint string) {
	t.Helper()
	found, err := Writes(dir, boundary)
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range found {
		t.Errorf("%s: %s, which escapes what comes from outside", w, hint)
	}
}
