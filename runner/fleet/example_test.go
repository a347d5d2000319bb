package fleet_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/csmplan/csmplan/actions/actionstest"
	"github.com/csmplan/csmplan/plan"
	"github.com/csmplan/csmplan/runner/fleet"
)

// Example loads a fleet of four units, shows its rollout plan and runs
// it: the canary succeeds, a unit of the first wave fails, and with no
// failure tolerated the second wave does not start.
func Example() {
	kit := actionstest.NewKit()
	install := kit.Action("up.install", actionstest.Succeeds(nil))
	install.On(actionstest.Args{"host": "csm.b1"}, actionstest.Fails(errors.New("IWNR1234E")))
	runbook, err := plan.Parse("up.yaml", []byte(testRunbook), plan.WithRegistry(kit.Registry()))
	if err != nil {
		fmt.Println(err)
		return
	}
	src := `apiVersion: csmplan/v1
kind: Fleet
name: csm-fleet
units:
  - {name: west-a, labels: {site: west}, params: {host: csm.a2}}
  - {name: east-a, labels: {site: east}, params: {host: csm.a1}}
  - {name: east-b, labels: {site: east}, params: {host: csm.b1}}
  - {name: west-b, labels: {site: west}, params: {host: csm.b2}}
rollout:
  order: [site, name]
  canary: {units: [east-a]}
  waves: {by: site}
  max_parallel: 2
`
	dir, err := os.MkdirTemp("", "fleet")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)
	f, err := fleet.Parse(filepath.Join(dir, "fleet.yaml"), []byte(src), kit.Registry(),
		fleet.WithDefaultRunbook(runbook), fleet.WithEnv(func(string) (string, bool) { return "", false }))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("plan:", f.Waves())
	rep, err := fleet.Run(context.Background(), f, fleet.Options{Clock: kit.Clock, JournalDir: filepath.Join(dir, "journals")})
	for _, u := range rep.Units {
		fmt.Println(strings.TrimSpace(fmt.Sprintf("wave %d  %-7s %-9s %s", u.Wave, u.Name, u.Outcome, u.Reason)))
	}
	fmt.Println(errors.Is(err, fleet.ErrFailureBudget))
	// Output:
	// plan: [[east-a] [east-b] [west-a west-b]]
	// wave 1  east-a  succeeded
	// wave 2  east-b  failed    step "install" (up.yaml:9): action failed: up.install: IWNR1234E
	// wave 3  west-a  not run   failed units: 1, more than max_failures (0)
	// wave 3  west-b  not run   failed units: 1, more than max_failures (0)
	// true
}
