package console

import "testing"

func TestNoteBuiltin(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"at csm-upgrade.yaml:3":                        "at csm-upgrade.yaml:3 (" + builtinNote + ")",
		"(csm-upgrade.yaml:3)":                         "(csm-upgrade.yaml:3, " + builtinNote + ")",
		"(csm-upgrade.yaml:3:4 x":                      "(csm-upgrade.yaml:3:4 (" + builtinNote + ") x",
		"x csm-upgrade.yaml:3)":                        "x csm-upgrade.yaml:3 (" + builtinNote + "))",
		"my-csm-upgrade.yaml:3 is not ours":            "my-csm-upgrade.yaml:3 is not ours",
		"csm-upgrade.yaml:1: x; at csm-upgrade.yaml:2": "csm-upgrade.yaml:1 (" + builtinNote + "): x; at csm-upgrade.yaml:2 (" + builtinNote + ")",
	} {
		if got := NoteBuiltin(in, true); got != want {
			t.Errorf("NoteBuiltin(%q) = %q, want %q", in, got, want)
		}
		if got := NoteBuiltin(in, false); got != in && want != in {
			t.Errorf("NoteBuiltin(%q, false) = %q", in, got)
		}
	}
}
