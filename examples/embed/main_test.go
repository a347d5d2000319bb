package main

import (
	"context"
	"testing"

	"github.com/csmplan/csmplan/runner"
)

func TestEmbeddedRun(t *testing.T) {
	t.Parallel()
	rep, err := run(context.Background(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if rep.Outcome != runner.Succeeded || rep.Step("greet").Outputs["loud"] != "HELLO, CSMPLAN!" {
		t.Errorf("report = %+v", rep)
	}
	if rep.Step("touch").Post[0].Status != runner.Met {
		t.Errorf("the marker file was not observed: %+v", rep.Step("touch").Post[0])
	}
}
