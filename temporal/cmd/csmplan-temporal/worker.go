package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/interceptor"
	"go.temporal.io/sdk/worker"

	"github.com/csmplan/csmplan/internal/console"
	"github.com/csmplan/csmplan/temporal/csmworker"
	"github.com/csmplan/csmplan/temporal/interpreter"
)

// cmdWorker runs `csmplan-temporal worker`.
func cmdWorker(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlags("worker", "", `Run the csmplan workflows and make their calls (probes, actions) for the task
queues it polls, with the actions and probes of the csmplan command. Run one
near each site: the calls on a target go to the target's task queue (run
--target-queue, or the target's task_queue field). Secrets given by
reference (env:, file:, params:) are read here, from this worker's
environment and files.

The first Ctrl-C (or SIGTERM) stops taking calls and lets the running ones
finish, up to --stop-timeout; the second exits at once.`, stderr)
	var c conn
	c.add(fs)
	var queues multiFlag
	fs.Var(&queues, "task-queue", "a task `QUEUE` to poll (repeatable; default "+csmworker.DefaultTaskQueue+", the workflows' own)")
	stopTimeout := fs.Duration("stop-timeout", time.Hour, "how long a stop waits for the running calls (an installer) before cancelling them")
	pos, code, ok := parse(fs, args, stdout)
	if !ok {
		return code
	}
	if len(pos) > 0 {
		return fail(stderr, "worker", exitUsage, fmt.Errorf("unexpected argument %q", pos[0]))
	}
	if len(queues) == 0 {
		queues = multiFlag{csmworker.DefaultTaskQueue}
	}
	cl, err := c.dial(ctx, stderr)
	if err != nil {
		return fail(stderr, "worker", exitFailed, err)
	}
	defer cl.Close()
	reg, err := csmworker.Registry()
	if err != nil {
		return fail(stderr, "worker", exitFailed, err)
	}
	log := &callLog{w: stdout}
	var workers []worker.Worker
	for _, q := range queues {
		w := worker.New(cl, q, worker.Options{WorkerStopTimeout: *stopTimeout,
			Interceptors: []interceptor.WorkerInterceptor{log}})
		csmworker.Register(w, reg)
		if err := w.Start(); err != nil {
			for _, w := range workers {
				w.Stop()
			}
			return fail(stderr, "worker", exitFailed, fmt.Errorf("task queue %s: %w", q, err))
		}
		workers = append(workers, w)
	}
	host, _ := os.Hostname()
	log.printf("csmplan worker %d on %s polling task queue %s at %s (namespace %s)\n", os.Getpid(), host, strings.Join(queues, ", "), c.address, c.namespace)
	<-ctx.Done()
	log.printf("stopping: no new call is taken; running calls may take up to %s to finish (Ctrl-C again to exit at once)\n", *stopTimeout)
	var wg sync.WaitGroup
	for _, w := range slices.Backward(workers) {
		wg.Go(func() { w.Stop() })
	}
	wg.Wait()
	log.printf("worker stopped\n")
	return exitOK
}

// callLog is a worker interceptor that prints a line when an action's
// attempt starts and when it ends: an operator sees which worker runs the
// installer. Probes, which run often, are not printed.
type callLog struct {
	interceptor.WorkerInterceptorBase
	mu sync.Mutex
	w  io.Writer
}

func (l *callLog) printf(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	fmt.Fprintf(l.w, format, args...)
}

func (l *callLog) InterceptActivity(_ context.Context, next interceptor.ActivityInboundInterceptor) interceptor.ActivityInboundInterceptor {
	a := &callLogActivity{log: l}
	a.Next = next
	return a
}

type callLogActivity struct {
	interceptor.ActivityInboundInterceptorBase
	log *callLog
}

func (a *callLogActivity) ExecuteActivity(ctx context.Context, in *interceptor.ExecuteActivityInput) (any, error) {
	info := activity.GetInfo(ctx)
	req, ok := firstArg[interpreter.CallRequest](in.Args)
	if !ok || info.ActivityType.Name != interpreter.ActActivity {
		return a.Next.ExecuteActivity(ctx, in)
	}
	what := fmt.Sprintf("[%s] workflow %s step %s: %s attempt %d", info.TaskQueue, info.WorkflowExecution.ID, req.Step, req.Name, req.Attempt)
	a.log.printf("%s started\n", what)
	out, err := a.Next.ExecuteActivity(ctx, in)
	res, _ := out.(interpreter.CallResult)
	switch {
	case err != nil:
		a.log.printf("%s ended: %v\n", what, err)
	case res.Error != "":
		a.log.printf("%s failed: %s\n", what, console.FirstLine(res.Error))
	default:
		a.log.printf("%s succeeded\n", what)
	}
	return out, err
}

func firstArg[T any](args []any) (T, bool) {
	var zero T
	if len(args) == 0 {
		return zero, false
	}
	v, ok := args[0].(T)
	return v, ok
}
