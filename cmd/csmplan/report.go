package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/csmplan/csmplan/runner"
	"github.com/csmplan/csmplan/runner/record"
)

// reportFlags are run's flags for the change record.
type reportFlags struct {
	file   string
	format string
}

func (f *reportFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.file, "report", "", "write the change record of the run to `FILE` at its end: Markdown (.md), JSON (.json)\nor a self-contained HTML page (.html); 'csmplan report JOURNAL' renders the same record later")
	fs.StringVar(&f.format, "report-format", "", "the format of --report: md, json or html (default: from the file's extension)")
}

// reportFormat returns the format --report writes.
func (f *reportFlags) reportFormat() (record.Format, error) {
	if f.format != "" {
		return record.ParseFormat(f.format)
	}
	if fm, ok := record.FormatOf(f.file); ok {
		return fm, nil
	}
	return "", fmt.Errorf("--report %s: give a file ending .md, .json or .html, or --report-format", f.file)
}

// checkReport checks the --report flags of a run.
func checkReport(f *runFlags) error {
	if f.report.file == "" {
		if f.report.format != "" {
			return errors.New("--report-format needs --report FILE")
		}
		return nil
	}
	if f.dryRun {
		return errors.New("--report records a run: a dry run changes nothing and has no record")
	}
	_, err := f.report.reportFormat()
	return err
}

// prepareReport, when the run has --report and no --journal, makes the
// temporary journal that the record is built from. It returns the path
// of the journal to use and a function that removes the temporary one.
func prepareReport(f *runFlags) (string, func(), error) {
	none := func() {}
	if f.report.file == "" || f.journal != "" {
		return f.journal, none, nil
	}
	dir, err := os.MkdirTemp("", "csmplan-record-")
	if err != nil {
		return "", none, fmt.Errorf("--report: %w", err)
	}
	return filepath.Join(dir, "journal.jsonl"), func() { os.RemoveAll(dir) }, nil
}

// finishReport notes the simulator's verdict in the run's journal (when
// simulated), closes the journal and writes the change record from it,
// saying so on out (where the run's progress goes).
// It returns false when the record could not be written.
func finishReport(e *env, out io.Writer, f *runFlags, j *runner.Journal, sim *simulation, completed bool) bool {
	if j == nil {
		return true
	}
	ok := true
	if sim != nil {
		if err := j.Note("simulation", sim.summary(completed)); err != nil {
			printf(e.stderr, "csmplan run: %v\n", err)
			ok = false
		}
	}
	path := j.Path()
	if err := j.Close(); err != nil {
		printf(e.stderr, "csmplan run: %v\n", err)
		ok = false
	}
	if f.report.file == "" {
		return ok
	}
	format, _ := f.report.reportFormat() // checked by prepareReport
	rec, err := record.Read(path)
	if err == nil {
		err = writeRecord(f.report.file, rec, format)
	}
	if err != nil {
		printf(e.stderr, "csmplan run: --report: %v\n", err)
		return false
	}
	printf(out, "change record written to %s\n", f.report.file)
	return ok
}

// writeRecord writes the record to the file, mode 0600 (it names hosts,
// users and files).
func writeRecord(name string, rec *record.Record, format record.Format) error {
	var buf bytes.Buffer
	if err := rec.Write(&buf, format); err != nil {
		return err
	}
	return os.WriteFile(name, buf.Bytes(), 0o600)
}

func cmdReport(_ context.Context, e *env, args []string) int {
	fs := newFlags(e, "report", "JOURNAL", "Render the change record of the run a journal recorded (resumes included):\nstart and end, who ran it and where, the runbook's name and sha256, the\nparams (secrets redacted), the versions before and after, the backups with\ntheir sha256, each step's outcome, evidence and duration, and the\nsimulator's verdict when simulated. The same record as 'run --report'.")
	format := fs.String("format", "", "`md` (Markdown, for a change ticket), json or html (one self-contained page\nwith a timeline); default: from -o's extension, else md")
	out := fs.String("o", "", "write the record to `FILE` instead of standard output")
	rest, code, ok := parse(e, fs, args)
	if !ok {
		return code
	}
	if len(rest) != 1 {
		printf(e.stderr, "csmplan report: want one journal file\n")
		fs.Usage()
		return exitUsage
	}
	f := record.Markdown
	switch {
	case *format != "":
		var err error
		if f, err = record.ParseFormat(*format); err != nil {
			printf(e.stderr, "csmplan report: --format: %v\n", err)
			return exitUsage
		}
	case *out != "":
		if fm, ok := record.FormatOf(*out); ok {
			f = fm
		}
	}
	rec, err := record.Read(rest[0])
	if err != nil {
		printf(e.stderr, "csmplan report: %v\n", err)
		return exitFailed
	}
	if *out != "" {
		if err := writeRecord(*out, rec, f); err != nil {
			printf(e.stderr, "csmplan report: %v\n", err)
			return exitFailed
		}
		return exitOK
	}
	var buf bytes.Buffer
	if err := rec.Write(&buf, f); err != nil {
		printf(e.stderr, "csmplan report: %v\n", err)
		return exitFailed
	}
	if f == record.JSON {
		writeJSON(e.stdout, buf.Bytes())
	} else {
		printf(e.stdout, "%s", block(buf.String()))
	}
	return exitOK
}
