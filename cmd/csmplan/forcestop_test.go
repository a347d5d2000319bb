package main

import "os"

// forceStop sends SIGINT to a run with --json, waits until the run says
// it is stopping, and sends a second SIGINT, which cancels what runs.
func (p *proc) forceStop() {
	p.t.Helper()
	p.signal(os.Interrupt)
	p.waitFor(`"type":"run.stopping"`)
	p.signal(os.Interrupt)
}
