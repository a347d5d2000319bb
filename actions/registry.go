package actions

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"sync"

	"github.com/santhosh-tekuri/jsonschema/v5"
)

// Kind tells actions from probes.
type Kind string

// The kinds of registered things.
const (
	KindAction Kind = "action"
	KindProbe  Kind = "probe"
)

// Spec describes a registered action or probe: what the user sees in
// `csmplan actions`, in the JSON Schema of runbooks and in load errors.
type Spec struct {
	// Name is dotted lower-case words, such as "csm.takeover" or "exec".
	Name string
	// Summary is one line saying what it does.
	Summary string
	// Args is the JSON Schema (draft 2020-12) of the step's `with:`
	// arguments, as JSON. Empty means no arguments are accepted.
	Args json.RawMessage
	// Outputs documents the named outputs of an action, or, for a probe,
	// the fields of its observation. Steps may refer to an action's outputs
	// as ${steps.ID.outputs.NAME}; only documented outputs may be named.
	Outputs []Output
	// Mutates is true for an action that changes the world: the dry run
	// never runs it. Probes never mutate.
	Mutates bool
}

// Output documents one output of an action or one field of an observation.
type Output struct {
	Name        string
	Type        string // a JSON type name: string, integer, number, boolean, array, object, any
	Description string
}

// HasOutput reports whether the spec documents the output name.
func (s Spec) HasOutput(name string) bool {
	for _, o := range s.Outputs {
		if o.Name == name {
			return true
		}
	}
	return false
}

// Registration errors; test with errors.Is.
var (
	ErrInvalidName = errors.New("invalid name")
	ErrNilFactory  = errors.New("nil constructor")
	ErrDuplicate   = errors.New("already registered")
	ErrBadSchema   = errors.New("invalid argument schema")
	ErrMutateProbe = errors.New("a probe cannot mutate")
	ErrUnknown     = errors.New("not registered")
)

var nameRE = regexp.MustCompile(`^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_-]*)*$`)

type entry struct {
	spec      Spec
	newAction func() Action
	newProbe  func() Probe
	schema    *jsonschema.Schema
}

// Registry names the actions and probes a runbook may use. The zero value is
// not usable: call [NewRegistry]. A Registry is safe for concurrent use.
type Registry struct {
	mu      sync.RWMutex
	actions map[string]*entry
	probes  map[string]*entry
}

// NewRegistry returns an empty registry. Use [RegisterBuiltins] to add the
// generic built-ins.
func NewRegistry() *Registry {
	return &Registry{actions: map[string]*entry{}, probes: map[string]*entry{}}
}

var defaultRegistry = func() *Registry {
	r := NewRegistry()
	MustRegister(RegisterBuiltins(r))
	return r
}()

// Default returns the package-level registry, which holds the built-ins and
// whatever was registered into it with [RegisterAction] and [RegisterProbe].
func Default() *Registry { return defaultRegistry }

// RegisterAction registers an action into the [Default] registry.
func RegisterAction(spec Spec, newAction func() Action) error {
	return defaultRegistry.RegisterAction(spec, newAction)
}

// RegisterProbe registers a probe into the [Default] registry.
func RegisterProbe(spec Spec, newProbe func() Probe) error {
	return defaultRegistry.RegisterProbe(spec, newProbe)
}

// MustRegister panics if err is not nil. It is meant for package init and
// variable initialisation, where a registration error is a programming error.
func MustRegister(err error) {
	if err != nil {
		panic(err)
	}
}

// RegisterAction adds an action. newAction is called once per step run; it
// must not touch the world.
func (r *Registry) RegisterAction(spec Spec, newAction func() Action) error {
	if newAction == nil {
		return fmt.Errorf("register action %q: %w", spec.Name, ErrNilFactory)
	}
	return r.add(KindAction, &entry{spec: spec, newAction: newAction})
}

// RegisterProbe adds a probe. newProbe is called once per observation; it
// must not touch the world.
func (r *Registry) RegisterProbe(spec Spec, newProbe func() Probe) error {
	if newProbe == nil {
		return fmt.Errorf("register probe %q: %w", spec.Name, ErrNilFactory)
	}
	if spec.Mutates {
		return fmt.Errorf("register probe %q: %w", spec.Name, ErrMutateProbe)
	}
	return r.add(KindProbe, &entry{spec: spec, newProbe: newProbe})
}

func (r *Registry) add(kind Kind, e *entry) error {
	name := e.spec.Name
	if !nameRE.MatchString(name) {
		return fmt.Errorf("register %s %q: %w: want dotted lower-case words such as \"csm.takeover\"", kind, name, ErrInvalidName)
	}
	sch, err := compileArgs(name, e.spec.Args)
	if err != nil {
		return fmt.Errorf("register %s %q: %w: %w", kind, name, ErrBadSchema, err)
	}
	e.schema = sch
	r.mu.Lock()
	defer r.mu.Unlock()
	m := r.table(kind)
	if _, dup := m[name]; dup {
		return fmt.Errorf("register %s %q: %w", kind, name, ErrDuplicate)
	}
	m[name] = e
	return nil
}

// NoArgs is the argument schema of an action or probe that takes none.
var NoArgs = json.RawMessage(`{"type":"object","additionalProperties":false}`)

func compileArgs(name string, raw json.RawMessage) (*jsonschema.Schema, error) {
	if len(raw) == 0 {
		raw = NoArgs
	}
	c := jsonschema.NewCompiler()
	c.Draft = jsonschema.Draft2020
	url := "mem://actions/" + name + ".json"
	if err := c.AddResource(url, bytes.NewReader(raw)); err != nil {
		return nil, err
	}
	return c.Compile(url)
}

func (r *Registry) table(kind Kind) map[string]*entry {
	if kind == KindProbe {
		return r.probes
	}
	return r.actions
}

func (r *Registry) get(kind Kind, name string) (*entry, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	e, ok := r.table(kind)[name]
	return e, ok
}

// Spec returns the spec of the action or probe name.
func (r *Registry) Spec(kind Kind, name string) (Spec, bool) {
	e, ok := r.get(kind, name)
	if !ok {
		return Spec{}, false
	}
	return e.spec, true
}

// ArgsSchema returns the compiled JSON Schema of the arguments of name.
func (r *Registry) ArgsSchema(kind Kind, name string) (*jsonschema.Schema, bool) {
	e, ok := r.get(kind, name)
	if !ok {
		return nil, false
	}
	return e.schema, true
}

// NewAction constructs the action name.
func (r *Registry) NewAction(name string) (Action, error) {
	e, ok := r.get(KindAction, name)
	if !ok {
		return nil, fmt.Errorf("action %q: %w", name, ErrUnknown)
	}
	return e.newAction(), nil
}

// NewProbe constructs the probe name.
func (r *Registry) NewProbe(name string) (Probe, error) {
	e, ok := r.get(KindProbe, name)
	if !ok {
		return nil, fmt.Errorf("probe %q: %w", name, ErrUnknown)
	}
	return e.newProbe(), nil
}

// Specs returns the specs of every action or probe, sorted by name.
func (r *Registry) Specs(kind Kind) []Spec {
	r.mu.RLock()
	m := r.table(kind)
	out := make([]Spec, 0, len(m))
	for _, e := range m {
		out = append(out, e.spec)
	}
	r.mu.RUnlock()
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Names returns the names of every action or probe, sorted.
func (r *Registry) Names(kind Kind) []string {
	specs := r.Specs(kind)
	out := make([]string, len(specs))
	for i, s := range specs {
		out[i] = s.Name
	}
	return out
}
