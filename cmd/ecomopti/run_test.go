package main

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ecomopti/ecomopti/jobs"
	"github.com/ecomopti/ecomopti/phases/pipeline"
	"github.com/ecomopti/ecomopti/store"
)

var samplePath = filepath.Join("..", "..", "testdata", "telco_sample.csv")

// runMain calls Main and returns the exit code and both outputs.
func runMain(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := Main(context.Background(), args, env(nil), &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

func TestRunUsageErrors(t *testing.T) {
	dir := t.TempDir()
	cases := []struct {
		name string
		args []string
		code int
		msg  string
	}{
		{"MissingSplit", []string{"run", "--data-dir", dir}, exitUsage, "--split is required"},
		{"BadSplit", []string{"run", "--split", "dev"}, exitUsage, `invalid --split "dev"`},
		{"BadModel", []string{"run", "--split", "test", "--model", "t_learner"}, exitUsage, `invalid --model "t_learner"`},
		{"ZeroBudget", []string{"run", "--split", "test", "--budget", "0"}, exitUsage, "invalid --budget 0"},
		{"NaNBudget", []string{"run", "--split", "test", "--budget", "NaN"}, exitUsage, "invalid --budget NaN"},
		{"HugeBudget", []string{"run", "--split", "test", "--budget", "2e9"}, exitUsage, "at most 1000000000"},
		{"BadProgress", []string{"run", "--split", "test", "--progress", "fancy"}, exitUsage, `invalid --progress "fancy"`},
		{"ExtraArgument", []string{"run", "--split", "test", "now"}, exitUsage, "takes no arguments"},
		{"UnknownFlag", []string{"run", "--splt", "test"}, exitUsage, "splt"},
		{"MissingInput", []string{"run", "--split", "test", "--data-dir", dir, "--input", filepath.Join(dir, "none.csv")}, exitFailure, "none.csv"},
		{"Help", []string{"run", "-h"}, exitOK, "campaign budget in dollars"},
		{"OptimizeMissingSplit", []string{"optimize", "--data-dir", dir}, exitUsage, "--split is required"},
		{"OptimizeBadTimeout", []string{"optimize", "--split", "test", "--timeout", "0s"}, exitUsage, "invalid --timeout"},
		{"OptimizeHelp", []string{"optimize", "--help"}, exitOK, "latest completed pipeline run"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := runMain(t, tc.args...)
			if code != tc.code {
				t.Errorf("exit code %d, want %d; stderr %q", code, tc.code, stderr)
			}
			if !strings.Contains(stdout+stderr, tc.msg) {
				t.Errorf("output lacks %q:\n%s%s", tc.msg, stdout, stderr)
			}
		})
	}
}

func TestRunHelpNamesDefaultsAndUnits(t *testing.T) {
	for _, cmd := range []string{"run", "optimize"} {
		_, _, stderr := runMain(t, cmd, "-h")
		for _, want := range []string{"(default 7500)", "dollars", `(default "ensemble")`, "ECOMOPTI_DATA_DIR"} {
			if !strings.Contains(stderr, want) {
				t.Errorf("%s -h lacks %q:\n%s", cmd, want, stderr)
			}
		}
	}
}

// TestRunThenOptimize runs the pipeline on the sample from the command
// line, checks the job is in the store's history, and plans a campaign on
// it with "optimize".
func TestRunThenOptimize(t *testing.T) {
	dir := t.TempDir()

	// A job a stopped server left queued must stay queued for the server.
	st, err := store.Open(filepath.Join(dir, store.FileName), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	other, _, err := pipeline.Submit(st, jobs.Params{Split: "val", Model: "ensemble", Budget: 10}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	st.Close()

	code, stdout, stderr := runMain(t, "run", "--data-dir", dir, "--input", samplePath,
		"--split", "test", "--budget", "1500", "--progress", "plain", "--log-level", "warn")
	if code != exitOK {
		t.Fatalf("run exit code %d; stderr:\n%s", code, stderr)
	}
	for _, want := range []string{
		"phase 1/4 prepare finished", "phase 2/4 survival finished", "phase 3/4 uplift finished",
		"phase 4/4 optimize finished", "completed in", "customers selected", "net value", "_crm_export.csv",
	} {
		if !strings.Contains(stdout, want) {
			t.Errorf("run output lacks %q:\n%s", want, stdout)
		}
	}

	st, err = store.Open(filepath.Join(dir, store.FileName), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	latest, err := st.Latest()
	if err != nil {
		t.Fatalf("no latest run after 'run': %v", err)
	}
	if latest.Status != jobs.StatusCompleted || latest.Params.Budget != 1500 || latest.Params.Split != "test" {
		t.Errorf("latest job = %s %+v", latest.Status, latest.Params)
	}
	left, err := st.Job(other.ID)
	if err != nil {
		t.Fatal(err)
	}
	if left.Status != jobs.StatusQueued {
		t.Errorf("the other queued job is %s, want it left queued", left.Status)
	}
	st.Close()

	code, stdout, stderr = runMain(t, "optimize", "--data-dir", dir, "--split", "val", "--budget", "500")
	if code != exitOK {
		t.Fatalf("optimize exit code %d; stderr:\n%s", code, stderr)
	}
	if !strings.Contains(stdout, "run "+latest.ID) || !strings.Contains(stdout, "customers selected") {
		t.Errorf("optimize output:\n%s", stdout)
	}

	code, stdout, stderr = runMain(t, "optimize", "--data-dir", dir, "--split", "val", "--budget", "500", "--json")
	if code != exitOK {
		t.Fatalf("optimize --json exit code %d; stderr:\n%s", code, stderr)
	}
	var res struct {
		Status  string `json:"status"`
		RunID   string `json:"run_id"`
		Metrics struct {
			CustomersSelected int     `json:"customers_selected"`
			TotalCost         float64 `json:"total_cost"`
		} `json:"metrics"`
	}
	if err := json.Unmarshal([]byte(stdout), &res); err != nil {
		t.Fatalf("optimize --json output is not JSON: %v\n%s", err, stdout)
	}
	if res.Status != "complete" || res.RunID != latest.ID || res.Metrics.CustomersSelected == 0 {
		t.Errorf("optimize --json = %+v", res)
	}
	if res.Metrics.TotalCost > 500 {
		t.Errorf("total cost %v exceeds the $500 budget", res.Metrics.TotalCost)
	}
}

func TestRunBarProgress(t *testing.T) {
	dir := t.TempDir()
	code, _, stderr := runMain(t, "run", "--data-dir", dir, "--input", samplePath, "--split", "val", "--progress", "bar")
	if code != exitOK {
		t.Fatalf("exit code %d; stderr:\n%s", code, stderr)
	}
	for p, name := range []string{"prepare", "survival", "uplift", "optimize"} {
		want := "phase " + string(rune('1'+p)) + "/4 " + name
		if !strings.Contains(stderr, want) || !strings.Contains(stderr, "done in") {
			t.Errorf("bar output lacks %q ... done in:\n%q", want, stderr)
		}
	}
	if strings.Contains(stderr, `"level":"INFO"`) {
		t.Errorf("info log lines mixed into the bars:\n%s", stderr)
	}
}

func TestRunFailsFastWhenServerHoldsStore(t *testing.T) {
	dir := t.TempDir()
	_, stop := startServe(t, dir)
	defer stop()
	for _, args := range [][]string{
		{"run", "--data-dir", dir, "--split", "test", "--progress", "none"},
		{"optimize", "--data-dir", dir, "--split", "test"},
	} {
		start := time.Now()
		code, _, stderr := runMain(t, args...)
		if code != exitFailure {
			t.Errorf("%s exit code %d, want %d", args[0], code, exitFailure)
		}
		if !strings.Contains(stderr, "locked by another process") {
			t.Errorf("%s message %q does not say the file is locked", args[0], stderr)
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("%s took %v to fail", args[0], d)
		}
	}
}

func TestOptimizeWithoutRun(t *testing.T) {
	dir := t.TempDir()
	code, _, stderr := runMain(t, "optimize", "--data-dir", dir, "--split", "test")
	if code != exitFailure {
		t.Errorf("exit code %d, want %d", code, exitFailure)
	}
	if !strings.Contains(stderr, "no completed pipeline run") || !strings.Contains(stderr, "ecomopti run") {
		t.Errorf("message %q does not say to run the pipeline first", stderr)
	}
}
