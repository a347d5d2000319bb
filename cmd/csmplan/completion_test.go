package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"strings"
	"testing"
)

func TestVersion(t *testing.T) {
	t.Parallel()
	r := cli(t, t.TempDir(), "version")
	r.want(t, exitOK, "stdout", "csmplan ", "(github.com/csmplan/csmplan)\n", "built with go1.")
	cli(t, t.TempDir(), "version", "x").want(t, exitUsage, "stderr", `unexpected argument "x"`)
	info := &debug.BuildInfo{GoVersion: "go1.99", Main: debug.Module{Path: "github.com/csmplan/csmplan", Version: "v1.2.3"},
		Settings: []debug.BuildSetting{{Key: "vcs.revision", Value: "abc123"}, {Key: "vcs.time", Value: "2026-12-01T10:00:00Z"}, {Key: "vcs.modified", Value: "true"}}}
	got := strings.Join(versionLines(info), "\n")
	want := "csmplan v1.2.3 (github.com/csmplan/csmplan)\ncommit abc123 (2026-12-01T10:00:00Z), with uncommitted changes\nbuilt with go1.99"
	if got != want {
		t.Errorf("versionLines = %q, want %q", got, want)
	}
}

// __complete, which the scripts call, completes commands, flags, param
// names and values, fault names and step ids, and says nothing where a
// file fits.
func TestComplete(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	writeFile(t, dir, "book.yaml", "apiVersion: csmplan/v1\nkind: Runbook\nname: b\nparams:\n  zone: {type: string, enum: [east, west]}\nsteps:\n  - id: first\n    action: log\n    with: {message: x}\n  - id: fine\n    action: log\n    with: {message: y}\n")
	for _, tc := range []struct {
		words []string
		want  string
	}{
		{[]string{"pl"}, "plan\n"},
		{[]string{""}, "actions\ncompletion\ndoc\nhelp\ninit\nplan\nreport\nrun\nschema\nsim\nstatus\nvalidate\nversion\n"},
		{[]string{"help", "ver"}, "version\n"},
		{[]string{"run", "--fa"}, "--fault\n"},
		{[]string{"run", "-j"}, "-journal\n-journal-dir\n-json\n"},
		{[]string{"run", "--fault", "installer-f"}, "installer-fails\n"},
		{[]string{"run", "--fault=installer-f"}, "--fault=installer-fails\n"},
		{[]string{"plan", "-p", "maintain"}, "maintain_dr=\n"},
		{[]string{"plan", "-p", "maintain_dr="}, "maintain_dr=false\nmaintain_dr=true\n"},
		{[]string{"doc", "-p", "pass"}, "password=\n"},
		{[]string{"run", "book.yaml", "-p", "zone=w"}, "zone=west\n"},
		{[]string{"run", "-p", "zone=e", "book.yaml", "-p", "zo"}, "zone=\n"},
		{[]string{"run", "--json", "book.yaml", "-p", ""}, "zone=\n"},
		{[]string{"completion", "z"}, "zsh\n"},
		{[]string{"run", "--from", "upgrade-p"}, "upgrade-primary\n"},
		{[]string{"plan", "book.yaml", "--only", "first,fi"}, "first,fine\nfirst,first\n"},
		{[]string{"plan", "--only=back"}, "--only=backup\n--only=backup-secondary\n"},
		{[]string{"actions", "csm.take"}, "csm.takeover\n"},
		{[]string{"run", "--params", ""}, ""},
		{[]string{"run", ""}, ""},
		{[]string{"run", "--json", "x"}, ""},
		{[]string{"nope", ""}, ""},
	} {
		r := cli(t, dir, append([]string{"__complete"}, tc.words...)...)
		if r.code != exitOK || r.stdout != tc.want {
			t.Errorf("__complete %q: got %q, want %q; %v", tc.words, r.stdout, tc.want, r)
		}
	}
	// Step ids for the flags that take one, when the command has them.
	steps := flagValues("from", "fi", "", []string{"run", filepath.Join(dir, "book.yaml"), "--from", "fi"}, nil)
	if strings.Join(steps, " ") != "fine first" {
		t.Errorf("step ids: %q", steps)
	}
}

func TestCompletionScripts(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for _, sh := range []string{"bash", "zsh", "fish"} {
		r := cli(t, dir, "completion", sh)
		r.want(t, exitOK, "stdout", "__complete")
		file := writeFile(t, dir, "csmplan."+sh, r.stdout)
		path, err := exec.LookPath(sh)
		if err != nil {
			t.Logf("%s is not installed: its script is not checked for syntax", sh)
			continue
		}
		if out, err := exec.Command(path, "-n", file).CombinedOutput(); err != nil {
			t.Errorf("%s -n: %v\n%s", sh, err, out)
		}
	}
	cli(t, dir, "completion", "tcsh").want(t, exitUsage, "stderr", `unknown shell "tcsh"`)
	cli(t, dir, "completion").want(t, exitUsage, "stderr", "want one shell")
}

