package remote

import (
	"context"
	"time"
)

// DefaultKillGrace is how long a cancelled command has, after SIGTERM, to
// exit before SIGKILL, when neither the executor nor the context says.
const DefaultKillGrace = 10 * time.Second

type killGraceKey struct{}

// WithKillGrace returns a context that carries grace, the time a command
// run with it has, once the context is done, between SIGTERM and SIGKILL:
// the grace of the executors whose own KillGrace is zero. A negative
// grace means SIGKILL at once. A runner passes it down to every action
// of a run: `csmplan run --kill-grace` sets it this way.
func WithKillGrace(ctx context.Context, grace time.Duration) context.Context {
	return context.WithValue(ctx, killGraceKey{}, grace)
}

// killGrace returns own when it is not zero, else the grace ctx carries,
// else DefaultKillGrace.
func killGrace(ctx context.Context, own time.Duration) time.Duration {
	if own != 0 {
		return own
	}
	if g, ok := ctx.Value(killGraceKey{}).(time.Duration); ok && g != 0 {
		return g
	}
	return DefaultKillGrace
}

// KillGraceOf returns the grace a cancelled command gets from an executor
// whose own KillGrace is zero: the one ctx carries (see WithKillGrace),
// else DefaultKillGrace. A runner waits that long (and a little more) for
// a cancelled action to return before it abandons it.
func KillGraceOf(ctx context.Context) time.Duration { return killGrace(ctx, 0) }
