package fleet_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/csmplan/csmplan/actions/actionstest"
	"github.com/csmplan/csmplan/runner/fleet"
)

func TestWaves(t *testing.T) {
	t.Parallel()
	labels := map[string]string{
		"u01": "site: b, env: prod", "u02": "site: a, env: prod", "u03": "site: b, env: test",
		"u04": "site: a, env: test", "u05": "site: c, env: prod",
	}
	tests := []struct {
		name    string
		rollout string
		want    [][]string
	}{
		{"default: one wave as written", "", [][]string{{"u01", "u02", "u03", "u04", "u05"}}},
		{"size", "  waves: {size: 2}\n", [][]string{{"u01", "u02"}, {"u03", "u04"}, {"u05"}}},
		{"order then size", "  order: [site]\n  waves: {size: 2}\n", [][]string{{"u02", "u04"}, {"u01", "u03"}, {"u05"}}},
		{"order by two keys, name last", "  order: [env, site, name]\n", [][]string{{"u02", "u01", "u05", "u04", "u03"}}},
		{"by label", "  waves: {by: site}\n", [][]string{{"u01", "u03"}, {"u02", "u04"}, {"u05"}}},
		{"canary then by label in order", "  order: [env]\n  canary: {units: [u04, u03]}\n  waves: {by: site}\n", [][]string{{"u04", "u03"}, {"u01"}, {"u02"}, {"u05"}}},
		{"only canaries", "  canary: {units: [u01, u02, u03, u04, u05]}\n", [][]string{{"u01", "u02", "u03", "u04", "u05"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			kit := actionstest.NewKit()
			kit.Action("up.install")
			f, _ := loadFleet(t, kit, fleetOf(names(5), labels, tt.rollout))
			if d := cmp.Diff(tt.want, f.Waves()); d != "" {
				t.Errorf("waves (-want +got):\n%s", d)
			}
		})
	}
}

// TestWavesOfAFleetByHand: a fleet built in Go, not loaded, plans too.
func TestWavesOfAFleetByHand(t *testing.T) {
	t.Parallel()
	f := &fleet.Fleet{Units: []fleet.Unit{{Name: "a"}, {Name: "b"}, {Name: "c"}}, Rollout: fleet.Rollout{Canary: []string{"c", "zz"}, WaveSize: 1}}
	if d := cmp.Diff([][]string{{"c"}, {"a"}, {"b"}}, f.Waves()); d != "" {
		t.Errorf("waves (-want +got):\n%s", d)
	}
	if f.Unit("b") != &f.Units[1] || f.Unit("zz") != nil {
		t.Error("Unit")
	}
}
