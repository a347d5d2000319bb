package main

import (
	"context"
	"flag"
	"io"
	"os"
	"slices"
	"sort"
	"strings"

	"github.com/csmplan/csmplan"
	"github.com/csmplan/csmplan/actions"
	"github.com/csmplan/csmplan/actions/csm/csmtest"
	"github.com/csmplan/csmplan/plan"
)

// completeCommand is the hidden command that the completion scripts run:
// `csmplan __complete WORD...` prints, one a line, the words that can
// complete the last WORD (empty: a new word) of a command line that
// starts with the other WORDs, after the program's name. It prints nothing
// where a file name fits, and the shell then completes file names.
const completeCommand = "__complete"

// stepFlags are the flags whose value is a step id.
var stepFlags = []string{"from", "only", "to", "skip", "step"}

func cmdCompletion(_ context.Context, e *env, args []string) int {
	fs := newFlags(e, "completion", "bash|zsh|fish", `Print a script that completes csmplan's commands, their flags, param names
after -p (from the runbook on the line, or the built-in one), fault names
after --fault, and step ids. Load it:

  bash:  source <(csmplan completion bash)     (or save it in /etc/bash_completion.d/csmplan)
  zsh:   source <(csmplan completion zsh)      (or save it as _csmplan in a directory of $fpath)
  fish:  csmplan completion fish > ~/.config/fish/completions/csmplan.fish`)
	rest, code, ok := parse(e, fs, args)
	if !ok {
		return code
	}
	if len(rest) != 1 {
		printf(e.stderr, "csmplan completion: want one shell: bash, zsh or fish\n")
		return exitUsage
	}
	script, ok := completionScripts[rest[0]]
	if !ok {
		printf(e.stderr, "csmplan completion: unknown shell %q: want bash, zsh or fish\n", rest[0])
		return exitUsage
	}
	printf(e.stdout, "%s", ours(script))
	return exitOK
}

func cmdComplete(ctx context.Context, e *env, words []string) int {
	for _, c := range complete(ctx, e, words) {
		printf(e.stdout, "%s\n", c)
	}
	return exitOK
}

// complete returns the words that complete the last of words.
func complete(ctx context.Context, e *env, words []string) []string {
	if len(words) == 0 {
		words = []string{""}
	}
	cur := words[len(words)-1]
	if len(words) == 1 {
		names := []string{"help"}
		for _, c := range commands() {
			names = append(names, c.name)
		}
		return matching(names, cur)
	}
	var cmd *command
	for _, c := range commands() {
		if c.name == words[0] {
			cmd = &c
		}
	}
	if words[0] == "help" && len(words) == 2 {
		return complete(ctx, e, words[1:])
	}
	if cmd == nil {
		return nil
	}
	flags := flagsOf(ctx, e, *cmd)
	prev := words[len(words)-2]
	// The value of a flag: "-p NAME" or "-p=NAME".
	if name, ok := flagName(prev); ok && takesValue(flags[name]) && !strings.Contains(prev, "=") {
		return flagValues(name, cur, "", words, flags)
	}
	if strings.HasPrefix(cur, "-") {
		if before, value, ok := strings.Cut(cur, "="); ok {
			if name, _ := flagName(before); takesValue(flags[name]) {
				return flagValues(name, value, before+"=", words, flags)
			}
			return nil
		}
		dashes := "-"
		if strings.HasPrefix(cur, "--") {
			dashes = "--"
		}
		var names []string
		for name := range flags {
			names = append(names, dashes+name)
		}
		return matching(names, cur)
	}
	switch cmd.name {
	case "completion":
		return matching([]string{"bash", "fish", "zsh"}, cur)
	case "actions":
		reg := csmplan.Registry()
		return matching(append(reg.Names(actions.KindAction), reg.Names(actions.KindProbe)...), cur)
	}
	return nil // a file
}

// flagsOf returns the flags of the command c, by name: c runs with
// e.flags set, and stops at its parse.
func flagsOf(ctx context.Context, e *env, c command) map[string]*flag.Flag {
	out := map[string]*flag.Flag{}
	quiet := *e
	quiet.stdout, quiet.stderr = io.Discard, io.Discard
	quiet.flags = func(fs *flag.FlagSet) {
		fs.VisitAll(func(f *flag.Flag) { out[f.Name] = f })
	}
	c.run(ctx, &quiet, nil)
	return out
}

func flagName(word string) (string, bool) {
	if !strings.HasPrefix(word, "-") || word == "-" || word == "--" {
		return "", false
	}
	name := strings.TrimPrefix(strings.TrimPrefix(word, "-"), "-")
	name, _, _ = strings.Cut(name, "=")
	return name, true
}

// takesValue reports whether the flag takes a value (it is not boolean).
func takesValue(f *flag.Flag) bool {
	if f == nil {
		return false
	}
	b, ok := f.Value.(interface{ IsBoolFlag() bool })
	return !ok || !b.IsBoolFlag()
}

