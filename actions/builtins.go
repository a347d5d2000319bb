package actions

import (
	"errors"
	"fmt"
)

// RegisterBuiltins registers the generic built-ins into r: the actions log,
// exec, http, sleep and manual, and the probes value, exec and http. It
// reports every registration that failed, for example because r already
// holds one of these names.
func RegisterBuiltins(r *Registry) error {
	if r == nil {
		return errors.New("register built-ins: nil registry")
	}
	var errs []error
	action := func(spec Spec, newAction func() Action) {
		errs = append(errs, r.RegisterAction(spec, newAction))
	}
	probe := func(spec Spec, newProbe func() Probe) {
		errs = append(errs, r.RegisterProbe(spec, newProbe))
	}
	action(logSpec, func() Action { return logAction{} })
	action(execActionSpec, func() Action { return &execAction{newExecutor: ExecutorFor} })
	action(httpActionSpec, func() Action { return &httpAction{} })
	action(sleepSpec, func() Action { return sleepAction{} })
	action(manualSpec, func() Action { return manualAction{} })
	probe(valueSpec, func() Probe { return valueProbe{} })
	probe(execProbeSpec, func() Probe { return &execProbe{newExecutor: ExecutorFor} })
	probe(httpProbeSpec, func() Probe { return &httpProbe{} })
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("register built-ins: %w", err)
	}
	return nil
}
