package actionstest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"regexp"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/csmplan/csmplan/actions"
)

// Conformance describes how to exercise an action or probe in [TestAction]
// and [TestProbe].
type Conformance struct {
	// Valid are arguments the action accepts, as they arrive in
	// actions.Call.Args (references resolved). At least one is required.
	Valid []map[string]any
	// Invalid are arguments that must be refused, by the argument schema or
	// by the action's Validate.
	Invalid []map[string]any
	// Call is the template of every call made; nil means an empty one. The
	// suite sets Name and Args, and Step, Clock (a fresh virtual clock) and
	// Attempt (1) when they are zero. Set Targets or Approver here.
	Call *actions.Call
	// Run makes the suite run the action once with each of Valid, and check
	// that it succeeds and returns documented, JSON-like outputs. Set it
	// only when running is harmless in a test.
	Run bool
	// OpenArgs skips the check that an unknown argument is refused, for an
	// action whose schema accepts any object on purpose.
	OpenArgs bool
}

// guardTime bounds, in real time, every call the suite makes: a call that
// has not returned by then is reported as hanging.
const guardTime = 5 * time.Second

// cancelledClockLimit is the most clock calls an action may make once its
// context is cancelled; clockLimit is the most it may make in one call (a
// 30-minute wait polled every second takes 1,800).
const (
	cancelledClockLimit = 100
	clockLimit          = 100_000
)

// TestAction checks that the action name of r follows the contract of
// [actions.Action], each check in its own subtest: a well-formed spec (a
// summary, an argument schema that accepts c.Valid, refuses c.Invalid and
// unknown arguments, and describes its properties; documented outputs),
// construction that is cheap and has no side effects, a Validator (if any)
// that accepts c.Valid, an already cancelled context honoured with an error
// wrapping context.Canceled, missing arguments met with an error rather than
// a panic, and, when c.Run is set, a successful run with documented outputs.
func TestAction(t *testing.T, r *actions.Registry, name string, c Conformance) {
	t.Helper()
	testConformance(t, r, actions.KindAction, name, c)
}

// TestProbe checks that the probe name of r follows the contract of
// [actions.Probe]: the checks of [TestAction], and that its spec does not
// mutate.
func TestProbe(t *testing.T, r *actions.Registry, name string, c Conformance) {
	t.Helper()
	testConformance(t, r, actions.KindProbe, name, c)
}

type suite struct {
	r      *actions.Registry
	kind   actions.Kind
	name   string
	c      Conformance
	spec   actions.Spec
	schema interface{ Validate(any) error }
}

func testConformance(t *testing.T, r *actions.Registry, kind actions.Kind, name string, c Conformance) {
	t.Helper()
	if r == nil {
		t.Fatalf("%s %q: nil registry", kind, name)
	}
	spec, ok := r.Spec(kind, name)
	if !ok {
		t.Fatalf("%s %q is not registered (registered: %s)", kind, name, strings.Join(r.Names(kind), ", "))
	}
	if len(c.Valid) == 0 {
		t.Fatalf("%s %q: Conformance.Valid needs at least one set of valid arguments", kind, name)
	}
	sch, _ := r.ArgsSchema(kind, name)
	s := &suite{r: r, kind: kind, name: name, c: c, spec: spec, schema: sch}
	t.Run(string(kind)+" "+name, func(t *testing.T) {
		t.Run("spec", s.testSpec)
		t.Run("construct", s.testConstruct)
		t.Run("validate", s.testValidate)
		t.Run("cancelled", s.testCancelled)
		t.Run("missing-args", s.testMissingArgs)
		if c.Run {
			t.Run("run", s.testRun)
		}
		if kind == actions.KindProbe {
			t.Run("read-only", func(t *testing.T) {
				if spec.Mutates {
					t.Errorf("probe %q: spec.Mutates is true; probes are read-only", name)
				}
			})
		}
	})
}

var (
	outputNameRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	outputTypes  = map[string]bool{"string": true, "integer": true, "number": true, "boolean": true, "array": true, "object": true, "any": true}
)

