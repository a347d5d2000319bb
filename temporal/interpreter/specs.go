package interpreter

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"slices"

	"github.com/csmplan/csmplan/actions"
	"github.com/csmplan/csmplan/plan"
)

// SpecsOf returns the specs that the runbook p needs of reg: those of its
// actions (undo ones included) and probes, of the actions the workflow
// runs itself (manual, sleep), and, reduced to their name and target
// fields, the others that declare target fields (the targets are checked
// against them), QueueSpec among them. It is the name set a workflow's Input carries: far smaller than
// Specs's when reg holds more than p uses, which matters to a fleet, whose
// workflow starts a child with it per unit.
func SpecsOf(reg *actions.Registry, p *plan.Plan) (acts, probes []actions.Spec) {
	usedActs, usedProbes := map[string]bool{}, map[string]bool{}
	for _, name := range inWorkflow {
		usedActs[name] = true
	}
	for _, s := range p.Steps {
		usedActs[s.Action] = true
		if s.Undo != nil {
			usedActs[s.Undo.Action] = true
		}
		for _, c := range slices.Concat(s.Pre, s.Post, []*plan.Condition{s.When}) {
			if c != nil {
				usedProbes[c.Probe] = true
			}
		}
	}
	// A spec p does not use counts only for the target fields it declares.
	keep := func(specs []actions.Spec, used map[string]bool) []actions.Spec {
		var out []actions.Spec
		for _, s := range specs {
			switch {
			case used[s.Name]:
				out = append(out, s)
			case len(s.TargetFields) > 0:
				out = append(out, actions.Spec{Name: s.Name, TargetFields: s.TargetFields})
			}
		}
		return out
	}
	all, allProbes := Specs(reg)
	return keep(all, usedActs), keep(allProbes, usedProbes)
}

// packed is what Input.Packed holds, gzipped JSON.
type packed struct {
	Runbook         []byte
	Actions, Probes []actions.Spec
}

// Pack returns in with its runbook and specs gzipped into Packed (and
// Runbook, Actions and Probes empty): a fifth of their size, which a fleet
// gives each unit's workflow, so that the fleet's history, which holds
// every unit's input, stays small.
func (in Input) Pack() (Input, error) {
	b, err := json.Marshal(packed{Runbook: in.Runbook, Actions: in.Actions, Probes: in.Probes})
	if err != nil {
		return in, fmt.Errorf("pack the runbook: %w", err)
	}
	var z bytes.Buffer
	w := gzip.NewWriter(&z)
	if _, err := w.Write(b); err != nil {
		return in, fmt.Errorf("pack the runbook: %w", err)
	}
	if err := w.Close(); err != nil {
		return in, fmt.Errorf("pack the runbook: %w", err)
	}
	in.Packed, in.Runbook, in.Actions, in.Probes = z.Bytes(), nil, nil, nil
	return in, nil
}

// unpack undoes Pack.
func (in Input) unpack() (Input, error) {
	if in.Packed == nil {
		return in, nil
	}
	r, err := gzip.NewReader(bytes.NewReader(in.Packed))
	if err != nil {
		return in, fmt.Errorf("the packed runbook: %w", err)
	}
	var p packed
	if err := json.NewDecoder(io.LimitReader(r, 64<<20)).Decode(&p); err != nil {
		return in, fmt.Errorf("the packed runbook: %w", err)
	}
	in.Runbook, in.Actions, in.Probes, in.Packed = p.Runbook, p.Actions, p.Probes, nil
	return in, nil
}