// The bash script, sourced in a real bash, registers itself and completes
// a command line through the binary.
func TestBashCompletion(t *testing.T) {
	t.Parallel()
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("bash is not installed")
	}
	dir := t.TempDir()
	script := cli(t, dir, "completion", "bash").stdout
	writeFile(t, dir, "csmplan.bash", script)
	driver := `source ./csmplan.bash
complete -p csmplan
try() {
    COMP_LINE="$1"; COMP_POINT=${#COMP_LINE}
    read -r -a COMP_WORDS <<< "$COMP_LINE"
    [[ "$COMP_LINE" == *" " ]] && COMP_WORDS+=("")
    COMP_CWORD=$(( ${#COMP_WORDS[@]} - 1 ))
    COMPREPLY=()
    _csmplan_complete
    echo "$1 => ${COMPREPLY[*]}"
}
try "csmplan pl"
try "csmplan run --fault installer-f"
try "csmplan plan -p maintain_dr="
try "csmplan plan -p pass"
try "csmplan completion "
`
	writeFile(t, dir, "driver.bash", driver)
	cmd := exec.Command(bash, "--norc", "--noprofile", "driver.bash")
	cmd.Dir = dir
	cmd.Env = append(testEnv(), "PATH="+filepath.Dir(binPath)+string(os.PathListSeparator)+os.Getenv("PATH"))
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("bash: %v\n%s", err, out)
	}
	for _, want := range []string{
		"complete -o default -F _csmplan_complete csmplan\n",
		"csmplan pl => plan\n",
		"csmplan run --fault installer-f => installer-fails\n",
		"csmplan plan -p maintain_dr= => false true\n", // bash completes after the '='
		"csmplan plan -p pass => password=\n",
		"csmplan completion  => bash fish zsh\n",
	} {
		if !strings.Contains(string(out), want) {
			t.Errorf("bash completion: no %q in\n%s", want, out)
		}
	}
}

// The fish script, in a real fish when one is installed, completes through
// the binary, and file names where the binary says nothing.
func TestFishCompletion(t *testing.T) {
	t.Parallel()
	fish, err := exec.LookPath("fish")
	if err != nil {
		t.Skip("fish is not installed")
	}
	dir := t.TempDir()
	writeFile(t, dir, "csmplan.fish", cli(t, dir, "completion", "fish").stdout)
	writeFile(t, dir, "change.yaml", "")
	cmd := exec.Command(fish, "--no-config", "-c", `source csmplan.fish
complete -C "csmplan pl"
complete -C "csmplan plan -p maintain_dr="
complete -C "csmplan run --params chan"`)
	cmd.Dir = dir
	cmd.Env = append(testEnv(), "PATH="+filepath.Dir(binPath)+string(os.PathListSeparator)+os.Getenv("PATH"))
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("fish: %v\n%s", err, out)
	}
	if want := "plan\nmaintain_dr=false\nmaintain_dr=true\nchange.yaml\n"; string(out) != want {
		t.Errorf("fish completions %q, want %q", out, want)
	}
}

// doc with the params of a change shows its values in place of the
// references, never a secret.
func TestDocValues(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	r := cliEnv(t, dir, []string{"CSMPLAN_PARAM_PASSWORD=topsecret-pw"}, "doc", "-p", "primary=csm1.example.com", "-p", "installer=/opt/setup.bin")
	r.want(t, exitOK, "stdout",
		"## Values of this change\n",
		"| `primary` | `csm1.example.com` |\n",
		"| `password` | (secret, given) |\n",
		"| `target_version` | (not given) |\n",
		"| `install_timeout` | `90m` |\n",
		"- **primary**: ca_file ``, fingerprint ``, host `csm1.example.com`, password `${params.password}`",
		"with argv `[\"/opt/setup.bin\"]`, manager `secondary`",
		"version `${params.target_version}`",
		"| `primary` | string | **required** |") // the list of params is the runbook's
	if strings.Contains(r.stdout, "topsecret") {
		t.Error("doc shows the secret")
	}
	writeFile(t, dir, "change.yaml", "primary: csm1\nmaintain_dr: maybe\n")
	cli(t, dir, "doc", "--params", "change.yaml").want(t, exitUsage, "stderr", "change.yaml:2:14: param maintain_dr: \"maybe\" is not a boolean")
	plain := cli(t, dir, "doc")
	if strings.Contains(plain.stdout, "Values of this change") || !strings.Contains(plain.stdout, "host `${params.primary}`") {
		t.Error("doc without params shows values")
	}
}
