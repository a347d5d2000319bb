package fleet

import (
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/hashicorp/go-multierror"
	"gopkg.in/yaml.v3"

	"github.com/csmplan/csmplan/actions"
	"github.com/csmplan/csmplan/plan"
	"github.com/csmplan/csmplan/runner"
	"github.com/csmplan/csmplan/schema"
)

// Kinds of fleet problems besides plan's (plan.ErrSchema, plan.ErrSyntax,
// ...) and runner.ErrParams; test with errors.Is.
var (
	// ErrDuplicateUnit: two units have the same name.
	ErrDuplicateUnit = errors.New("duplicate unit name")
	// ErrUnknownUnit: a canary, or a --limit name, that is no unit.
	ErrUnknownUnit = errors.New("unknown unit")
	// ErrRollout: a rollout that cannot be (waves by size and by label,
	// a max_failures over 100%).
	ErrRollout = errors.New("bad rollout")
	// ErrRunbook: the runbook cannot be read, or none is given.
	ErrRunbook = errors.New("no runbook")
	// ErrSecret: a secret param given in clear, or an @FILE that cannot
	// be read.
	ErrSecret = errors.New("bad secret param")
)

// Fleet is a loaded fleet file: one runbook run over many units.
type Fleet struct {
	Name, Title string
	// Filename is the name given to Load or Parse.
	Filename string
	// Runbook is the runbook every unit runs, loaded with the registry
	// given to Load.
	Runbook *plan.Plan
	// Units are the units as written.
	Units   []Unit
	Rollout Rollout

	index map[string]int // unit name -> index in Units
}

// Unit is one run of the runbook, such as one CSM HA pair.
type Unit struct {
	Name   string
	Labels map[string]string
	// Params are the params the unit runs with: the shared ones, then a
	// secret param from CSMPLAN_PARAM_<NAME>, then the unit's own, each
	// winning over the one before; secrets given as @FILE are read. They
	// bind (runner.BindParams) against the runbook: Load checked it.
	Params map[string]any
	// SecretFrom says where each secret param of Params was read: secret
	// param name -> "env:NAME" (the variable CSMPLAN_PARAM_<NAME>, see
	// SecretEnv) or "file:ABSPATH" (an @FILE, its path made absolute),
	// the references of a worker that reads the secret itself (the
	// Temporal interpreter's secret_ref). A secret written as @@X (the
	// literal @X) has no source, nor one set by hand: it has no entry.
	// Nil when no secret param is given.
	SecretFrom map[string]string
	// Pos is where the unit is written in the fleet file.
	Pos plan.Pos
}

// Label returns the unit's label key; the key "name" is the unit's name
// when the unit has no label of that name.
func (u *Unit) Label(key string) string {
	if v, ok := u.Labels[key]; ok || key != "name" {
		return v
	}
	return u.Name
}

// Rollout says how the units roll out. Its zero value: no canary, one
// wave of every unit, one unit at a time (MaxParallel 0 means 1), no
// failure tolerated.
type Rollout struct {
	// Order sorts the units by these label keys, in turn ("name": the
	// unit's name); a unit without the label sorts first. Empty: as written.
	Order []string
	// Canary are the names of the units run first, before any wave, in
	// that order; Approve asks Options.Approver after they succeed.
	Canary  []string
	Approve bool
	// WaveSize splits the other units in waves of at most that many;
	// WaveBy in one wave per value of that label, in order of first
	// appearance. Both zero: one wave.
	WaveSize int
	WaveBy   string
	// MaxParallel is how many units run at once; 0 means 1.
	MaxParallel int
	// MaxFailures is how many failed units are tolerated: once more have
	// failed, no new unit starts. A percentage in the file is resolved
	// against the number of units (rounded down).
	MaxFailures int
}

// LoadOption configures Load and Parse.
type LoadOption func(*loadConfig)

type loadConfig struct {
	env     func(string) (string, bool)
	runbook *plan.Plan
}

// WithEnv makes secret params come from lookup (CSMPLAN_PARAM_<NAME>, the
// name upper-cased) instead of the process environment (os.LookupEnv).
func WithEnv(lookup func(string) (string, bool)) LoadOption {
	return func(c *loadConfig) { c.env = lookup }
}

// WithDefaultRunbook gives the runbook of a fleet file that names none
// (csmplan's built-in CSM upgrade, csmplan.LoadDefault, for the CLI).
// Without it, such a file is refused (ErrRunbook).
func WithDefaultRunbook(p *plan.Plan) LoadOption {
	return func(c *loadConfig) { c.runbook = p }
}

