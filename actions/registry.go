package actions

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"regexp"
	"slices"
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
	// TargetFields declares the fields the action or probe reads from a
	// runbook target (the one its "target" argument names, usually): a
	// JSON object whose keys are field names and whose values are their
	// JSON Schemas (draft 2020-12), such as
	//
	//	{"host": {"type": "string"}, "token": {"type": "string", "writeOnly": true}}
	//
	// The runbook's targets may hold the fields that any action or probe
	// of the registry declares, and no other: an unknown field is a load
	// error, and [Registry.TargetSchema] is their schema. Several specs may
	// declare a field (as the CSM plugin and exec do for host and ssh) if
	// their schemas agree but for documentation (title, description,
	// default, examples: the first declaration's is kept); a schema that
	// accepts other values is refused ([ErrDuplicate]). Each field's schema
	// stands alone: a $ref in it resolves within it. Empty: the spec reads
	// no target fields.
	TargetFields json.RawMessage
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
	// fields are the spec's target fields.
	fields map[string]targetField
}

// targetField is a declared target field.
type targetField struct {
	// schema is the field's schema, in canonical JSON (keys sorted).
	schema json.RawMessage
	// meaning is schema without its documentation (title, description,
	// ...): two declarations of a field agree when their meanings are
	// equal.
	meaning string
	// by says who declared the field first, for messages.
	by string
}

// Registry names the actions and probes a runbook may use, and the target
// fields they read. The zero value is not usable: call [NewRegistry]. A
// Registry is safe for concurrent use.
type Registry struct {
	mu      sync.RWMutex
	actions map[string]*entry
	probes  map[string]*entry
	fields  map[string]targetField
	// targets is the compiled schema of a target; nil until asked for,
	// and again when a field is declared.
	targets *jsonschema.Schema
}

// NewRegistry returns an empty registry. Use [RegisterBuiltins] to add the
// generic built-ins, or [Registry.Clone] of [Default] to start from them and
// whatever the program registered into Default.
func NewRegistry() *Registry {
	return &Registry{actions: map[string]*entry{}, probes: map[string]*entry{}, fields: map[string]targetField{}}
}

// Clone returns a new registry that holds everything r holds. Registering
// into either one afterwards leaves the other as it is.
func (r *Registry) Clone() *Registry {
	c := NewRegistry()
	r.mu.RLock()
	defer r.mu.RUnlock()
	for name, e := range r.actions {
		c.actions[name] = e // an entry never changes once registered
	}
	for name, e := range r.probes {
		c.probes[name] = e
	}
	for name, f := range r.fields {
		c.fields[name] = f
	}
	c.targets = r.targets
	return c
}

var defaultRegistry = func() *Registry {
	r := NewRegistry()
	MustRegister(RegisterBuiltins(r))
	return r
}()

