package console

import "testing"

func TestFit(t *testing.T) {
	t.Parallel()
	tests := []struct {
		s    string
		n    int
		want string
	}{
		{"hello", 10, "hello"},
		{"hello world", 6, "hello…"},
		{"日本語のテキスト", 7, "日本語…"},
		{"e\u0301te\u0301 long", 5, "e\u0301te\u0301 …"},
		{"\x1b[31mred text\x1b[0m", 4, "\x1b[31mred…\x1b[0m"},
		{"anything", 0, "anything"},
	}
	for _, tt := range tests {
		got := Fit(tt.s, tt.n)
		if got != tt.want || tt.n > 0 && DisplayWidth(got) > tt.n {
			t.Errorf("Fit(%q, %d) = %q (%d columns), want %q", tt.s, tt.n, got, DisplayWidth(got), tt.want)
		}
	}
}