// SecretEnv is the environment variable that gives the secret param name
// to every unit that does not give it: CSMPLAN_PARAM_ and the name
// upper-cased.
func SecretEnv(name string) string { return "CSMPLAN_PARAM_" + strings.ToUpper(name) }

// Load reads and loads the fleet file at path; see Parse.
func Load(path string, reg *actions.Registry, opts ...LoadOption) (*Fleet, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read fleet: %w", err)
	}
	defer fh.Close()
	src, err := io.ReadAll(io.LimitReader(fh, plan.MaxSize+1))
	if err != nil {
		return nil, fmt.Errorf("read fleet %s: %w", path, err)
	}
	return Parse(path, src, reg, opts...)
}

// Parse loads a fleet file from src. filename names it in messages, and
// its directory is where a relative runbook path and @FILE secrets are
// found. The runbook is loaded with reg (nil: actions.Default()), and every
// unit's params are bound against it as for a single run.
//
// On failure, the error holds every problem of the file and of every unit,
// each a [*plan.Error] at its FILE:LINE:COL (see plan.Errors and
// plan.Render): the schema's (unknown keys, with suggestions), duplicate
// unit names (ErrDuplicateUnit), canaries that are no unit
// (ErrUnknownUnit), a bad rollout (ErrRollout), a secret given in clear or
// an unreadable @FILE (ErrSecret), and each unit's params that do not bind
// (runner.ErrParams) at the param or, for a missing one, at the unit. The
// problems of a runbook that does not load come with them, in its file.
func Parse(filename string, src []byte, reg *actions.Registry, opts ...LoadOption) (*Fleet, error) {
	cfg := loadConfig{env: os.LookupEnv}
	for _, o := range opts {
		o(&cfg)
	}
	if reg == nil {
		reg = actions.Default()
	}
	doc := plan.ParseDocument(filename, src, "fleet file")
	if doc.Root == nil {
		return nil, doc.Err()
	}
	doc.AddSchema(schema.ValidateFleet(doc.Root))
	d := &decoder{doc: doc, cfg: cfg, reg: reg, dir: filepath.Dir(filename), files: map[string]fileSecret{},
		f: &Fleet{Filename: filename, index: map[string]int{}}}
	runbookErr := d.decode(doc.Root)
	err := doc.Err()
	if runbookErr != nil {
		var all *multierror.Error
		all = multierror.Append(all, err, runbookErr)
		all.ErrorFormat = joinLines
		err = all.ErrorOrNil()
	}
	if err != nil {
		return nil, err
	}
	return d.f, nil
}

