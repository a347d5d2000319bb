package csm

import (
	"encoding/json"
	"strconv"
	"strings"

	"github.com/csmplan/csmplan/actions"
)

// JSON Schema fragments of the arguments. The arguments themselves are read
// with the readers of package actions, such as [actions.NonBlankStringArg].
const (
	schemaTarget = `"target": {
      "type": "string",
      "minLength": 1,
      "description": "Name of the runbook target (under targets:) that is the CSM server: its host, port, username, password, ca_file or fingerprint (or insecure), and ssh for commands run on its host."
    }`
)

func schemaDuration(what string, def string) string {
	return `{"type": "string", "pattern": "` + actions.DurationPatternJSON + `", "default": "` + def + `", "description": ` + strconv.Quote(what+" Default "+def+".") + `}`
}

const schemaArgv = `{
      "type": "array",
      "minItems": 1,
      "prefixItems": [{"type": "string", "minLength": 1}],
      "items": {"type": "string"},
      "description": %s
    }`

const schemaEnv = `{
      "type": "object",
      "additionalProperties": {"type": "string"},
      "propertyNames": {"pattern": "^[^=\\x00]+$"},
      "description": %s
    }`

// schemaObject builds the schema of an action's arguments: an object with
// the given properties (JSON members, target first), none other allowed.
func schemaObject(description string, required []string, props ...string) json.RawMessage {
	var b strings.Builder
	b.WriteString(`{"$schema": "https://json-schema.org/draft/2020-12/schema", "type": "object", "additionalProperties": false, "description": `)
	b.WriteString(strconv.Quote(description))
	b.WriteString(`, "required": [`)
	for i, r := range required {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(strconv.Quote(r))
	}
	b.WriteString(`], "properties": {`)
	b.WriteString(strings.Join(props, ", "))
	b.WriteString(`}}`)
	return json.RawMessage(b.String())
}

func prop(name, schema string) string { return strconv.Quote(name) + ": " + schema }
