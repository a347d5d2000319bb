package actionstest_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/csmplan/csmplan/actions/actionstest"
)

var start = time.Date(2024, time.March, 1, 12, 0, 0, 0, time.UTC)

func TestClockSleepAdvancesAtOnce(t *testing.T) {
	t.Parallel()
	c := actionstest.NewClock(start)
	if err := c.Sleep(context.Background(), 30*time.Minute); err != nil {
		t.Fatal(err)
	}
	if got, want := c.Now(), start.Add(30*time.Minute); !got.Equal(want) {
		t.Errorf("Now() = %v, want %v", got, want)
	}
	if got := c.Slept(); got != 30*time.Minute {
		t.Errorf("Slept() = %v, want 30m", got)
	}
}

func TestClockPollingThirtyMinutes(t *testing.T) {
	t.Parallel()
	c := actionstest.NewClock(start)
	ctx, cancel := c.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	polls := 0
	for {
		polls++
		if err := c.Sleep(ctx, 30*time.Second); err != nil {
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("Sleep: %v, want it to wrap context.DeadlineExceeded", err)
			}
			break
		}
		if polls > 1000 {
			t.Fatal("the 30-minute timeout never fired")
		}
	}
	if polls != 60 {
		t.Errorf("polled %d times, want 60", polls)
	}
	if got := c.Now().Sub(start); got != 30*time.Minute {
		t.Errorf("time moved %v, want 30m", got)
	}
}

func TestClockTimeoutFiresDuringSleep(t *testing.T) {
	t.Parallel()
	c := actionstest.NewClock(start)
	ctx, cancel := c.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	err := c.Sleep(ctx, 30*time.Minute)
	if !errors.Is(err, context.Canceled) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Sleep = %v, want an error wrapping context.Canceled and context.DeadlineExceeded", err)
	}
	if got := context.Cause(ctx); got != context.DeadlineExceeded {
		t.Errorf("context.Cause = %v, want context.DeadlineExceeded", got)
	}
	if got, want := c.Now(), start.Add(10*time.Minute); !got.Equal(want) {
		t.Errorf("Now() = %v, want the deadline %v", got, want)
	}
	if got := c.Slept(); got != 10*time.Minute {
		t.Errorf("Slept() = %v, want 10m", got)
	}
	if n := c.Pending(); n != 0 {
		t.Errorf("Pending() = %d after the timer fired, want 0", n)
	}
}

func TestClockOtherTimerDoesNotStopSleep(t *testing.T) {
	t.Parallel()
	c := actionstest.NewClock(start)
	other, cancel := c.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := c.Sleep(context.Background(), time.Hour); err != nil {
		t.Fatalf("Sleep = %v, want nil: the timer belongs to another context", err)
	}
	if context.Cause(other) != context.DeadlineExceeded {
		t.Errorf("the other context was not cancelled by its deadline: cause %v", context.Cause(other))
	}
	if got := c.Now().Sub(start); got != time.Hour {
		t.Errorf("time moved %v, want 1h", got)
	}
}

func TestClockTimersFireInDeadlineOrder(t *testing.T) {
	t.Parallel()
	c := actionstest.NewClock(start)
	late, cancelLate := c.WithTimeout(context.Background(), 20*time.Minute)
	defer cancelLate()
	first, cancelFirst := c.WithTimeout(context.Background(), 10*time.Minute)
	defer cancelFirst()
	second, cancelSecond := c.WithTimeout(context.Background(), 10*time.Minute)
	defer cancelSecond()
	// Sleeping on first stops as soon as it fires: second (same deadline,
	// registered later) and late are still pending.
	if err := c.Sleep(first, time.Hour); err == nil {
		t.Fatal("Sleep on first returned nil, want its deadline")
	}
	if second.Err() != nil || late.Err() != nil {
		t.Fatalf("second.Err = %v, late.Err = %v: fired before first", second.Err(), late.Err())
	}
	if n := c.Pending(); n != 2 {
		t.Fatalf("Pending() = %d, want 2", n)
	}
	if err := c.Sleep(late, time.Hour); err == nil {
		t.Fatal("Sleep on late returned nil, want its deadline")
	}
	if context.Cause(second) != context.DeadlineExceeded {
		t.Errorf("second not fired before late: cause %v", context.Cause(second))
	}
	if got := c.Now().Sub(start); got != 20*time.Minute {
		t.Errorf("time moved %v, want 20m", got)
	}
}