// flagValues returns the values of the flag name that complete cur, each
// after prefix.
func flagValues(name, cur, prefix string, words []string, flags map[string]*flag.Flag) []string {
	var values []string
	switch {
	case name == "p":
		values = paramWords(runbookOf(words, flags), cur)
	case name == "fault":
		values = matching(csmtest.FaultNames(), cur)
	case slices.Contains(stepFlags, name):
		// --only a,b: the last of a list separated by commas.
		done := ""
		if i := strings.LastIndexByte(cur, ','); i >= 0 {
			done, cur = cur[:i+1], cur[i+1:]
		}
		if p := runbookOf(words, flags); p != nil {
			for _, s := range p.Steps {
				values = append(values, done+s.ID)
			}
		}
		values = matching(values, done+cur)
	}
	for i, v := range values {
		values[i] = prefix + v
	}
	return values
}

// paramWords completes -p NAME=VALUE: the param names followed by "=",
// and after "=", the values of a boolean or enum param.
func paramWords(p *plan.Plan, cur string) []string {
	if p == nil {
		return nil
	}
	name, value, hasValue := strings.Cut(cur, "=")
	if !hasValue {
		var names []string
		for _, prm := range p.Params {
			names = append(names, prm.Name+"=")
		}
		return matching(names, cur)
	}
	prm := p.Param(name)
	if prm == nil {
		return nil
	}
	var values []string
	switch {
	case prm.Type == plan.TypeBoolean:
		values = []string{"true", "false"}
	case len(prm.Enum) > 0:
		for _, v := range prm.Enum {
			values = append(values, plan.Format(v))
		}
	}
	out := make([]string, 0, len(values))
	for _, v := range matching(values, value) {
		out = append(out, name+"="+v)
	}
	return out
}

// runbookOf loads the runbook a command line names (its first argument
// that is a file), or the built-in one; nil if it does not load.
func runbookOf(words []string, flags map[string]*flag.Flag) *plan.Plan {
	for i, w := range words[1 : len(words)-1] {
		if strings.HasPrefix(w, "-") {
			continue // a flag
		}
		if name, ok := flagName(words[i]); ok && takesValue(flags[name]) && !strings.Contains(words[i], "=") {
			continue // the value of the flag before it
		}
		if fi, err := os.Stat(w); err == nil && fi.Mode().IsRegular() {
			if p, err := plan.ParseFile(w, plan.WithRegistry(csmplan.Registry())); err == nil {
				return p
			}
		}
	}
	p, err := csmplan.LoadDefault()
	if err != nil {
		return nil
	}
	return p
}

// matching returns the candidates that start with prefix, sorted.
func matching(candidates []string, prefix string) []string {
	var out []string
	for _, c := range candidates {
		if strings.HasPrefix(c, prefix) {
			out = append(out, c)
		}
	}
	sort.Strings(out)
	return out
}

// completionScripts are the scripts of `csmplan completion SHELL`. Each
// asks the program that the command line runs (`csmplan __complete`)
// what completes the word, and completes file names when it says
// nothing.
var completionScripts = map[string]string{
	"bash": `# bash completion for csmplan: source <(csmplan completion bash)
_csmplan_complete() {
    local line="${COMP_LINE:0:COMP_POINT}"
    local -a words
    read -r -a words <<< "$line"
    if [[ -z "$line" || "$line" == *[[:space:]] ]]; then
        words+=("")
    fi
    local cur="${words[${#words[@]}-1]}"
    local IFS=$'\n'
    local -a cands
    cands=($("${words[0]}" __complete "${words[@]:1}" 2>/dev/null))
    COMPREPLY=()
    # bash splits words at '=' (COMP_WORDBREAKS): what it completes is
    # the part of cur after the last '='.
    local prefix=""
    if [[ "$cur" == *=* && "$COMP_WORDBREAKS" == *=* ]]; then
        prefix="${cur%=*}="
    fi
    local c
    for c in "${cands[@]}"; do
        [[ "$c" == "$cur"* ]] && COMPREPLY+=("${c#"$prefix"}")
    done
    if (( ${#COMPREPLY[@]} == 1 )) && [[ "${COMPREPLY[0]}" == *= ]]; then
        compopt -o nospace 2>/dev/null
    fi
}
complete -o default -F _csmplan_complete csmplan
`,
	"zsh": `#compdef csmplan
# zsh completion for csmplan: source <(csmplan completion zsh)
_csmplan() {
    local -a cands more
    cands=("${(@f)$(${words[1]} __complete "${(@)words[2,CURRENT]}" 2>/dev/null)}")
    cands=(${cands:#})
    if (( ${#cands} == 0 )); then
        _files
        return
    fi
    more=(${(M)cands:#*=})
    cands=(${cands:#*=})
    (( ${#more} )) && compadd -S '' -- "${more[@]}"
    (( ${#cands} )) && compadd -- "${cands[@]}"
}
if (( $+functions[compdef] )); then
    compdef _csmplan csmplan
fi
`,
	"fish": `# fish completion for csmplan: csmplan completion fish > ~/.config/fish/completions/csmplan.fish
function __csmplan_complete
    set -l tokens (commandline -opc) (commandline -ct)
    set -l out ($tokens[1] __complete $tokens[2..-1] 2>/dev/null)
    if test (count $out) -eq 0
        __fish_complete_path (commandline -ct)
    else
        printf '%s\n' $out
    end
end
complete -c csmplan -f -a '(__csmplan_complete)'
`,
}
