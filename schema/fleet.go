package schema

import (
	"bytes"
	_ "embed"
	"fmt"
	"sync"

	"github.com/santhosh-tekuri/jsonschema/v5"
	"gopkg.in/yaml.v3"
)

//go:embed fleet.schema.json
var fleetJSON []byte

// FleetURL is the $id of the fleet schema.
const FleetURL = "https://github.com/csmplan/csmplan/schema/fleet.schema.json"

// Fleet returns the JSON Schema (draft 2020-12) of a fleet file (kind
// Fleet), the embedded file fleet.schema.json. The caller may modify the
// returned slice.
func Fleet() []byte { return bytes.Clone(fleetJSON) }

var fleet struct {
	once sync.Once
	s    *jsonschema.Schema
	err  error
}

func fleetSchema() (*jsonschema.Schema, error) {
	fleet.once.Do(func() {
		fleet.s, fleet.err = Compile(FleetURL, fleetJSON)
	})
	return fleet.s, fleet.err
}

// ValidateFleet checks a fleet document against the fleet schema, as
// [Validate] checks a runbook: pass the top mapping node. The problems are
// sorted by position and deduplicated; nil means the document fits.
func ValidateFleet(root *yaml.Node) []Problem {
	s, err := fleetSchema()
	if err != nil {
		// The embedded schema is tested to compile; this is unreachable.
		return []Problem{{Line: 1, Column: 1, Message: fmt.Sprintf("fleet schema: %v", err)}}
	}
	return validate(&mapper{schema: s, rootName: "fleet"}, root)
}
