package main

import (
	"fmt"
	"slices"
	"strings"

	"github.com/csmplan/csmplan/actions/csm/csmtest"
	"github.com/csmplan/csmplan/schema"
)

// checkFaults refuses a --fault name the simulator does not know, with the
// closest valid name and the list of them.
func checkFaults(faults []string) error {
	names := csmtest.FaultNames()
	for _, f := range faults {
		if slices.Contains(names, f) {
			continue
		}
		msg := fmt.Sprintf("--fault %s: unknown fault", f)
		if s := schema.Suggest(f, names); s != "" {
			msg += fmt.Sprintf(" (did you mean %s?)", s)
		}
		return fmt.Errorf("%s; the faults are %s", msg, strings.Join(names, ", "))
	}
	return nil
}
