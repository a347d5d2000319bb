package fleet_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/csmplan/csmplan"
	"github.com/csmplan/csmplan/runner/fleet"
)

// TestDocFleet loads the fleet file of the package documentation with the
// built-in CSM upgrade: the documented example is a valid fleet.
func TestDocFleet(t *testing.T) {
	t.Parallel()
	doc, err := os.ReadFile("doc.go")
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, l := range strings.Split(string(doc), "\n") {
		if text, ok := strings.CutPrefix(l, "//\t"); ok {
			lines = append(lines, text)
		}
	}
	src := strings.Replace(strings.Join(lines, "\n")+"\n", "runbook: csm-upgrade.yaml", "", 1)
	src = strings.Replace(src, "@/etc/csm/east.password", "@east.password", 1)
	def, err := csmplan.LoadDefault()
	if err != nil {
		t.Fatal(err)
	}
	dir := writeFiles(t, map[string]string{"east-test.password": "secret-one", "east.password": "secret-two"})
	f, err := fleet.Parse(filepath.Join(dir, "fleet.yaml"), []byte(src), csmplan.Registry(), fleet.WithDefaultRunbook(def), fleet.WithEnv(noEnv))
	if err != nil {
		t.Fatalf("%v\n%s", err, src)
	}
	if len(f.Units) != 2 || f.Unit("east-prod").Params["password"] != "secret-two" || f.Rollout.MaxFailures != 0 || f.Rollout.WaveBy != "site" {
		t.Errorf("fleet %+v", f)
	}
}
