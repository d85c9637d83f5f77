package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/ecomopti/ecomopti/jobs"
)

// tableTime is the time layout of the db tables, always in UTC.
const tableTime = "2006-01-02 15:04:05"

// runDBJobs prints the jobs, newest first, as a table or as JSON lines.
func runDBJobs(args []string, getenv func(string) string, stdout, stderr io.Writer) (err error) {
	fs, df := newDBFlagSet("jobs", "Usage: ecomopti db jobs [flags]\n\nPrint the jobs, newest first. '*' marks the latest completed run.", getenv, stderr)
	status := fs.String("status", "", "only jobs with this status: queued, running, completed, failed, canceled or interrupted")
	limit := fs.Int("limit", 0, "print at most this many jobs; 0 prints all")
	asJSON := fs.Bool("json", false, "print one JSON job record a line instead of a table")
	rest, err := parseDBFlags(fs, args)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return usagef("db jobs takes no arguments, got %q", rest)
	}
	if *status != "" && !jobs.Status(*status).Valid() {
		return usagef("invalid --status %q: use one of %v", *status, jobs.Statuses)
	}
	if *limit < 0 {
		return usagef("invalid --limit %d: use 0 for all or a positive number", *limit)
	}

	st, err := df.open()
	if err != nil {
		return err
	}
	defer closeStore(st, &err)
	list, err := st.Jobs(jobs.JobFilter{Status: jobs.Status(*status), Limit: *limit})
	if err != nil {
		return fmt.Errorf("list jobs: %w", err)
	}
	latestID := ""
	if latest, err := st.Latest(); err == nil {
		latestID = latest.ID
	} else if !errors.Is(err, jobs.ErrNoCompletedRun) {
		return fmt.Errorf("read latest run: %w", err)
	}

	if *asJSON {
		enc := json.NewEncoder(stdout)
		for _, j := range list {
			if err := enc.Encode(j); err != nil {
				return err
			}
		}
		return nil
	}
	return writeJobTable(stdout, list, latestID)
}

func writeJobTable(w io.Writer, list []*jobs.Job, latestID string) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tSTATUS\tPHASE\tPROGRESS\tATTEMPTS\tCREATED (UTC)\tFINISHED (UTC)\tSPLIT\tMODEL\tBUDGET\tERROR")
	for _, j := range list {
		id := j.ID
		if id == latestID {
			id += " *"
		}
		phase := "-"
		if j.Phase > 0 {
			phase = strconv.Itoa(j.Phase) + " " + j.PhaseName
		}
		errText := oneLine(j.Error)
		if r := []rune(errText); len(r) > 60 {
			errText = string(r[:57]) + "..."
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%.0f%%\t%d\t%s\t%s\t%s\t%s\t%.2f\t%s\n",
			id, j.Status, phase, 100*j.Progress, j.Attempts, formatTime(&j.CreatedAt), formatTime(j.FinishedAt),
			j.Params.Split, j.Params.Model, j.Params.Budget, errText)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err := fmt.Fprintf(w, "%d jobs\n", len(list))
	return err
}

// formatTime formats t in UTC for a table, "-" when unset.
func formatTime(t *time.Time) string {
	if t == nil || t.IsZero() {
		return "-"
	}
	return t.UTC().Format(tableTime)
}
