package main

import (
	"errors"
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"strings"
	"testing"
)

func TestPrintf(t *testing.T) {
	tests := []struct {
		format string
		args   []any
		want   string
	}{
		{"%s: %v\n", []any{"title \x1b[2J", errors.New("IWNR1234E: \x1b[31m\nforged")}, "title \\x1b[2J: IWNR1234E: \\x1b[31m\\nforged\n"},
		{"%q %d %-6s|", []any{"a\x1bb", 42, "x\u202e"}, `"a\x1bb" 42 x\u202e    |`},
		{"%s%s", []any{ours("\x1b[1m"), "bold\x1b"}, "\x1b[1mbold\\x1b"},
		{"%s", []any{block("one\x1b\ntwo\r\n")}, "one\\x1b\ntwo\\r\n"},
		{"%v", []any{[]string{"a\x1b"}}, `[a\x1b]`},
	}
	for _, tt := range tests {
		var b strings.Builder
		printf(&b, tt.format, tt.args...)
		if got := b.String(); got != tt.want {
			t.Errorf("printf(%q, %q) = %q, want %q", tt.format, tt.args, got, tt.want)
		}
	}
}

// TestOneOutputBoundary keeps every write of the command line in output.go:
// elsewhere, the package prints with printf, never with fmt or io directly.
func TestOneOutputBoundary(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") || name == "output.go" {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
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
					t.Errorf("%s: %s.%s: print with printf (output.go), which escapes what comes from outside", fset.Position(sel.Pos()), pkg.Name, sel.Sel.Name)
				}
			}
			return true
		})
	}
}
