package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ecomopti/ecomopti/jobs"
	"github.com/ecomopti/ecomopti/phases/pipeline"
)

var (
	crashTrials = flag.Int("crash-trials", 20, "SIGKILL trials of TestCrashRecovery")
	crashSeed   = flag.Uint64("crash-seed", 20260304, "seed of the kill points and job counts of TestCrashRecovery")
)

// crashBudget bounds the whole of TestCrashRecovery, unless runs are so
// slow that 8 run times per trial exceed it. By estimate, a trial takes
// at most about five run times: up to 2.6 before the kill and 2 after the
// restart. On a 2-core VM, 20 trials with 2-second runs took 74 seconds.
const crashBudget = 8 * time.Minute

// TestCrashRecovery kills "serve" with SIGKILL at seeded random points
// while it runs one or two jobs, restarts it with --on-interrupt resume or
// mark (alternating), and checks after the kill and again after the
// restart: no job is lost, "ecomopti db check" passes, the latest-run
// pointer names a completed run whose artifacts verify, a job killed
// while running ends completed (resume, continuing after its last
// checkpointed phase) or interrupted (mark), and jobs that were queued run.
func TestCrashRecovery(t *testing.T) {
	ecomoptiBinary(t)
	start := time.Now()
	rng := rand.New(rand.NewPCG(*crashSeed, 1))
	cal := calibrateRun(t)
	t.Logf("one run on the built-in sample takes %v, phases %v; seed %d",
		cal.total.Round(time.Millisecond), cal.phases, *crashSeed)
	budget := max(crashBudget, time.Duration(*crashTrials)*8*cal.total)

	killedAt := map[string]int{}
	outcomes := map[string]int{}
	for trial := 0; trial < *crashTrials; trial++ {
		if time.Since(start) > budget {
			t.Fatalf("stopped after %d of %d trials: over the time budget of %v", trial, *crashTrials, budget)
		}
		mode := jobs.RescueResume
		if trial%2 == 1 {
			mode = jobs.RescueMark
		}
		nJobs := 1 + rng.IntN(2)
		delay := cal.killDelay(rng, nJobs)
		ok := t.Run(fmt.Sprintf("Trial%02d", trial), func(t *testing.T) {
			point, result := crashTrial(t, mode, nJobs, delay, trial)
			killedAt[point]++
			for _, r := range result {
				outcomes[r]++
			}
		})
		if !ok {
			break
		}
	}
	t.Logf("%d kill trials in %v", *crashTrials, time.Since(start).Round(time.Second))
	t.Logf("kill points: %s", formatCounts(killedAt))
	t.Logf("job outcomes: %s", formatCounts(outcomes))
}

// calibration holds the timing of one uninterrupted run.
type calibration struct {
	total  time.Duration    // from the submit request to completed
	phases [4]time.Duration // durations logged by the four phases
}

// phaseLine matches the job log line of a finished phase.
var phaseLine = regexp.MustCompile(`msg="phase finished" .*phase=(\d) name=\w+ duration_ms=(\d+)`)

// calibrateRun measures one uninterrupted run on the built-in sample and
// reads the phase durations from its log.
func calibrateRun(t *testing.T) calibration {
	t.Helper()
	dir := t.TempDir()
	c := startChild(t, dir)
	begin := time.Now()
	id := c.submit(999)
	j := c.waitJob(id, 5*time.Minute, "completed", func(j *jobs.Job) bool { return j.Status == jobs.StatusCompleted })
	cal := calibration{total: time.Since(begin)}
	if code, _ := c.terminate(30 * time.Second); code != 0 {
		t.Fatalf("calibration server exit code %d", code)
	}
	raw, err := os.ReadFile(filepath.Join(dir, j.LogFile))
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range phaseLine.FindAllStringSubmatch(string(raw), -1) {
		p, _ := strconv.Atoi(m[1])
		ms, _ := strconv.Atoi(m[2])
		cal.phases[p-1] = time.Duration(ms) * time.Millisecond
	}
	return cal
}

// killDelay draws the time from the last submit to the kill. One trial
// in ten kills at once and one in ten after every job should be done.
// The rest kill at a uniform point inside a phase drawn uniformly from the
// jobs and phases, so short phases are hit as often as long ones.
func (c calibration) killDelay(rng *rand.Rand, nJobs int) time.Duration {
	switch r := rng.Float64(); {
	case r < 0.1:
		return 0
	case r < 0.2:
		return time.Duration(1.3 * float64(nJobs) * float64(c.total))
	}
	// Offsets count from the last submit, although the first job starts
	// while the later ones are being submitted. Those requests take a few
	// milliseconds, so a kill drawn early in phase 1 may land later.
	var perJob time.Duration
	for _, d := range c.phases {
		perJob += d
	}
	job, phase := rng.IntN(nJobs), rng.IntN(4)
	at := time.Duration(job) * perJob
	for _, d := range c.phases[:phase] {
		at += d
	}
	return at + time.Duration(rng.Float64()*float64(c.phases[phase]))
}

