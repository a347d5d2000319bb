package fleet_test

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/csmplan/csmplan/actions/actionstest"
	"github.com/csmplan/csmplan/runner/fleet"
)

func TestSelected(t *testing.T) {
	t.Parallel()
	kit := actionstest.NewKit()
	kit.Action("up.install")
	f, _ := loadFleet(t, kit, fleetOf(names(3), map[string]string{"u02": "site: west"}, ""))
	sel, err := f.Selected([]string{"site=west", "u03"})
	if err != nil || !cmp.Equal(sel, []bool{false, true, true}) {
		t.Errorf("Selected = %v, %v", sel, err)
	}
	if sel, err := f.Selected(nil); err != nil || !cmp.Equal(sel, []bool{true, true, true}) {
		t.Errorf("Selected(nil) = %v, %v", sel, err)
	}
	if _, err := f.Selected([]string{"u4"}); !errors.Is(err, fleet.ErrLimit) || !errors.Is(err, fleet.ErrUnknownUnit) {
		t.Errorf("unknown unit: %v", err)
	}
}

// TestSecretFromRelativeFleet: an @FILE of a fleet loaded by a relative
// name is recorded by its absolute path, which a worker started
// elsewhere can read.
func TestSecretFromRelativeFleet(t *testing.T) {
	t.Parallel()
	kit := actionstest.NewKit()
	kit.Action("up.install")
	dir := writeFiles(t, map[string]string{"rb.yaml": testRunbook, "pw": "pass-word",
		"fleet.yaml": fleetOf([]string{"a"}, nil, "") + "params: {password: \"@pw\"}\n"})
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	rel, err := filepath.Rel(wd, filepath.Join(dir, "fleet.yaml"))
	if err != nil {
		t.Skip("no relative path to the temporary directory:", err)
	}
	f, err := fleet.Load(rel, kit.Registry(), fleet.WithEnv(noEnv))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := f.Unit("a").SecretFrom["password"], "file:"+filepath.Join(dir, "pw"); got != want {
		t.Errorf("SecretFrom = %q, want %q", got, want)
	}
}
