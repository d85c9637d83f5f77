package pipeline

// Tests of ChildJobFunc. The test binary is its own pipeline child: when
// the environment variable below is set, TestMain runs as exec-phases in
// the mode it names instead of running the tests.

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ecomopti/ecomopti/jobs"
	"github.com/ecomopti/ecomopti/store"
)

// childModeEnv selects the behaviour of the test binary as a child: run,
// fail, panic, crash, block or stubborn (blocks and ignores SIGTERM).
const childModeEnv = "ECOMOPTI_PIPELINE_TEST_CHILD"

// childPIDFile is written by the blocking modes into the run folder: the
// child's pid and the lowest niceness among its threads.
const childPIDFile = "child.pid"

func TestMain(m *testing.M) {
	if mode := os.Getenv(childModeEnv); mode != "" {
		os.Exit(testChildMain(mode))
	}
	os.Exit(m.Run())
}

func testChildMain(mode string) int {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	sample, err := os.ReadFile(filepath.Join("..", "..", "testdata", "telco_sample.csv"))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	switch mode {
	case "run":
	case "fail":
		runPhases = func(context.Context, Request, Config, Hooks, *slog.Logger) (*Metrics, error) {
			return nil, errors.New("phase 2 (survival): test failure")
		}
	case "panic":
		runPhases = func(context.Context, Request, Config, Hooks, *slog.Logger) (*Metrics, error) {
			panic("test panic")
		}
	case "crash":
		fmt.Println(`{"type":"progress","phase":1,"name":"prepare"}`)
		fmt.Fprintln(os.Stderr, "fatal error: test crash")
		return 7
	case "block", "stubborn":
		if mode == "stubborn" {
			stop()
			signal.Ignore(syscall.SIGTERM)
			ctx = context.Background()
		}
		runPhases = func(ctx context.Context, req Request, _ Config, hooks Hooks, _ *slog.Logger) (*Metrics, error) {
			hooks.Progress(PhasePrepare, PhaseNames[PhasePrepare], 0)
			line := fmt.Sprintf("%d %d\n", os.Getpid(), minThreadNice())
			if err := os.MkdirAll(req.RunDir, 0o755); err != nil {
				return nil, err
			}
			if err := os.WriteFile(filepath.Join(req.RunDir, childPIDFile), []byte(line), 0o644); err != nil {
				return nil, err
			}
			select {
			case <-ctx.Done():
				return nil, ctx.Err()
			case <-time.After(2 * time.Minute):
				return nil, errors.New("test child was not stopped within 2 minutes")
			}
		}
	default:
		fmt.Fprintln(os.Stderr, "unknown test child mode", mode)
		return 2
	}
	return ExecPhasesMain(ctx, os.Args[1:], sample, os.Stdout, os.Stderr)
}

// minThreadNice returns the lowest niceness among this process's threads,
// or -100 when /proc cannot be read.
func minThreadNice() int {
	tasks, err := filepath.Glob("/proc/self/task/*/stat")
	if err != nil || len(tasks) == 0 {
		return -100
	}
	lowest := 100
	for _, path := range tasks {
		data, err := os.ReadFile(path)
		if err != nil {
			continue
		}
		// Fields after the command name in parentheses start at field 3
		// (state); niceness is field 19.
		_, rest, ok := strings.Cut(string(data), ") ")
		fields := strings.Fields(rest)
		if !ok || len(fields) < 17 {
			continue
		}
		if n, err := strconv.Atoi(fields[16]); err == nil {
			lowest = min(lowest, n)
		}
	}
	return lowest
}

// childHarness is a store and a worker that runs jobs in test children.
type childHarness struct {
	dataDir string
	st      *store.Store
	worker  *jobs.Worker
	stop    context.CancelFunc
}