// crashTrial runs one kill and restart, and returns where the kill landed
// and what became of each job.
func crashTrial(t *testing.T, mode jobs.RescueMode, nJobs int, delay time.Duration, trial int) (string, []string) {
	dir := t.TempDir()
	c := startChild(t, dir, "--on-interrupt", string(mode))
	var ids []string
	for k := 0; k < nJobs; k++ {
		ids = append(ids, c.submit(float64(1000+10*trial+k)))
	}
	time.Sleep(delay)
	c.kill()
	children := checkNoPipelineChild(t, c.stderr.String())

	// After the kill: nothing lost, nothing failed, the file checks.
	before := readSnapshot(t, dir)
	count := map[jobs.Status]int{}
	point := ""
	for _, id := range ids {
		j := before.jobs[id]
		if j == nil {
			t.Fatalf("job %s lost by the kill", id)
		}
		count[j.Status]++
		switch j.Status {
		case jobs.StatusRunning:
			point = fmt.Sprintf("job running phase %d with %d checkpointed", j.Phase, j.PhasesDone)
		case jobs.StatusQueued, jobs.StatusCompleted:
		default:
			t.Errorf("job %s is %s after the kill, want queued, running or completed", id, j.Status)
		}
	}
	switch {
	case count[jobs.StatusRunning] > 1:
		t.Errorf("%d jobs running with one worker", count[jobs.StatusRunning])
	case point != "":
	case count[jobs.StatusQueued] == len(ids):
		point = "before the first job started"
	case count[jobs.StatusCompleted] == len(ids):
		point = "after every job completed"
	default:
		point = "between two jobs"
	}
	checkLatestPointer(t, dir, before)
	dbCheck(t, dir)
	t.Logf("%s, %d jobs, killed after %v: %s; %d pipeline children gone", mode, nJobs, delay.Round(time.Millisecond), point, children)

	// Restart with the same mode and let every job settle.
	c = startChild(t, dir, "--on-interrupt", string(mode))
	for _, id := range ids {
		c.waitJob(id, 2*time.Minute, "settled", func(j *jobs.Job) bool {
			return j.Status.Final() || (mode == jobs.RescueMark && j.Status == jobs.StatusInterrupted)
		})
	}
	if code, _ := c.terminate(30 * time.Second); code != 0 {
		t.Errorf("restarted server exit code %d\nstderr:\n%s", code, c.stderr)
	}
	after := readSnapshot(t, dir)
	checkLatestPointer(t, dir, after)
	dbCheck(t, dir)

	var outcomes []string
	for _, id := range ids {
		outcomes = append(outcomes, checkJobAfterRestart(t, dir, mode, before, after, id))
	}
	return point, outcomes
}

