package main

import (
	"io"
	"testing"
	"time"

	"github.com/csmplan/csmplan"
)

// --install-time alone works: the shortened install wait outlasts the
// simulated install, unless the user gave install_timeout.
func TestSimulateInstallTime(t *testing.T) {
	t.Parallel()
	p, err := csmplan.LoadDefault()
	if err != nil {
		t.Fatal(err)
	}
	e := &env{stdout: io.Discard, stderr: io.Discard, exe: "csmplan"}
	for _, tc := range []struct {
		installTime time.Duration
		given       any
		want        string
	}{
		{0, nil, "20s"},
		{45 * time.Second, nil, "1m45s"},
		{45 * time.Second, "5m", "5m"},
	} {
		params := map[string]any{}
		if tc.given != nil {
			params["install_timeout"] = tc.given
		}
		sim, err := startSimulation(e, p, params, &runFlags{installTime: tc.installTime})
		if err != nil {
			t.Fatal(err)
		}
		sim.close()
		if params["install_timeout"] != tc.want {
			t.Errorf("--install-time %v, install_timeout given %v: bound %v, want %s", tc.installTime, tc.given, params["install_timeout"], tc.want)
		}
	}
}
