package actionstest

import (
	"context"
	"sync"
	"time"

	"github.com/csmplan/csmplan/actions"
)

// Epoch is the time at which a [Kit]'s clock starts: a fixed instant, so that
// times in reports are the same on every run.
var Epoch = time.Date(2025, time.January, 1, 0, 0, 0, 0, time.UTC)

// Clock is a virtual [actions.Clock]. Time moves only when Sleep or Advance
// moves it, and then at once: Sleep(ctx, 30*time.Minute) returns in
// microseconds with Now 30 minutes later. Timers registered by WithTimeout
// fire, in deadline order, as time passes their deadline. The zero value is
// not usable: call [NewClock]. A Clock is safe for concurrent use; virtual
// time is shared, so the sleeps of concurrent goroutines add up.
type Clock struct {
	// adv serialises the moves of time (Sleep and Advance), so that each
	// moves it by its own duration; mu guards the fields below.
	adv    sync.Mutex
	mu     sync.Mutex
	now    time.Time
	slept  time.Duration
	timers []*timer
	seq    uint64
}

var _ actions.Clock = (*Clock)(nil)

// timer is a deadline registered by WithTimeout.
type timer struct {
	at     time.Time
	seq    uint64 // registration order, to fire equal deadlines in order
	cancel context.CancelCauseFunc
}

// NewClock returns a virtual clock whose time is start.
func NewClock(start time.Time) *Clock { return &Clock{now: start} }

// Now returns the virtual time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Slept returns the total virtual time that Sleep has advanced.
func (c *Clock) Slept() time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.slept
}

// Pending returns the number of timers registered by WithTimeout that have
// neither fired nor been cancelled.
func (c *Clock) Pending() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.timers)
}

// Sleep advances virtual time by d at once, firing the timers whose deadline
// it passes. If ctx is done, or becomes done because one of those timers
// fired, Sleep stops at that instant and returns an error wrapping
// ctx.Err() (and its cause, such as context.DeadlineExceeded).
func (c *Clock) Sleep(ctx context.Context, d time.Duration) error {
	if err := actions.ContextError(ctx); err != nil {
		return err
	}
	if d <= 0 {
		return nil
	}
	c.adv.Lock()
	defer c.adv.Unlock()
	c.mu.Lock()
	begin := c.now
	c.mu.Unlock()
	end := begin.Add(d)
	stop, err := c.advanceTo(ctx, end)
	c.mu.Lock()
	c.slept += stop.Sub(begin)
	c.mu.Unlock()
	return err
}

// Advance moves virtual time forward by d, firing the timers whose deadline
// it passes. It does not count as sleeping. A d <= 0 does nothing.
func (c *Clock) Advance(d time.Duration) {
	if d <= 0 {
		return
	}
	c.adv.Lock()
	defer c.adv.Unlock()
	c.mu.Lock()
	end := c.now.Add(d)
	c.mu.Unlock()
	_, _ = c.advanceTo(context.Background(), end)
}

// advanceTo fires, one at a time and in deadline order, the timers due by
// end, moving the time to each deadline, then moves the time to end. When
// ctx is done after a timer fired, it stops at that timer's
// deadline. It returns the instant it stopped at.
func (c *Clock) advanceTo(ctx context.Context, end time.Time) (time.Time, error) {
	for {
		c.mu.Lock()
		t := c.popDue(end)
		if t == nil {
			if c.now.Before(end) {
				c.now = end
			}
			c.mu.Unlock()
			return end, nil
		}
		if c.now.Before(t.at) {
			c.now = t.at
		}
		c.mu.Unlock()
		// Fire outside the lock: cancelling runs code of the context
		// package, and maybe of whoever waits on it.
		t.cancel(context.DeadlineExceeded)
		if ctx.Err() != nil {
			return t.at, actions.ContextError(ctx)
		}
	}
}

// popDue removes and returns the earliest timer due by end, or nil. c.mu is
// held.
func (c *Clock) popDue(end time.Time) *timer {
	best := -1
	for i, t := range c.timers {
		if t.at.After(end) {
			continue
		}
		if best < 0 || t.at.Before(c.timers[best].at) || (t.at.Equal(c.timers[best].at) && t.seq < c.timers[best].seq) {
			best = i
		}
	}
	if best < 0 {
		return nil
	}
	t := c.timers[best]
	c.timers = append(c.timers[:best], c.timers[best+1:]...)
	return t
}

// WithTimeout returns a context that is cancelled, with cause
// context.DeadlineExceeded, when virtual time reaches Now()+d. As with
// context.WithCancelCause, its Err is then context.Canceled: test
// context.Cause. The cancel func cancels it and removes its timer. A d <= 0
// returns a context that is already cancelled.
func (c *Clock) WithTimeout(ctx context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancelCause(ctx)
	if d <= 0 {
		cancel(context.DeadlineExceeded)
		return ctx, func() { cancel(nil) }
	}
	c.mu.Lock()
	c.seq++
	t := &timer{at: c.now.Add(d), seq: c.seq, cancel: cancel}
	c.timers = append(c.timers, t)
	c.mu.Unlock()
	return ctx, func() {
		c.remove(t)
		cancel(nil)
	}
}

func (c *Clock) remove(t *timer) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i, x := range c.timers {
		if x == t {
			c.timers = append(c.timers[:i], c.timers[i+1:]...)
			return
		}
	}
}
