package runner

import (
	"context"
	"fmt"
)

// errStopRequested is the cause of a run's context once Options.Stop is
// closed: what an interrupted run's error says it was stopped by.
var errStopRequested = fmt.Errorf("%w (stop requested)", context.Canceled)

// stoppable makes the context of the run's steps: ctx, cancelled too when
// Options.Stop is closed. The run keeps ctx itself for the mutating
// actions, which only it cancels. release ends what stoppable started.
func (r *run) stoppable(ctx context.Context) (steps context.Context, release func()) {
	r.hard = ctx
	steps, cancel := context.WithCancelCause(ctx)
	r.halt = func() { cancel(errStopRequested) }
	if r.opts.Stop != nil {
		go func() {
			select {
			case <-r.opts.Stop:
				r.halt()
			case <-steps.Done():
			}
		}()
	}
	return steps, func() { cancel(context.Canceled) }
}

// stopAsked reports whether Options.Stop is closed. When it is, the
// steps' context is cancelled (if the goroutine that watches Stop has not
// done so yet), so that what follows sees it done.
func (r *run) stopAsked() bool {
	select {
	case <-r.opts.Stop:
		r.halt()
		return true
	default:
		return false
	}
}

// announce emits the one RunStopping event of a run, through ev when a
// mutating action is in flight (e then names it), else as a run event.
func (r *run) announce(ev func(Event), e Event) {
	if r.announced {
		return
	}
	r.announced = true
	r.halt()
	e.Kind = RunStopping
	if ev == nil {
		ev = r.emit
	}
	ev(e)
}