func joinLines(errs []error) string {
	lines := make([]string, len(errs))
	for i, e := range errs {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

type decoder struct {
	doc   *plan.Document
	cfg   loadConfig
	reg   *actions.Registry
	dir   string
	f     *Fleet
	files map[string]fileSecret // @FILE secrets read, by path

	shared params
	units  []params // each unit's own params, by index in f.Units
	// sharedBad names the shared secret params that could not be resolved
	// (reported once, at their place): the units' binding does not report
	// them again.
	sharedBad map[string]bool
}

type fileSecret struct {
	value string
	err   error
}

// given is a param as written in the fleet file.
type given struct {
	key, val plan.Pos
	node     *yaml.Node
	value    any
	// from is where a secret given as @FILE was read, "file:ABSPATH"
	// (see Unit.SecretFrom); "" for any other.
	from string
}

type params map[string]*given

func (d *decoder) decode(root *yaml.Node) (runbookErr error) {
	var runbookNode, rollout *yaml.Node
	plan.Pairs(root, func(k, v *yaml.Node) {
		switch k.Value {
		case "name":
			d.f.Name = scalar(v)
		case "title":
			d.f.Title = scalar(v)
		case "runbook":
			runbookNode = v
		case "params":
			d.shared = d.params(v)
		case "units":
			for _, n := range plan.Items(v) {
				d.unit(n)
			}
		case "rollout":
			rollout = v
		}
	})
	if rollout != nil {
		d.rollout(rollout)
	}
	runbookErr = d.runbook(root, runbookNode)
	if d.f.Runbook != nil {
		d.bindAll()
	}
	return runbookErr
}

func scalar(n *yaml.Node) string {
	if n != nil && n.Kind == yaml.ScalarNode {
		return n.Value
	}
	return ""
}

func (d *decoder) params(n *yaml.Node) params {
	out := params{}
	plan.Pairs(n, func(k, v *yaml.Node) {
		var val any
		if err := v.Decode(&val); err != nil {
			d.doc.AddSoft(plan.ErrSchema, plan.NodePos(v), 0, "param %s: %v", k.Value, err)
			return
		}
		out[k.Value] = &given{key: plan.NodePos(k), val: plan.NodePos(v), node: v, value: plan.Normalize(val)}
	})
	return out
}

func (d *decoder) unit(n *yaml.Node) {
	u := Unit{Pos: plan.NodePos(n)}
	var own params
	var nameNode *yaml.Node
	plan.Pairs(n, func(k, v *yaml.Node) {
		switch k.Value {
		case "name":
			u.Name, nameNode = scalar(v), v
		case "labels":
			plan.Pairs(v, func(lk, lv *yaml.Node) {
				if u.Labels == nil {
					u.Labels = map[string]string{}
				}
				u.Labels[lk.Value] = scalar(lv)
			})
		case "params":
			own = d.params(v)
		}
	})
	if u.Name != "" {
		if first, dup := d.f.index[u.Name]; dup {
			d.doc.Add(ErrDuplicateUnit, plan.NodePos(nameNode), len(u.Name), "", "unit %s is given twice (first at line %d)", u.Name, d.f.Units[first].Pos.Line)
			return
		}
		d.f.index[u.Name] = len(d.f.Units)
	}
	d.f.Units = append(d.f.Units, u)
	d.units = append(d.units, own)
}

func (d *decoder) rollout(n *yaml.Node) {
	r := &d.f.Rollout
	var maxFailures *yaml.Node
	plan.Pairs(n, func(k, v *yaml.Node) {
		switch k.Value {
		case "order":
			for _, it := range plan.Items(v) {
				r.Order = append(r.Order, scalar(it))
			}
		case "canary":
			plan.Pairs(v, func(ck, cv *yaml.Node) {
				switch ck.Value {
				case "units":
					d.canaries(cv)
				case "approve":
					_ = cv.Decode(&r.Approve) // the schema reports a value that is no boolean
				}
			})
		case "waves":
			var size, by *yaml.Node
			plan.Pairs(v, func(wk, wv *yaml.Node) {
				switch wk.Value {
				case "size":
					size = wv
					_ = wv.Decode(&r.WaveSize)
				case "by":
					by = wv
					r.WaveBy = scalar(wv)
				}
			})
			if size != nil && by != nil {
				d.doc.Add(ErrRollout, plan.NodePos(by), 2, "", "waves are split by size or by a label, not both: give size or by")
			}
		case "max_parallel":
			_ = v.Decode(&r.MaxParallel)
		case "max_failures":
			maxFailures = v
		}
	})
	if maxFailures != nil {
		d.maxFailures(maxFailures)
	}
}

func (d *decoder) canaries(n *yaml.Node) {
	seen := map[string]bool{}
	var names []string
	for _, it := range plan.Items(n) {
		name := scalar(it)
		switch {
		case seen[name]:
			d.doc.Add(ErrRollout, plan.NodePos(it), len(name), "", "canary %s is given twice", name)
			continue
		case !d.isUnit(name):
			if names == nil {
				names = make([]string, len(d.f.Units))
				for i, u := range d.f.Units {
					names[i] = u.Name
				}
			}
			d.doc.Add(ErrUnknownUnit, plan.NodePos(it), len(name), schema.Suggest(name, names), "canary %s is no unit of the fleet", name)
			continue
		}
		seen[name] = true
		d.f.Rollout.Canary = append(d.f.Rollout.Canary, name)
	}
}

func (d *decoder) isUnit(name string) bool {
	_, ok := d.f.index[name]
	return ok
}

func (d *decoder) maxFailures(n *yaml.Node) {
	if n.Kind != yaml.ScalarNode {
		return // the schema reports it
	}
	if pct, ok := strings.CutSuffix(n.Value, "%"); ok && n.Tag == "!!str" {
		f, err := strconv.ParseFloat(pct, 64)
		switch {
		case err != nil || f < 0 || math.IsNaN(f):
			d.doc.AddSoft(ErrRollout, plan.NodePos(n), len(n.Value), "max_failures: want a count or a percentage such as 10%%")
		case f > 100:
			d.doc.Add(ErrRollout, plan.NodePos(n), len(n.Value), "", "max_failures: %s is more than 100%% of the units", n.Value)
		default:
			d.f.Rollout.MaxFailures = int(math.Floor(f * float64(len(d.f.Units)) / 100))
		}
		return
	}
	if err := n.Decode(&d.f.Rollout.MaxFailures); err != nil || d.f.Rollout.MaxFailures < 0 {
		d.f.Rollout.MaxFailures = 0
		d.doc.AddSoft(ErrRollout, plan.NodePos(n), len(n.Value), "max_failures: want a count or a percentage such as 10%%")
	}
}

// runbook loads the runbook the file names, or takes the default one.
func (d *decoder) runbook(root, n *yaml.Node) error {
	if n == nil {
		if d.cfg.runbook == nil {
			d.doc.Add(ErrRunbook, plan.NodePos(root), 0, "", "the fleet names no runbook, and there is no default one: give runbook: PATH")
		}
		d.f.Runbook = d.cfg.runbook
		return nil
	}
	path := scalar(n)
	if path == "" {
		return nil // the schema reports it
	}
	if !filepath.IsAbs(path) {
		path = filepath.Join(d.dir, path)
	}
	p, err := plan.ParseFile(path, plan.WithRegistry(d.reg))
	if err != nil {
		if len(plan.Errors(err)) > 0 {
			return err
		}
		d.doc.Add(ErrRunbook, plan.NodePos(n), len(n.Value), "", "runbook: %v", err)
		return nil
	}
	d.f.Runbook = p
	return nil
}

// bindAll resolves the secrets and binds every unit's params.
func (d *decoder) bindAll() {
	p := d.f.Runbook
	d.sharedBad = map[string]bool{}
	env := map[string]string{} // secret params from the environment
	for _, prm := range p.Params {
		if !prm.Secret {
			continue
		}
		if g, ok := d.shared[prm.Name]; ok {
			v, ok := d.secret(prm.Name, g)
			if !ok {
				d.sharedBad[prm.Name] = true
			}
			g.value = v
		}
		if d.cfg.env != nil {
			if v, ok := d.cfg.env(SecretEnv(prm.Name)); ok {
				env[prm.Name] = v
			}
		}
	}
	for i := range d.f.Units {
		d.bind(&d.f.Units[i], d.units[i], env)
	}
}

// secret resolves a secret param given in the file: @FILE is read (the
// file relative to the fleet file, its last line break dropped), @@X is
// @X, anything else is refused: a secret is never written in clear.
func (d *decoder) secret(name string, g *given) (any, bool) {
	s, ok := g.value.(string)
	file, at := strings.CutPrefix(s, "@")
	if !ok || !at {
		d.doc.Add(ErrSecret, g.val, 0, "", "param %s is secret: give it as @FILE (a file relative to the fleet file) or in %s, never in clear", name, SecretEnv(name))
		return nil, false
	}
	if strings.HasPrefix(file, "@") {
		g.from = ""
		return file, true // @@X is the literal @X
	}
	if file == "" {
		d.doc.Add(ErrSecret, g.val, 1, "", "param %s: no file name after @", name)
		return nil, false
	}
	if !filepath.IsAbs(file) {
		file = filepath.Join(d.dir, file)
	}
	fs, done := d.files[file]
	if !done {
		fs.value, fs.err = runner.ReadSecretFile(file)
		d.files[file] = fs
	}
	if fs.err != nil {
		d.doc.Add(ErrSecret, g.val, 0, "", "param %s: %v", name, fs.err)
		return nil, false
	}
	if abs, err := filepath.Abs(file); err == nil {
		file = abs
	}
	g.from = "file:" + file
	return fs.value, true
}

// bind merges a unit's params and binds them as a single run would,
// reporting each problem at its place.
func (d *decoder) bind(u *Unit, own params, env map[string]string) {
	p := d.f.Runbook
	merged := make(map[string]any, len(d.shared)+len(own)+len(env))
	from := make(map[string]*given, len(d.shared)+len(own))
	secretFrom := map[string]string{}
	source := func(k, ref string) {
		if prm := p.Param(k); prm == nil || !prm.Secret {
			return
		}
		if ref == "" {
			delete(secretFrom, k)
			return
		}
		secretFrom[k] = ref
	}
	bad := map[string]bool{}
	for k, g := range d.shared {
		if !d.sharedBad[k] {
			merged[k] = g.value
			source(k, g.from)
		}
		from[k] = g
	}
	for k, v := range env {
		merged[k] = v
		delete(from, k)
		source(k, "env:"+SecretEnv(k))
	}
	for k, g := range own {
		v := g.value
		if prm := p.Param(k); prm != nil && prm.Secret {
			var ok bool
			if v, ok = d.secret(k, g); !ok {
				bad[k] = true
				continue
			}
		}
		merged[k] = v
		from[k] = g
		source(k, g.from)
		delete(bad, k)
	}
	u.Params = merged
	if len(secretFrom) > 0 {
		u.SecretFrom = secretFrom
	}
	_, err := runner.BindParams(p, merged)
	var me *multierror.Error
	if !errors.As(err, &me) {
		return
	}
	for _, e := range me.Errors {
		var pe *runner.ParamError
		if !errors.As(e, &pe) || bad[pe.Param] || d.sharedBad[pe.Param] && own[pe.Param] == nil {
			continue
		}
		unknown := p.Param(pe.Param) == nil
		g := from[pe.Param]
		switch {
		case g != nil && own[pe.Param] == g:
			d.doc.Add(runner.ErrParams, at(g, unknown), 0, "", "unit %s: param %s: %s", u.Name, pe.Param, pe.Msg)
		case g != nil:
			// A shared param: the same problem for every unit that
			// does not give its own, reported once.
			d.doc.Add(runner.ErrParams, at(g, unknown), 0, "", "param %s: %s", pe.Param, pe.Msg)
		case hasKey(env, pe.Param):
			d.doc.Add(runner.ErrParams, u.Pos, 0, "", "unit %s: param %s (from %s): %s", u.Name, pe.Param, SecretEnv(pe.Param), pe.Msg)
		default:
			d.doc.Add(runner.ErrParams, u.Pos, 0, "", "unit %s: param %s: %s", u.Name, pe.Param, pe.Msg)
		}
	}
}

func at(g *given, unknown bool) plan.Pos {
	if unknown {
		return g.key
	}
	return g.val
}

func hasKey(m map[string]string, k string) bool {
	_, ok := m[k]
	return ok
}

// Unit returns the unit with the name, or nil.
func (f *Fleet) Unit(name string) *Unit {
	i, ok := f.indexOf()[name]
	if !ok {
		return nil
	}
	return &f.Units[i]
}

// indexOf returns the index of the units by name: the one Load made, or,
// for a fleet built or changed by hand, a new one (never stored: runs of
// the fleet may read it at once).
func (f *Fleet) indexOf() map[string]int {
	if f.index != nil && len(f.index) == len(f.Units) {
		return f.index
	}
	index := make(map[string]int, len(f.Units))
	for i, u := range f.Units {
		index[u.Name] = i
	}
	return index
}

// Waves returns the rollout plan: the canary wave first (when there are
// canaries), then the waves of the other units, each a list of unit names
// in the order they start.
func (f *Fleet) Waves() [][]string {
	waves := f.waves()
	out := make([][]string, len(waves))
	for i, w := range waves {
		out[i] = make([]string, len(w))
		for j, u := range w {
			out[i][j] = f.Units[u].Name
		}
	}
	return out
}

// waves is Waves by unit index.
func (f *Fleet) waves() [][]int {
	index := f.indexOf()
	r := f.Rollout
	var out [][]int
	canary := make(map[int]bool, len(r.Canary))
	if len(r.Canary) > 0 {
		w := make([]int, 0, len(r.Canary))
		for _, name := range r.Canary {
			if i, ok := index[name]; ok && !canary[i] {
				canary[i] = true
				w = append(w, i)
			}
		}
		if len(w) > 0 {
			out = append(out, w)
		}
	}
	rest := make([]int, 0, len(f.Units)-len(canary))
	for i := range f.Units {
		if !canary[i] {
			rest = append(rest, i)
		}
	}
	if len(r.Order) > 0 {
		sort.SliceStable(rest, func(a, b int) bool {
			ua, ub := &f.Units[rest[a]], &f.Units[rest[b]]
			for _, k := range r.Order {
				if va, vb := ua.Label(k), ub.Label(k); va != vb {
					return va < vb
				}
			}
			return false
		})
	}
	switch {
	case len(rest) == 0:
	case r.WaveBy != "":
		byValue := map[string]int{}
		for _, i := range rest {
			v := f.Units[i].Label(r.WaveBy)
			w, ok := byValue[v]
			if !ok {
				w = len(out)
				byValue[v] = w
				out = append(out, nil)
			}
			out[w] = append(out[w], i)
		}
	case r.WaveSize > 0:
		for len(rest) > 0 {
			n := min(r.WaveSize, len(rest))
			out = append(out, rest[:n:n])
			rest = rest[n:]
		}
	default:
		out = append(out, rest)
	}
	return out
}
