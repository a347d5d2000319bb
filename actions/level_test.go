package actions_test

import (
	"testing"

	"github.com/csmplan/csmplan/actions"
)

func TestParseLevel(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in, level, suffix string
	}{
		{"6.3.11.0", "6.3.11", ""},
		{"6.3.11", "6.3.11", ""},
		{" v6.3.10.1 ", "6.3.10.1", ""},
		{"6.3.11.0-b20261101", "6.3.11", "-b20261101"},
		{"6.3.11.0 build 42", "6.3.11", " build 42"},
		{"6.3.11+7", "6.3.11", "+7"},
		{"7", "7", ""},
		{"0.0", "0", ""},
	}
	for _, tt := range tests {
		l, err := actions.ParseLevel(tt.in)
		if err != nil {
			t.Errorf("ParseLevel(%q): %v", tt.in, err)
			continue
		}
		if l.String() != tt.level || l.Suffix() != tt.suffix {
			t.Errorf("ParseLevel(%q) = %q suffix %q, want %q suffix %q", tt.in, l, l.Suffix(), tt.level, tt.suffix)
		}
	}
	for _, bad := range []string{"", "latest", ".", "v", "x6.3", "6..3"} {
		if _, err := actions.ParseLevel(bad); err == nil {
			t.Errorf("ParseLevel(%q): no error", bad)
		}
	}
}

func TestLevelCompare(t *testing.T) {
	t.Parallel()
	tests := []struct {
		a, b string
		want int
	}{
		{"6.3.11", "6.3.11.0", 0},
		{"6.3.11.0-b1", "6.3.11.0-b2", 0},
		{"6.3.10.1", "6.3.11.0", -1},
		{"6.3.10.10", "6.3.10.9", 1},
		{"6.4", "6.3.99.99", 1},
	}
	for _, tt := range tests {
		a, _ := actions.ParseLevel(tt.a)
		b, _ := actions.ParseLevel(tt.b)
		if got := a.Compare(b); got != tt.want {
			t.Errorf("Compare(%q, %q) = %d, want %d", tt.a, tt.b, got, tt.want)
		}
		if got := actions.SameLevel(tt.a, tt.b); got != (tt.want == 0) {
			t.Errorf("SameLevel(%q, %q) = %v", tt.a, tt.b, got)
		}
	}
	if actions.SameLevel("latest", "latest") {
		t.Error("SameLevel of two non-versions is true")
	}
}
