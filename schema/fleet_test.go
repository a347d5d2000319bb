package schema_test

import (
	"encoding/json"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/csmplan/csmplan/schema"
)

func TestFleetSchema(t *testing.T) {
	t.Parallel()
	var v map[string]any
	if err := json.Unmarshal(schema.Fleet(), &v); err != nil {
		t.Fatal(err)
	}
	if v["$id"] != schema.FleetURL {
		t.Errorf("$id = %v", v["$id"])
	}
	ok := "apiVersion: csmplan/v1\nkind: Fleet\nname: f\nunits:\n  - name: a\n    labels: {site: east}\nrollout:\n  max_failures: 10%\n"
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(ok), &doc); err != nil {
		t.Fatal(err)
	}
	if ps := schema.ValidateFleet(&doc); ps != nil {
		t.Errorf("valid fleet: %v", ps)
	}
	bad := "apiVersion: csmplan/v1\nkind: Fleet\nname: f\nunits:\n  - name: a\n    lables: {}\n"
	doc = yaml.Node{}
	if err := yaml.Unmarshal([]byte(bad), &doc); err != nil {
		t.Fatal(err)
	}
	ps := schema.ValidateFleet(&doc)
	if len(ps) != 1 || ps[0].Line != 6 || ps[0].Column != 5 || ps[0].Suggestion != "labels" || !strings.Contains(ps[0].Message, "lables") {
		t.Errorf("misspelt key: %+v", ps)
	}
}
