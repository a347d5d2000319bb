package main

import (
	"bufio"
	"context"
	"io"
	"strings"

	"github.com/csmplan/csmplan/runner"
)

// confirmPrompt is the question asked before the first change.
const confirmPrompt = "Do you want to go on? Only 'yes' is accepted: "

// confirmer returns the runner's Confirm hook of a run: on a terminal,
// without --yes, the mutating steps to come are shown and the operator is
// asked once, before the first of them runs its action, to type yes.
// Anything else stops the run, changing nothing. With --yes, or off a
// terminal (a CI pipeline, a pipe), there is no question: nil. Manual
// approval steps are not affected: off a terminal they still need --yes.
func confirmer(e *env, f *runFlags, out io.Writer, hold func() (release func())) func(context.Context, []runner.PlannedChange) (bool, error) {
	if f.yes || f.dryRun || !e.isTerminal() {
		return nil
	}
	return func(ctx context.Context, changes []runner.PlannedChange) (bool, error) {
		defer hold()()
		printf(out, "\nThe run is about to change things. The steps that change something, from here on:\n")
		for _, c := range changes {
			target := ""
			if c.Target != "" {
				target = " on " + c.Target
			}
			printf(out, "  %d. %s: %s%s\n", c.Index, c.Title, c.Action, target)
		}
		printf(out, "Steps whose `when` does not hold are skipped as they come.\n%s", ours(confirmPrompt))
		a, err := e.answer(ctx)
		if err != nil {
			return false, err
		}
		if a != "yes" {
			printf(out, "Not confirmed (%q is not yes): the run stops here; this run changed nothing.\n", a)
			return false, nil
		}
		return true, nil
	}
}

// answer reads the operator's answer, one line of stdin without its
// surrounding spaces, or returns ctx's error when ctx is done first. One
// buffered reader serves every question of the process, so that a line
// typed ahead is not lost between two questions.
func (e *env) answer(ctx context.Context) (string, error) {
	if e.in == nil {
		e.in = bufio.NewReader(e.stdin)
	}
	answer := make(chan string, 1)
	go func() {
		line, _ := e.in.ReadString('\n')
		answer <- strings.TrimSpace(line)
	}()
	select {
	case a := <-answer:
		return a, nil
	case <-ctx.Done():
		return "", ctx.Err()
	}
}
