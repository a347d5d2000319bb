package main

import (
	"context"
	"runtime/debug"
)

func cmdVersion(_ context.Context, e *env, args []string) int {
	fs := newFlags(e, "version", "", "Print the version of csmplan: its module version, the commit it was built\nfrom (with its time, and whether the tree had changes), and the Go version.")
	rest, code, ok := parse(e, fs, args)
	if !ok {
		return code
	}
	if len(rest) > 0 {
		printf(e.stderr, "csmplan version: unexpected argument %q\n", rest[0])
		return exitUsage
	}
	info, ok := debug.ReadBuildInfo()
	if !ok {
		printf(e.stdout, "csmplan (no build information)\n")
		return exitOK
	}
	for _, l := range versionLines(info) {
		printf(e.stdout, "%s\n", l)
	}
	return exitOK
}

// versionLines describes a build: the module and its version, the
// commit, and the Go version.
func versionLines(info *debug.BuildInfo) []string {
	version := info.Main.Version
	if version == "" {
		version = "(devel)"
	}
	lines := []string{"csmplan " + version + " (" + info.Main.Path + ")"}
	set := map[string]string{}
	for _, s := range info.Settings {
		set[s.Key] = s.Value
	}
	if rev := set["vcs.revision"]; rev != "" {
		commit := "commit " + rev
		if t := set["vcs.time"]; t != "" {
			commit += " (" + t + ")"
		}
		if set["vcs.modified"] == "true" {
			commit += ", with uncommitted changes"
		}
		lines = append(lines, commit)
	}
	return append(lines, "built with "+info.GoVersion)
}
