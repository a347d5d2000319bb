package actions_test

import (
	"fmt"
	"path/filepath"
	"reflect"
	"testing"
)

// assertEqual fails the test when got and want are not deeply equal.
func assertEqual(t *testing.T, got, want any) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %s\nwant %s", show(got), show(want))
	}
}

func show(v any) string {
	s := fmt.Sprintf("%#v", v)
	if len(s) > 2000 {
		s = s[:2000] + "..."
	}
	return s
}

// mustEvalSymlinks returns dir with its symbolic links resolved, as pwd
// prints it.
func mustEvalSymlinks(t *testing.T, dir string) string {
	t.Helper()
	d, err := filepath.EvalSymlinks(dir)
	if err != nil {
		t.Fatal(err)
	}
	return d
}
