package main

import (
	"testing"

	"github.com/csmplan/csmplan/internal/boundarytest"
)

// TestOneOutputBoundary keeps every write of the command line in output.go:
// elsewhere, the package prints with printf, never with fmt or io directly.
// (What printf calls, console.Printf, keeps to its own package's boundary:
// internal/console's TestOneOutputBoundary.)
func TestOneOutputBoundary(t *testing.T) {
	boundarytest.Check(t, ".", "output.go", "print with printf (output.go)")
}
