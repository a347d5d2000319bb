package actions

import (
	"context"
	"time"
)

// Clock is the source of time for a run. Every wait, poll interval, retry
// backoff and timeout goes through it, so that tests can use a virtual clock
// (see package actionstest) on which a 30-minute wait costs microseconds.
type Clock interface {
	// Now returns the current time.
	Now() time.Time
	// Sleep waits for d, or until ctx is done, in which case it returns an
	// error wrapping ctx.Err().
	Sleep(ctx context.Context, d time.Duration) error
	// WithTimeout returns a context that is cancelled when d has passed on
	// this clock; its cause (context.Cause) is then context.DeadlineExceeded.
	WithTimeout(ctx context.Context, d time.Duration) (context.Context, context.CancelFunc)
}

// RealClock is the wall clock.
type RealClock struct{}

var _ Clock = RealClock{}

// Now returns time.Now().
func (RealClock) Now() time.Time { return time.Now() }

// Sleep waits on a timer and ctx.Done.
func (RealClock) Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// WithTimeout is context.WithTimeout.
func (RealClock) WithTimeout(ctx context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, d)
}

// ContextError returns nil while ctx is not done, and then the error to
// report: ctx.Err(), also wrapping context.Cause(ctx) when that differs. A
// context that [Clock.WithTimeout] cancelled on a virtual clock has Err
// context.Canceled and cause context.DeadlineExceeded; errors.Is finds
// both in ContextError's result, whose message is the cause's
// ("context deadline exceeded").
func ContextError(ctx context.Context) error {
	err := ctx.Err()
	if err == nil {
		return nil
	}
	cause := context.Cause(ctx)
	if cause == nil || cause == err {
		return err
	}
	return &causeError{err: err, cause: cause}
}

type causeError struct{ err, cause error }

func (e *causeError) Error() string   { return e.cause.Error() }
func (e *causeError) Unwrap() []error { return []error{e.err, e.cause} }

// clockOf returns the call's clock, or the wall clock when it has none.
func clockOf(call *Call) Clock {
	if call != nil && call.Clock != nil {
		return call.Clock
	}
	return RealClock{}
}