func (s *suite) testSpec(t *testing.T) {
	if s.spec.Name != s.name {
		t.Errorf("spec.Name = %q, registered as %q", s.spec.Name, s.name)
	}
	if strings.TrimSpace(s.spec.Summary) == "" {
		t.Errorf("spec.Summary is empty: say in one line what it does")
	} else if strings.Contains(s.spec.Summary, "\n") {
		t.Errorf("spec.Summary %q spans several lines; it must be one line", s.spec.Summary)
	}
	s.checkSchemaDoc(t)
	for i, args := range s.c.Valid {
		v, err := jsonLike(args)
		if err != nil {
			t.Errorf("Valid[%d]: %v", i, err)
			continue
		}
		if err := s.schema.Validate(v); err != nil {
			t.Errorf("Valid[%d] %s: refused by the argument schema: %v", i, showArgs(args), err)
		}
	}
	for i, args := range s.c.Invalid {
		v, err := jsonLike(args)
		if err != nil {
			t.Errorf("Invalid[%d]: %v", i, err)
			continue
		}
		if s.schema.Validate(v) == nil && s.validate(args) == nil {
			t.Errorf("Invalid[%d] %s: accepted by the argument schema and by Validate", i, showArgs(args))
		}
	}
	if !s.c.OpenArgs {
		args := deepCopy(s.c.Valid[0]).(map[string]any)
		if args == nil {
			args = map[string]any{}
		}
		args["conformance_unknown_argument"] = true
		if v, err := jsonLike(args); err == nil && s.schema.Validate(v) == nil {
			t.Errorf("the argument schema accepts an unknown argument: set \"additionalProperties\": false (or Conformance.OpenArgs)")
		}
	}
	seen := map[string]bool{}
	for i, o := range s.spec.Outputs {
		switch {
		case !outputNameRE.MatchString(o.Name):
			t.Errorf("spec.Outputs[%d]: name %q is not an identifier such as exit_code", i, o.Name)
		case seen[o.Name]:
			t.Errorf("spec.Outputs[%d]: %q is documented twice", i, o.Name)
		}
		seen[o.Name] = true
		if !outputTypes[o.Type] {
			t.Errorf("spec.Outputs[%d] %q: type %q is not one of string, integer, number, boolean, array, object, any", i, o.Name, o.Type)
		}
		if strings.TrimSpace(o.Description) == "" {
			t.Errorf("spec.Outputs[%d] %q: no description", i, o.Name)
		}
	}
}

