package actions_test

import (
	"testing"

	"github.com/csmplan/csmplan/actions"
	"github.com/csmplan/csmplan/actions/actionstest"
)

// TestBuiltinsConformance runs the conformance suite of actionstest against
// every built-in; a built-in added without a case here fails the test.
func TestBuiltinsConformance(t *testing.T) {
	t.Parallel()
	s := newTLSServer(t)
	r := builtins(t)
	actionCases := map[string]actionstest.Conformance{
		"log": {
			Valid:   []map[string]any{{"message": "hello"}, {"message": "careful", "level": "warn"}},
			Invalid: []map[string]any{{"message": 1}, {"message": "x", "level": "loud"}, {"level": "info"}},
			Run:     true,
		},
		"exec": {
			Valid: []map[string]any{
				{"argv": []any{"true"}},
				{"argv": []any{"/bin/sh", "-c", "exit 2"}, "ok_exit_codes": []any{2}, "env": map[string]any{"A": "b"}, "dir": ".", "stdin": "x"},
			},
			Invalid: []map[string]any{
				{"argv": "true"}, {"argv": []any{}}, {"argv": []any{""}}, {"argv": []any{"true", 1}},
				{"argv": []any{"true"}, "env": map[string]any{"A": 1}},
				{"argv": []any{"true"}, "ok_exit_codes": []any{}},
				{"argv": []any{"true"}, "ok_exit_codes": []any{0.5}},
			},
			Run: true,
		},
		"http": {
			Valid: []map[string]any{
				{"url": s.URL + "/json", "ca_file": s.caFile},
				{"method": "POST", "url": s.URL + "/echo", "ca_file": s.caFile, "json": map[string]any{"a": 1}, "timeout": "5s", "ok_status": []any{201}, "headers": map[string]any{"X-Test": "1"}},
			},
			Invalid: []map[string]any{
				{"url": 1}, {"method": "BREW", "url": "https://x"}, {"url": "https://x", "body": "a", "json": 1},
				{"url": "https://x", "timeout": "soon"}, {"url": "https://x", "ok_status": []any{42}},
				{"url": "not a url"},
			},
			Run: true,
		},
		"sleep": {
			Valid:   []map[string]any{{"duration": "30m"}, {"duration": "1h2m3.5s"}},
			Invalid: []map[string]any{{"duration": "soon"}, {"duration": 30}, {}},
			Run:     true,
		},
		"manual": {
			Valid:   []map[string]any{{"prompt": "Go on?"}, {"prompt": "Go on?", "details": "Really."}},
			Invalid: []map[string]any{{"prompt": ""}, {"details": "no prompt"}},
			Call:    &actions.Call{Approver: actions.AutoApprove{}},
			Run:     true,
		},
	}
	probeCases := map[string]actionstest.Conformance{
		"value": {
			Valid:   []map[string]any{{"value": "x"}, {"value": map[string]any{"a": []any{int64(1)}}}, {"value": nil}},
			Invalid: []map[string]any{{}},
			Run:     true,
		},
		"exec": {
			Valid:   []map[string]any{{"argv": []any{"false"}}},
			Invalid: []map[string]any{{"argv": []any{"true"}, "ok_exit_codes": []any{0}}, {"argv": "true"}},
			Run:     true,
		},
		"http": {
			Valid:   []map[string]any{{"url": s.URL + "/busy", "ca_file": s.caFile}, {"method": "HEAD", "url": s.URL + "/json", "ca_file": s.caFile}},
			Invalid: []map[string]any{{"method": "POST", "url": "https://x"}, {"url": "https://x", "body": "a"}, {"url": "https://x", "ok_status": []any{200}}},
			Run:     true,
		},
	}
	for _, name := range r.Names(actions.KindAction) {
		c, ok := actionCases[name]
		if !ok {
			t.Errorf("built-in action %q has no conformance case", name)
			continue
		}
		actionstest.TestAction(t, r, name, c)
	}
	for _, name := range r.Names(actions.KindProbe) {
		c, ok := probeCases[name]
		if !ok {
			t.Errorf("built-in probe %q has no conformance case", name)
			continue
		}
		actionstest.TestProbe(t, r, name, c)
	}
}
