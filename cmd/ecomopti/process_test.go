package main

// Helpers for the tests that run the real binary as a child process: the
// build, starting and stopping "serve", HTTP calls to it, and reading its
// database while it is stopped. Every request goes to 127.0.0.1, and every
// wait has a deadline.

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ecomopti/ecomopti/internal/samplegen"
	"github.com/ecomopti/ecomopti/jobs"
	"github.com/ecomopti/ecomopti/phases/pipeline"
	"github.com/ecomopti/ecomopti/store"
)

var (
	buildOnce sync.Once
	binDir    string // removed by TestMain
	binPath   string
	buildErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// ecomoptiBinary builds the command once per test run and returns its
// path. Tests that need it skip under -short.
func ecomoptiBinary(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("runs the real binary as a child process; skipped with -short")
	}
	buildOnce.Do(func() {
		binDir, buildErr = os.MkdirTemp("", "ecomopti-bin-")
		if buildErr != nil {
			return
		}
		binPath = filepath.Join(binDir, "ecomopti")
		goTool, err := exec.LookPath("go")
		if err != nil {
			goTool = filepath.Join(runtime.GOROOT(), "bin", "go")
		}
		cmd := exec.Command(goTool, "build", "-o", binPath, ".")
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

// childEnv is the environment of child processes: the test's own, minus
// every setting "serve" reads, so flags alone decide.
func childEnv() []string {
	var out []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "ECOMOPTI_") || strings.HasPrefix(kv, "API_") || strings.HasPrefix(kv, "LOG_LEVEL=") {
			continue
		}
		out = append(out, kv)
	}
	return append(out, "LOG_LEVEL=info")
}

// lockedBuffer collects a child's output for failure messages.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// child is a running "ecomopti serve" process.
type child struct {
	t       *testing.T
	cmd     *exec.Cmd
	url     string
	dataDir string
	stderr  *lockedBuffer
	done    chan struct{} // closed when the process has exited
	waitErr error
}

// startChild starts "serve" on a free port of 127.0.0.1 with dataDir and
// the extra flags, and waits for its "listening on" line.
func startChild(t *testing.T, dataDir string, extra ...string) *child {
	t.Helper()
	args := append([]string{"serve", "--host", "127.0.0.1", "--port", "0", "--data-dir", dataDir}, extra...)
	cmd := exec.Command(ecomoptiBinary(t), args...)
	cmd.Env = childEnv()
	c := &child{t: t, cmd: cmd, dataDir: dataDir, stderr: &lockedBuffer{}, done: make(chan struct{})}
	cmd.Stderr = c.stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		c.waitErr = cmd.Wait()
		close(c.done)
	}()
	t.Cleanup(func() {
		select {
		case <-c.done:
		default:
			cmd.Process.Kill()
			<-c.done
		}
	})

	lines := make(chan string, 1)
	go func() {
		r := bufio.NewReader(stdout)
		line, _ := r.ReadString('\n')
		lines <- line
		io.Copy(io.Discard, r)
	}()
	select {
	case line := <-lines:
		url, ok := strings.CutPrefix(strings.TrimSpace(line), "listening on ")
		if !ok || !strings.HasPrefix(url, "http://127.0.0.1:") {
			t.Fatalf("serve printed %q, want a listening line on 127.0.0.1\nstderr:\n%s", line, c.stderr)
		}
		c.url = url
	case <-time.After(30 * time.Second):
		t.Fatalf("serve did not print its address within 30s\nstderr:\n%s", c.stderr)
	}
	return c
}

// kill sends SIGKILL and waits for the process to exit.
func (c *child) kill() {
	c.t.Helper()
	if err := c.cmd.Process.Signal(syscall.SIGKILL); err != nil && !errors.Is(err, os.ErrProcessDone) {
		c.t.Fatal(err)
	}
	select {
	case <-c.done:
	case <-time.After(30 * time.Second):
		c.t.Fatal("process did not exit after SIGKILL")
	}
}

// terminate sends SIGTERM and returns the exit code and the time the
// process took to exit. It fails the test when the process outlives limit.
func (c *child) terminate(limit time.Duration) (int, time.Duration) {
	c.t.Helper()
	start := time.Now()
	if err := c.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		c.t.Fatal(err)
	}
	select {
	case <-c.done:
	case <-time.After(limit):
		c.t.Fatalf("process still running %v after SIGTERM\nstderr:\n%s", limit, c.stderr)
	}
	return c.cmd.ProcessState.ExitCode(), time.Since(start)
}

// httpClient bounds every request to the child.
var httpClient = &http.Client{Timeout: 15 * time.Second}

// call sends a request to the child, decodes the JSON response into out
// (when non-nil) and returns the status code.
func (c *child) call(method, path, body string, out any) int {
	c.t.Helper()
	req, err := http.NewRequest(method, c.url+path, strings.NewReader(body))
	if err != nil {
		c.t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := httpClient.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v\nstderr:\n%s", method, path, err, c.stderr)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		c.t.Fatal(err)
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			c.t.Fatalf("%s %s: decode %q: %v", method, path, raw, err)
		}
	}
	return resp.StatusCode
}