// checkNoPipelineChild reads the pids of the pipeline children that a
// killed server logged and fails when one of them is still running 5 s
// after the kill. A zombie counts as gone, and so does a pid that the
// system reused for a process other than exec-phases. It returns the
// number of children checked.
func checkNoPipelineChild(t *testing.T, serverLog string) int {
	t.Helper()
	var pids []int
	for _, line := range strings.Split(serverLog, "\n") {
		var rec struct {
			Msg string `json:"msg"`
			PID int    `json:"child_pid"`
		}
		if json.Unmarshal([]byte(line), &rec) == nil && rec.Msg == "pipeline child started" {
			pids = append(pids, rec.PID)
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	for _, pid := range pids {
		for pipelineChildAlive(pid) {
			if time.Now().After(deadline) {
				t.Errorf("pipeline child %d still runs 5s after its server was killed", pid)
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	return len(pids)
}

// pipelineChildAlive reports whether pid is a live, non-zombie exec-phases
// process.
func pipelineChildAlive(pid int) bool {
	cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil || !strings.Contains(string(cmdline), execPhasesCommand) {
		return false
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	_, rest, _ := strings.Cut(string(stat), ") ")
	return !strings.HasPrefix(rest, "Z")
}

// checkJobAfterRestart checks one job against its state at the kill and
// returns a short description of what happened to it.
func checkJobAfterRestart(t *testing.T, dir string, mode jobs.RescueMode, before, after *snapshot, id string) string {
	t.Helper()
	was, now := before.jobs[id], after.jobs[id]
	if now == nil {
		t.Errorf("job %s lost after the restart", id)
		return "lost"
	}
	switch was.Status {
	case jobs.StatusCompleted:
		if now.Status != jobs.StatusCompleted || !now.FinishedAt.Equal(*was.FinishedAt) {
			t.Errorf("job %s completed before the kill, now %s finished %v", id, now.Status, now.FinishedAt)
		}
		checkCompletedRun(t, dir, after, id)
		return "completed before the kill"

	case jobs.StatusQueued:
		if now.Status != jobs.StatusCompleted || now.Attempts != 1 {
			t.Errorf("job %s queued at the kill is %s after %d attempts, want completed after 1", id, now.Status, now.Attempts)
		}
		checkCompletedRun(t, dir, after, id)
		return "queued, then completed"

	case jobs.StatusRunning:
		if mode == jobs.RescueMark {
			if now.Status != jobs.StatusInterrupted || now.Attempts != 1 {
				t.Errorf("job %s running at the kill is %s after %d attempts, want interrupted after 1", id, now.Status, now.Attempts)
			}
			if !slices.Equal(statusPath(now)[len(statusPath(now))-1:], []jobs.Status{jobs.StatusInterrupted}) {
				t.Errorf("job %s history %v", id, statusPath(now))
			}
			return "running, marked interrupted"
		}
		if now.Status != jobs.StatusCompleted || now.Attempts != 2 {
			t.Errorf("job %s running at the kill is %s after %d attempts, want completed after 2", id, now.Status, now.Attempts)
		}
		want := []jobs.Status{jobs.StatusRunning, jobs.StatusInterrupted, jobs.StatusQueued, jobs.StatusRunning, jobs.StatusCompleted}
		if path := statusPath(now); !slices.Equal(path[len(path)-min(len(path), 5):], want) {
			t.Errorf("job %s history %v, want it to end with %v", id, path, want)
		}
		checkCompletedRun(t, dir, after, id)
		checkResumedFromCheckpoint(t, dir, before, after, id)
		return "running, resumed and completed"
	}
	return "unexpected"
}

// checkResumedFromCheckpoint checks that a resumed job kept the artifacts
// of the phases it had checkpointed before the kill (the optimisation
// phase always runs again) and logged the phase it resumed at.
func checkResumedFromCheckpoint(t *testing.T, dir string, before, after *snapshot, id string) {
	t.Helper()
	done := before.jobs[id].PhasesDone
	if done == 0 {
		return
	}
	kept := min(done, pipeline.PhaseOptimize-1)
	recorded := func(s *snapshot) map[string]jobs.Artifact {
		out := map[string]jobs.Artifact{}
		for _, a := range s.artifacts[id] {
			if a.Phase <= kept {
				out[a.Path] = a
			}
		}
		return out
	}
	was, now := recorded(before), recorded(after)
	if len(was) == 0 || len(was) != len(now) {
		t.Errorf("job %s: %d artifacts of phases 1-%d before the kill, %d after", id, len(was), kept, len(now))
	}
	for path, a := range was {
		b, ok := now[path]
		if !ok || b.SHA256 != a.SHA256 || !b.CreatedAt.Equal(a.CreatedAt) {
			t.Errorf("job %s: checkpointed artifact %s was written again on resume", id, path)
		}
	}
	raw, err := os.ReadFile(filepath.Join(dir, before.jobs[id].LogFile))
	if err != nil {
		t.Fatal(err)
	}
	if want := fmt.Sprintf("start_phase=%d", min(done+1, pipeline.PhaseOptimize)); !strings.Contains(string(raw), want) {
		t.Errorf("job %s log does not show a resume with %s", id, want)
	}
}

func formatCounts(m map[string]int) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s: %d", k, m[k]))
	}
	return strings.Join(parts, "; ")
}

// TestSIGTERMInterruptsRunningJob stops "serve" with SIGTERM during a run:
// the process exits 0 within its shutdown timeout, the job ends
// interrupted with the reason, and the file checks.
func TestSIGTERMInterruptsRunningJob(t *testing.T) {
	input := writeLargeInput(t, 10000)
	dir := t.TempDir()
	const grace = 5 * time.Second
	c := startChild(t, dir, "--input", input, "--shutdown-timeout", grace.String())
	id := c.submit(2500)
	// Phase 3 is the longest, so the job is still running when the signal lands.
	c.waitJob(id, 2*time.Minute, "running phase 3", runningAtPhase(pipeline.PhaseUplift))

	code, took := c.terminate(grace + 10*time.Second)
	if code != 0 {
		t.Errorf("exit code %d after SIGTERM, want 0\nstderr:\n%s", code, c.stderr)
	}
	// The grace period bounds the stop; process start-up and exit add
	// little, so one extra second is enough slack.
	if took > grace+time.Second {
		t.Errorf("exit took %v, over the shutdown timeout %v", took, grace)
	}
	if !strings.Contains(c.stderr.String(), "server stopped") {
		t.Errorf("log lacks the stop line:\n%s", c.stderr)
	}

	s := readSnapshot(t, dir)
	j := s.jobs[id]
	if j.Status != jobs.StatusInterrupted {
		t.Fatalf("job is %s after SIGTERM, want interrupted", j.Status)
	}
	last := j.Transitions[len(j.Transitions)-1]
	if last.From != jobs.StatusRunning || !strings.Contains(last.Reason, "server stopped") {
		t.Errorf("last transition %+v", last)
	}
	if j.PhasesDone < pipeline.PhaseSurvival {
		t.Errorf("phases_done %d, want the first two phases checkpointed", j.PhasesDone)
	}
	dbCheck(t, dir)
}