// checkSchemaDoc checks that the argument schema describes an object and
// every one of its properties.
func (s *suite) checkSchemaDoc(t *testing.T) {
	raw := s.spec.Args
	if len(raw) == 0 {
		raw = actions.NoArgs
	}
	var doc struct {
		Type       any                        `json:"type"`
		Properties map[string]json.RawMessage `json:"properties"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Errorf("spec.Args is not a JSON object: %v", err)
		return
	}
	if doc.Type != "object" {
		t.Errorf("spec.Args: the schema's type is %v, want \"object\" (the with: mapping)", doc.Type)
	}
	for _, p := range slices.Sorted(maps.Keys(doc.Properties)) {
		var prop struct {
			Description string `json:"description"`
		}
		if err := json.Unmarshal(doc.Properties[p], &prop); err != nil || strings.TrimSpace(prop.Description) == "" {
			t.Errorf("spec.Args: property %q has no description", p)
		}
	}
}

// newImpl constructs the action or probe.
func (s *suite) newImpl() (any, error) {
	if s.kind == actions.KindProbe {
		return s.r.NewProbe(s.name)
	}
	return s.r.NewAction(s.name)
}

// validate runs the Validator of a fresh instance, if it has one.
func (s *suite) validate(args map[string]any) error {
	impl, err := s.newImpl()
	if err != nil {
		return nil
	}
	if v, ok := impl.(actions.Validator); ok {
		return v.Validate(args)
	}
	return nil
}

func (s *suite) testConstruct(t *testing.T) {
	for i := range 2 {
		res := guard(t, fmt.Sprintf("constructing %s %q", s.kind, s.name), func() (any, error) { return s.newImpl() })
		if res.panicked != nil {
			t.Fatalf("construction %d panicked: %v\n%s", i+1, res.panicked, res.stack)
		}
		if res.err != nil {
			t.Fatalf("construction %d: %v", i+1, res.err)
		}
		if res.value == nil {
			t.Fatalf("construction %d returned nil", i+1)
		}
	}
}

func (s *suite) testValidate(t *testing.T) {
	impl, err := s.newImpl()
	if err != nil {
		t.Fatal(err)
	}
	v, ok := impl.(actions.Validator)
	if !ok {
		t.Skipf("%s %q does not implement actions.Validator", s.kind, s.name)
	}
	for i, args := range s.c.Valid {
		res := guard(t, "Validate", func() (any, error) { return nil, v.Validate(args) })
		if res.panicked != nil {
			t.Errorf("Validate(Valid[%d]) panicked: %v\n%s", i, res.panicked, res.stack)
		} else if res.err != nil {
			t.Errorf("Validate(Valid[%d] %s) = %v, want nil", i, showArgs(args), res.err)
		}
	}
	for _, args := range []map[string]any{nil, {}} {
		if res := guard(t, "Validate", func() (any, error) { return nil, v.Validate(args) }); res.panicked != nil {
			t.Errorf("Validate(%v) panicked: %v\n%s", args, res.panicked, res.stack)
		}
	}
}

func (s *suite) testCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	res := s.invoke(t, ctx, s.newCall(s.c.Valid[0]), cancelledClockLimit)
	switch {
	case res.panicked != nil:
		t.Fatalf("with a cancelled context: panicked: %v\n%s", res.panicked, res.stack)
	case res.err == nil:
		t.Fatalf("with a cancelled context: returned no error; it must return an error wrapping ctx.Err()")
	case !errors.Is(res.err, context.Canceled):
		t.Fatalf("with a cancelled context: error %q does not wrap context.Canceled (use %%w with ctx.Err())", res.err)
	}
}

func (s *suite) testMissingArgs(t *testing.T) {
	emptyOK := s.schema.Validate(map[string]any{}) == nil
	for _, args := range []map[string]any{nil, {}} {
		res := s.invoke(t, context.Background(), s.newCall(args), clockLimit)
		if res.panicked != nil {
			t.Errorf("with args %v: panicked: %v\n%s", args, res.panicked, res.stack)
			continue
		}
		if !emptyOK && res.err == nil {
			t.Errorf("with args %v: returned no error, though its schema requires arguments", args)
		}
	}
}

func (s *suite) testRun(t *testing.T) {
	for i, args := range s.c.Valid {
		res := s.invoke(t, context.Background(), s.newCall(args), clockLimit)
		if res.panicked != nil {
			t.Errorf("Valid[%d]: panicked: %v\n%s", i, res.panicked, res.stack)
			continue
		}
		if res.err != nil {
			t.Errorf("Valid[%d] %s: %v", i, showArgs(args), res.err)
			continue
		}
		if s.kind == actions.KindAction {
			out, _ := res.value.(actions.Outputs)
			for _, k := range slices.Sorted(maps.Keys(out)) {
				if !s.spec.HasOutput(k) {
					t.Errorf("Valid[%d]: output %q is not documented in spec.Outputs", i, k)
				}
			}
		} else if m, ok := res.value.(map[string]any); ok && len(s.spec.Outputs) > 0 {
			for _, k := range slices.Sorted(maps.Keys(m)) {
				if !s.spec.HasOutput(k) {
					t.Errorf("Valid[%d]: observed field %q is not documented in spec.Outputs", i, k)
				}
			}
		}
		if err := checkJSONLike(res.value, "value"); err != nil {
			t.Errorf("Valid[%d]: %v", i, err)
		}
	}
}

// newCall returns a call from the template with args.
func (s *suite) newCall(args map[string]any) *actions.Call {
	var call actions.Call
	if s.c.Call != nil {
		call = *s.c.Call
	}
	call.Name = s.name
	call.Args = deepCopy(args).(map[string]any)
	if call.Step == "" {
		call.Step = "conformance"
	}
	if call.Clock == nil {
		call.Clock = NewClock(Epoch)
	}
	if call.Attempt == 0 {
		call.Attempt = 1
	}
	return &call
}

// invoke constructs the action or probe and calls it, under the guard, and
// fails the test if the call makes more than limit calls to its clock.
func (s *suite) invoke(t *testing.T, ctx context.Context, call *actions.Call, limit int64) result {
	t.Helper()
	clock := &countingClock{inner: call.Clock, limit: limit, over: make(chan struct{})}
	call.Clock = clock
	what := fmt.Sprintf("%s %q", s.kind, s.name)
	if ctx.Err() != nil {
		what += " with a cancelled context"
	}
	return guardWith(t, what, clock, func() (any, error) {
		impl, err := s.newImpl()
		if err != nil {
			return nil, err
		}
		switch x := impl.(type) {
		case actions.Action:
			out, err := x.Run(ctx, call)
			return out, err
		case actions.Probe:
			return x.Observe(ctx, call)
		}
		return nil, fmt.Errorf("%T is neither an action nor a probe", impl)
	})
}

// result is the outcome of a guarded call.
type result struct {
	value    any
	err      error
	panicked any
	stack    []byte
}

func guard(t *testing.T, what string, f func() (any, error)) result {
	t.Helper()
	return guardWith(t, what, nil, f)
}

// guardWith runs f in a goroutine, recovering a panic, and fails the test if
// f has not returned within guardTime (real time), or when clock (if not
// nil) has counted too many calls.
func guardWith(t *testing.T, what string, clock *countingClock, f func() (any, error)) result {
	t.Helper()
	done := make(chan result, 1)
	go func() {
		var res result
		defer func() {
			if p := recover(); p != nil {
				res.panicked, res.stack = p, debug.Stack()
			}
			done <- res
		}()
		res.value, res.err = f()
	}()
	var over <-chan struct{}
	if clock != nil {
		over = clock.over
	}
	timer := time.NewTimer(guardTime)
	defer timer.Stop()
	select {
	case res := <-done:
		return res
	case <-over:
		t.Fatalf("%s: made more than %d clock calls without returning; it must return when ctx is done", what, clock.limit)
	case <-timer.C:
		t.Fatalf("%s: still running after %s (real time); it must return when ctx is done", what, guardTime)
	}
	return result{}
}

// countingClock counts the calls made to a clock and closes over after
// limit of them.
type countingClock struct {
	inner actions.Clock
	limit int64
	n     atomic.Int64
	once  sync.Once
	over  chan struct{}
}

func (c *countingClock) count() {
	if c.n.Add(1) > c.limit {
		c.once.Do(func() { close(c.over) })
	}
}

func (c *countingClock) Now() time.Time {
	c.count()
	return c.inner.Now()
}

func (c *countingClock) Sleep(ctx context.Context, d time.Duration) error {
	c.count()
	return c.inner.Sleep(ctx, d)
}

func (c *countingClock) WithTimeout(ctx context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	c.count()
	return c.inner.WithTimeout(ctx, d)
}

// jsonLike returns args as decoded from JSON, for the schema validator.
func jsonLike(args map[string]any) (any, error) {
	if args == nil {
		return map[string]any{}, nil
	}
	b, err := json.Marshal(args)
	if err != nil {
		return nil, fmt.Errorf("arguments are not JSON-like: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("arguments are not JSON-like: %w", err)
	}
	return v, nil
}

// checkJSONLike reports a value that is not one of nil, bool, int64,
// float64, string, []any and map[string]any, as actions.Outputs documents.
func checkJSONLike(v any, path string) error {
	switch x := v.(type) {
	case nil, bool, int64, float64, string:
		return nil
	case []any:
		for i, e := range x {
			if err := checkJSONLike(e, fmt.Sprintf("%s[%d]", path, i)); err != nil {
				return err
			}
		}
		return nil
	case map[string]any:
		for _, k := range slices.Sorted(maps.Keys(x)) {
			if err := checkJSONLike(x[k], path+"."+k); err != nil {
				return err
			}
		}
		return nil
	}
	return fmt.Errorf("%s is a %T; want nil, bool, int64, float64, string, []any or map[string]any", path, v)
}

func showArgs(args map[string]any) string {
	b, err := json.Marshal(args)
	if err != nil {
		return fmt.Sprint(args)
	}
	return string(b)
}