func newChildHarness(t *testing.T, mode string, grace time.Duration) *childHarness {
	t.Helper()
	t.Setenv(childModeEnv, mode)
	dataDir := t.TempDir()
	st, err := store.Open(filepath.Join(dataDir, store.FileName), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	input, err := filepath.Abs(filepath.Join("..", "..", "testdata", "telco_sample.csv"))
	if err != nil {
		t.Fatal(err)
	}
	run := ChildJobFunc(dataDir, ChildConfig{Executable: os.Args[0], Input: input, Nice: DefaultChildNice, Grace: grace}, st)
	w := jobs.NewWorker(st, run, jobs.WorkerConfig{DataDir: dataDir}, discard)
	ctx, cancel := context.WithCancel(context.Background())
	w.Start(ctx)
	h := &childHarness{dataDir: dataDir, st: st, worker: w, stop: cancel}
	t.Cleanup(func() {
		cancel()
		w.Wait()
		st.Close()
	})
	return h
}

func (h *childHarness) submit(t *testing.T) *jobs.Job {
	t.Helper()
	job, _, err := Submit(h.st, testParams, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	h.worker.Notify()
	return job
}

// waitJob polls the store until cond holds, for at most two minutes.
func (h *childHarness) waitJob(t *testing.T, id string, what string, cond func(*jobs.Job) bool) *jobs.Job {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		j, err := h.st.Job(id)
		if err != nil {
			t.Fatal(err)
		}
		if cond(j) {
			return j
		}
		if time.Now().After(deadline) {
			t.Fatalf("job %s not %s within 2 minutes: status %s, error %q", id, what, j.Status, j.Error)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func isFinal(j *jobs.Job) bool { return j.Status.Final() }

// waitChildPID waits for the pid file of a blocking child and returns the
// pid and the lowest niceness of its threads.
func (h *childHarness) waitChildPID(t *testing.T, job *jobs.Job) (pid, nice int) {
	t.Helper()
	path := filepath.Join(h.dataDir, job.RunDir, childPIDFile)
	deadline := time.Now().Add(time.Minute)
	for {
		data, err := os.ReadFile(path)
		if err == nil && strings.HasSuffix(string(data), "\n") {
			if _, err := fmt.Sscan(string(data), &pid, &nice); err != nil {
				t.Fatalf("pid file %q: %v", data, err)
			}
			return pid, nice
		}
		if time.Now().After(deadline) {
			j, _ := h.st.Job(job.ID)
			t.Fatalf("child of job %s wrote no pid file within a minute; job %+v", job.ID, j)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// checkProcessGone fails the test when pid is still a live process. The
// worker waits for its child, so the pid must be gone once the job ended.
func checkProcessGone(t *testing.T, pid int) {
	t.Helper()
	err := syscall.Kill(pid, 0)
	if !errors.Is(err, syscall.ESRCH) {
		t.Errorf("child pid %d still exists after the job ended (kill 0: %v)", pid, err)
	}
}

func TestChildJobCompletesOnSample(t *testing.T) {
	h := newChildHarness(t, "run", time.Second)
	job := h.waitJob(t, h.submit(t).ID, "final", isFinal)
	if job.Status != jobs.StatusCompleted {
		t.Fatalf("status %s, error %q, want completed", job.Status, job.Error)
	}
	if job.PhasesDone != PhaseOptimize {
		t.Errorf("phases done %d, want 4", job.PhasesDone)
	}
	if job.Progress != 1 {
		t.Errorf("progress %v, want 1", job.Progress)
	}
	arts, err := h.st.Artifacts(job.ID)
	if err != nil {
		t.Fatal(err)
	}
	perPhase := map[int]int{}
	for _, a := range arts {
		perPhase[a.Phase]++
		if err := Verify(h.dataDir, a); err != nil {
			t.Errorf("artifact does not verify: %v", err)
		}
	}
	for p := PhasePrepare; p <= PhaseOptimize; p++ {
		if perPhase[p] == 0 {
			t.Errorf("phase %d recorded no artifacts", p)
		}
	}
	m, err := ReadMetrics(filepath.Join(h.dataDir, job.RunDir))
	if err != nil {
		t.Fatalf("metrics.json: %v", err)
	}
	opt, _ := m["optimize"].(map[string]any)
	if selected, _ := opt["customers_selected"].(float64); selected < 1 {
		t.Errorf("metrics.json optimize = %v, want at least one selected customer", m["optimize"])
	}
	logText, err := os.ReadFile(jobs.LogPath(h.dataDir, job.ID))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"pipeline child started", "phase=3 name=uplift", "msg=\"job completed\""} {
		if !strings.Contains(string(logText), want) {
			t.Errorf("job log lacks %q:\n%s", want, logText)
		}
	}
}

func TestChildJobCancelStopsChild(t *testing.T) {
	h := newChildHarness(t, "block", 5*time.Second)
	job := h.submit(t)
	pid, nice := h.waitChildPID(t, job)
	if runtime.GOOS == "linux" && nice != DefaultChildNice {
		t.Errorf("lowest niceness among the child's threads %d, want %d", nice, DefaultChildNice)
	}
	if _, err := h.worker.Cancel(job.ID); err != nil {
		t.Fatal(err)
	}
	job = h.waitJob(t, job.ID, "final", isFinal)
	if job.Status != jobs.StatusCanceled {
		t.Errorf("status %s, error %q, want canceled", job.Status, job.Error)
	}
	checkProcessGone(t, pid)
}

func TestChildJobKillsStubbornChild(t *testing.T) {
	h := newChildHarness(t, "stubborn", 200*time.Millisecond)
	job := h.submit(t)
	pid, _ := h.waitChildPID(t, job)
	if _, err := h.worker.Cancel(job.ID); err != nil {
		t.Fatal(err)
	}
	job = h.waitJob(t, job.ID, "final", isFinal)
	if job.Status != jobs.StatusCanceled {
		t.Errorf("status %s, error %q, want canceled", job.Status, job.Error)
	}
	checkProcessGone(t, pid)
}

func TestChildJobShutdownInterrupts(t *testing.T) {
	h := newChildHarness(t, "block", 5*time.Second)
	job := h.submit(t)
	pid, _ := h.waitChildPID(t, job)
	h.stop()
	h.worker.Wait()
	j, err := h.st.Job(job.ID)
	if err != nil {
		t.Fatal(err)
	}
	if j.Status != jobs.StatusInterrupted {
		t.Errorf("status %s, error %q, want interrupted", j.Status, j.Error)
	}
	checkProcessGone(t, pid)
}

func TestChildJobFailures(t *testing.T) {
	cases := []struct {
		mode string
		want []string // substrings of the job error
	}{
		{"fail", []string{"phase 2 (survival): test failure"}},
		{"panic", []string{"internal error: test panic"}},
		{"crash", []string{"pipeline child process failed", "exit status 7", "fatal error: test crash"}},
	}
	for _, tc := range cases {
		t.Run(tc.mode, func(t *testing.T) {
			h := newChildHarness(t, tc.mode, time.Second)
			job := h.waitJob(t, h.submit(t).ID, "final", isFinal)
			if job.Status != jobs.StatusFailed {
				t.Fatalf("status %s, want failed", job.Status)
			}
			for _, w := range tc.want {
				if !strings.Contains(job.Error, w) {
					t.Errorf("job error %q lacks %q", job.Error, w)
				}
			}
		})
	}
}