// Default returns the package-level registry, which holds the built-ins and
// whatever was registered into it with [RegisterAction] and [RegisterProbe],
// usually in the init function of the package that defines the action.
// A runbook loaded without a registry of its own is checked against Default
// and runs against it; csmplan.NewRegistry starts from a [Registry.Clone]
// of it.
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
	if e.fields, err = parseTargetFields(e.spec.TargetFields); err != nil {
		return fmt.Errorf("register %s %q: target fields: %w", kind, name, err)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	m := r.table(kind)
	if _, dup := m[name]; dup {
		return fmt.Errorf("register %s %q: %w", kind, name, ErrDuplicate)
	}
	// Check every field before declaring any: a failed registration
	// leaves nothing behind.
	for _, field := range slices.Sorted(maps.Keys(e.fields)) {
		if f, ok := r.fields[field]; ok && f.meaning != e.fields[field].meaning {
			return fmt.Errorf("register %s %q: target field %q: %w by %s with another schema", kind, name, field, ErrDuplicate, f.by)
		}
	}
	for field, f := range e.fields {
		if _, ok := r.fields[field]; !ok {
			f.by = fmt.Sprintf("%s %q", kind, name)
			r.fields[field] = f
			r.targets = nil
		}
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

// fieldRE is what a target field may be called: a YAML key without
// surprises.
var fieldRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_-]*$`)

// parseTargetFields checks the TargetFields of a spec and returns its
// fields.
func parseTargetFields(raw json.RawMessage) (map[string]targetField, error) {
	if len(bytes.TrimSpace(raw)) == 0 {
		return nil, nil
	}
	var decl map[string]any
	if err := decodeNumbers(raw, &decl); err != nil || decl == nil {
		return nil, fmt.Errorf("%w: want a JSON object of field names and their schemas", ErrBadSchema)
	}
	out := make(map[string]targetField, len(decl))
	for _, name := range slices.Sorted(maps.Keys(decl)) {
		if !fieldRE.MatchString(name) {
			return nil, fmt.Errorf("%q: %w: want letters, digits, '_' and '-', not starting with a digit or '-'", name, ErrInvalidName)
		}
		sch, err := canonicalJSON(decl[name])
		if err != nil {
			return nil, fmt.Errorf("%q: %w: %w", name, ErrBadSchema, err)
		}
		if err := checkFieldSchema(name, sch); err != nil {
			return nil, fmt.Errorf("%q: %w: %w", name, ErrBadSchema, err)
		}
		meaning, err := canonicalJSON(undocumented(decl[name]))
		if err != nil {
			return nil, fmt.Errorf("%q: %w: %w", name, ErrBadSchema, err)
		}
		out[name] = targetField{schema: sch, meaning: string(meaning)}
	}
	return out, nil
}

// compiledFields holds the field schemas (canonical JSON) known to compile:
// every spec of a plugin usually declares the same fields, and a program
// makes registries more than once.
var compiledFields sync.Map

// checkFieldSchema checks that the schema of the target field name
// compiles on its own.
func checkFieldSchema(name string, sch json.RawMessage) error {
	if _, ok := compiledFields.Load(string(sch)); ok {
		return nil
	}
	if _, err := compileTargetSchema(map[string]json.RawMessage{name: sch}); err != nil {
		return err
	}
	compiledFields.Store(string(sch), true)
	return nil
}

// canonicalJSON encodes v with its keys sorted and without HTML escapes.
func canonicalJSON(v any) (json.RawMessage, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSpace(buf.Bytes()), nil
}

// docKeywords document a schema without changing what it accepts.
var docKeywords = []string{"title", "description", "markdownDescription", "examples", "default", "deprecated", "$comment"}

// undocumented returns a copy of schema s without its documentation, in s
// and in every subschema.
func undocumented(s any) any {
	m, ok := s.(map[string]any)
	if !ok {
		return s
	}
	out := make(map[string]any, len(m))
	for k, v := range m {
		switch k {
		case "properties", "patternProperties", "$defs", "definitions", "dependentSchemas":
			if sub, ok := v.(map[string]any); ok {
				subs := make(map[string]any, len(sub))
				for name, x := range sub {
					subs[name] = undocumented(x)
				}
				v = subs
			}
		case "allOf", "anyOf", "oneOf", "prefixItems", "items":
			if list, ok := v.([]any); ok {
				subs := make([]any, len(list))
				for i, x := range list {
					subs[i] = undocumented(x)
				}
				v = subs
			} else {
				v = undocumented(v)
			}
		case "additionalProperties", "additionalItems", "unevaluatedProperties", "unevaluatedItems",
			"not", "if", "then", "else", "contains", "propertyNames", "contentSchema":
			v = undocumented(v)
		default:
			if slices.Contains(docKeywords, k) {
				continue
			}
		}
		out[k] = v
	}
	return out
}

func decodeNumbers(src []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(src))
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return errors.New("more than one JSON value")
	}
	return nil
}

// errNoLoad refuses to load a schema from outside: every schema a
// registry compiles is given to it.
var errNoLoad = errors.New("external schemas are not loaded")

// targetURL is where the schema of a target lives; each field's schema is a
// resource of its own beside it, so that its $refs resolve within it.
const targetURL = "mem://actions/target.json"

// compileTargetSchema compiles the schema of a target with the fields
// given: a mapping of these fields, and no other. Titles, descriptions
// and writeOnly are kept, for messages.
func compileTargetSchema(fields map[string]json.RawMessage) (*jsonschema.Schema, error) {
	c := jsonschema.NewCompiler()
	c.Draft = jsonschema.Draft2020
	c.ExtractAnnotations = true
	c.LoadURL = func(u string) (io.ReadCloser, error) { return nil, fmt.Errorf("%s: %w", u, errNoLoad) }
	props := make(map[string]any, len(fields))
	for name, sch := range fields {
		url := "mem://actions/target/" + name + ".json"
		if err := c.AddResource(url, bytes.NewReader(sch)); err != nil {
			return nil, err
		}
		props[name] = map[string]any{"$ref": url}
	}
	doc, err := json.Marshal(map[string]any{
		"title":                "target",
		"type":                 "object",
		"additionalProperties": false,
		"properties":           props,
	})
	if err != nil {
		return nil, err
	}
	if err := c.AddResource(targetURL, bytes.NewReader(doc)); err != nil {
		return nil, err
	}
	return c.Compile(targetURL)
}

// TargetFields returns the target fields that the specs of r declare (see
// [Spec.TargetFields]), each with its JSON Schema.
func (r *Registry) TargetFields() map[string]json.RawMessage {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make(map[string]json.RawMessage, len(r.fields))
	for name, f := range r.fields {
		out[name] = bytes.Clone(f.schema)
	}
	return out
}

// TargetSchema returns the compiled JSON Schema of a runbook target: a
// mapping that may hold the fields the specs of r declare (see
// [Spec.TargetFields]), and no other. Loading a runbook checks each of
// its targets against it.
func (r *Registry) TargetSchema() (*jsonschema.Schema, error) {
	r.mu.RLock()
	s := r.targets
	r.mu.RUnlock()
	if s != nil {
		return s, nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.targets == nil {
		fields := make(map[string]json.RawMessage, len(r.fields))
		for name, f := range r.fields {
			fields[name] = f.schema
		}
		s, err := compileTargetSchema(fields)
		if err != nil {
			return nil, fmt.Errorf("target schema: %w", err)
		}
		r.targets = s
	}
	return r.targets, nil
}
