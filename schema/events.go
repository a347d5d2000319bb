package schema

import (
	"bytes"
	_ "embed"
)

//go:embed events.schema.json
var eventsJSON []byte

// EventsURL is the $id of the events schema.
const EventsURL = "https://github.com/csmplan/csmplan/schema/events.schema.json"

// Events returns the JSON Schema (draft 2020-12) of the events that
// `csmplan run --json` and `csmplan plan --json` write, one per line: the
// JSON form of runner.Event, version runner.EventSchemaVersion. It is the
// embedded file events.schema.json; the caller may modify the returned
// slice. Compile it with [Compile] and [EventsURL].
func Events() []byte { return bytes.Clone(eventsJSON) }
