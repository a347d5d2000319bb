//go:build !unix

package main

// keepRunningOnClosedOutput has nothing to do where there is no SIGPIPE: a
// write to a closed pipe fails with an error, which outputWriter handles.
func keepRunningOnClosedOutput() {}