// submit starts a run with the given budget and returns its job id.
func (c *child) submit(budget float64) string {
	c.t.Helper()
	var resp struct {
		JobID string `json:"job_id"`
	}
	body := fmt.Sprintf(`{"split":"test","model":"ensemble","budget":%g}`, budget)
	if code := c.call("POST", "/pipeline/run", body, &resp); code != http.StatusAccepted || resp.JobID == "" {
		c.t.Fatalf("POST /pipeline/run: status %d, job id %q", code, resp.JobID)
	}
	return resp.JobID
}

// job returns the status record of a job through the API.
func (c *child) job(id string) *jobs.Job {
	c.t.Helper()
	var j jobs.Job
	if code := c.call("GET", "/pipeline/status/"+id, "", &j); code != http.StatusOK {
		c.t.Fatalf("GET /pipeline/status/%s: status %d", id, code)
	}
	return &j
}

// waitJob polls a job every 20 ms until cond holds, failing after limit.
func (c *child) waitJob(id string, limit time.Duration, what string, cond func(*jobs.Job) bool) *jobs.Job {
	c.t.Helper()
	deadline := time.Now().Add(limit)
	for {
		j := c.job(id)
		if cond(j) {
			return j
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("job %s: not %s after %v (status %s, phase %d)\nstderr:\n%s", id, what, limit, j.Status, j.Phase, c.stderr)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// runningAtPhase selects a running job that has reached phase.
func runningAtPhase(phase int) func(*jobs.Job) bool {
	return func(j *jobs.Job) bool { return j.Status == jobs.StatusRunning && j.Phase >= phase }
}

// snapshot is what the database of a stopped server holds.
type snapshot struct {
	jobs      map[string]*jobs.Job
	artifacts map[string][]jobs.Artifact
	latest    string
}

// readSnapshot opens the database of a stopped server read-only.
func readSnapshot(t *testing.T, dataDir string) *snapshot {
	t.Helper()
	st, err := store.Open(filepath.Join(dataDir, store.FileName), store.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	list, err := st.Jobs(jobs.JobFilter{})
	if err != nil {
		t.Fatal(err)
	}
	s := &snapshot{jobs: map[string]*jobs.Job{}, artifacts: map[string][]jobs.Artifact{}}
	for _, j := range list {
		s.jobs[j.ID] = j
		if s.artifacts[j.ID], err = st.Artifacts(j.ID); err != nil {
			t.Fatal(err)
		}
	}
	switch latest, err := st.Latest(); {
	case err == nil:
		s.latest = latest.ID
	case !errors.Is(err, jobs.ErrNoCompletedRun):
		t.Fatal(err)
	}
	return s
}

// checkCompletedRun checks that a completed job's artifacts cover the
// four phases and verify, and that its metrics file exists.
func checkCompletedRun(t *testing.T, dataDir string, s *snapshot, id string) {
	t.Helper()
	j := s.jobs[id]
	if j == nil || j.Status != jobs.StatusCompleted {
		t.Errorf("job %s is %v, want completed", id, j)
		return
	}
	if j.PhasesDone != pipeline.PhaseOptimize {
		t.Errorf("completed job %s has phases_done %d", id, j.PhasesDone)
	}
	phases := map[int]bool{}
	for _, a := range s.artifacts[id] {
		phases[a.Phase] = true
		if err := pipeline.Verify(dataDir, a); err != nil {
			t.Errorf("completed job %s: %v", id, err)
		}
	}
	for p := 1; p <= pipeline.PhaseOptimize; p++ {
		if !phases[p] {
			t.Errorf("completed job %s has no artifacts for phase %d", id, p)
		}
	}
	if _, err := os.Stat(filepath.Join(dataDir, j.RunDir, pipeline.MetricsFile)); err != nil {
		t.Errorf("completed job %s: %v", id, err)
	}
}

// checkLatestPointer checks that the latest-run pointer, when set, names
// a completed run whose artifacts verify.
func checkLatestPointer(t *testing.T, dataDir string, s *snapshot) {
	t.Helper()
	if s.latest == "" {
		return
	}
	checkCompletedRun(t, dataDir, s, s.latest)
}

// dbCheck runs "ecomopti db check" on a stopped server's data directory
// and fails the test when it reports a problem.
func dbCheck(t *testing.T, dataDir string) {
	t.Helper()
	cmd := exec.Command(ecomoptiBinary(t), "db", "check", "--data-dir", dataDir)
	cmd.Env = childEnv()
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Errorf("ecomopti db check: %v\n%s", err, out)
	}
}

// writeLargeInput writes a synthetic customer file of n rows, so a run
// lasts long enough to be stopped in the middle.
func writeLargeInput(t *testing.T, n int) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), fmt.Sprintf("customers_%d.csv", n))
	if err := os.WriteFile(path, samplegen.Generate(n, 3), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// statusPath lists the statuses a job went through, from its history.
func statusPath(j *jobs.Job) []jobs.Status {
	var out []jobs.Status
	for _, tr := range j.Transitions {
		out = append(out, tr.To)
	}
	return out
}