func TestClockCancelStopsTimer(t *testing.T) {
	t.Parallel()
	c := actionstest.NewClock(start)
	ctx, cancel := c.WithTimeout(context.Background(), time.Minute)
	if n := c.Pending(); n != 1 {
		t.Fatalf("Pending() = %d, want 1", n)
	}
	cancel()
	if n := c.Pending(); n != 0 {
		t.Fatalf("Pending() = %d after cancel, want 0", n)
	}
	c.Advance(time.Hour)
	if got := context.Cause(ctx); got != context.Canceled {
		t.Errorf("context.Cause = %v, want context.Canceled: the timer must not fire after cancel", got)
	}
	if got := c.Slept(); got != 0 {
		t.Errorf("Slept() = %v after Advance, want 0", got)
	}
	if got := c.Now().Sub(start); got != time.Hour {
		t.Errorf("Advance moved time %v, want 1h", got)
	}
}

func TestClockAdvanceFiresTimers(t *testing.T) {
	t.Parallel()
	c := actionstest.NewClock(start)
	ctx, cancel := c.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c.Advance(59 * time.Second)
	if ctx.Err() != nil {
		t.Fatalf("fired early, at 59s")
	}
	c.Advance(time.Second)
	if context.Cause(ctx) != context.DeadlineExceeded {
		t.Fatalf("not fired at its deadline: cause %v", context.Cause(ctx))
	}
}

func TestClockEdgeCases(t *testing.T) {
	t.Parallel()
	c := actionstest.NewClock(start)

	ctx, cancel := c.WithTimeout(context.Background(), 0)
	defer cancel()
	if context.Cause(ctx) != context.DeadlineExceeded {
		t.Errorf("WithTimeout(0): cause %v, want context.DeadlineExceeded at once", context.Cause(ctx))
	}

	done, cancelDone := context.WithCancel(context.Background())
	cancelDone()
	if err := c.Sleep(done, time.Hour); !errors.Is(err, context.Canceled) {
		t.Errorf("Sleep with a cancelled context = %v, want context.Canceled", err)
	}
	if !c.Now().Equal(start) {
		t.Errorf("Sleep with a cancelled context moved time to %v", c.Now())
	}
	if err := c.Sleep(context.Background(), -time.Second); err != nil || !c.Now().Equal(start) {
		t.Errorf("Sleep(-1s) = %v, time %v; want nil and no move", err, c.Now())
	}
	c.Advance(-time.Hour)
	if !c.Now().Equal(start) {
		t.Errorf("Advance(-1h) moved time to %v", c.Now())
	}
}

func TestClockConcurrent(t *testing.T) {
	t.Parallel()
	c := actionstest.NewClock(start)
	const workers, sleeps = 8, 50
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for range sleeps {
				ctx, cancel := c.WithTimeout(context.Background(), time.Hour)
				if err := c.Sleep(ctx, time.Second); err != nil {
					t.Error(err)
				}
				_ = c.Now()
				_ = c.Pending()
				cancel()
			}
		})
	}
	wg.Wait()
	want := workers * sleeps * time.Second
	if got := c.Slept(); got != want {
		t.Errorf("Slept() = %v, want %v", got, want)
	}
	if got := c.Now().Sub(start); got != want {
		t.Errorf("time moved %v, want %v", got, want)
	}
	if n := c.Pending(); n != 0 {
		t.Errorf("Pending() = %d, want 0", n)
	}
}
