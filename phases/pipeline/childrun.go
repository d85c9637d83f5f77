package pipeline

// The parent side of a pipeline job run in a child process. The phases
// keep every core busy for seconds. Inside the server, the Go scheduler
// then delays request goroutines by several milliseconds. In a child at a
// lower CPU priority, the kernel scheduler gives the server the cores first.

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/ecomopti/ecomopti/jobs"
)

// ChildConfig sets how ChildJobFunc starts the pipeline child process.
type ChildConfig struct {
	// Executable is the program to start, normally os.Executable().
	Executable string
	// Args come before the per-job flags, such as []string{"exec-phases"}.
	Args []string
	// Input is the customer CSV path, or EmbeddedInput.
	Input string
	// Nice is the niceness of the child, from 0 to 19 (lowest priority).
	// 0 leaves the child at the server's priority. Linux only.
	Nice int
	// Grace is the time a child gets to stop after SIGTERM before it is
	// killed (default 5 s).
	Grace time.Duration
	// LogLevel is the minimum level of the log events the child sends.
	LogLevel slog.Level
}

// DefaultChildNice is the niceness serve gives pipeline children.
const DefaultChildNice = 10

// stderrTailBytes is how much of the child's standard error is kept for
// the failure message of a crashed child.
const stderrTailBytes = 8 << 10

// ChildJobFunc returns a jobs.RunFunc that runs the pipeline of a job in a
// child process (see ExecPhasesMain) and records its progress, checkpoints
// and log lines as JobFunc does. The child uses DefaultConfig. A job that
// ran before resumes after the last verified phase.
func ChildJobFunc(dataDir string, cc ChildConfig, store jobs.Store) jobs.RunFunc {
	if cc.Grace <= 0 {
		cc.Grace = 5 * time.Second
	}
	return func(ctx context.Context, job *jobs.Job, rt *jobs.Runtime) error {
		runDir := filepath.Join(dataDir, job.RunDir)
		start, err := resumePhase(dataDir, job, store)
		if err != nil {
			return err
		}
		if start > 1 {
			rt.Log.Info("resuming run", "start_phase", start, "phases_done", job.PhasesDone)
		}
		params, err := json.Marshal(job.Params)
		if err != nil {
			return fmt.Errorf("encode job params: %w", err)
		}
		args := append(append([]string(nil), cc.Args...),
			"--run-dir", runDir,
			"--input", cc.Input,
			"--params", string(params),
			"--start-phase", strconv.Itoa(start),
			"--log-level", cc.LogLevel.String())
		cmd := exec.Command(cc.Executable, args...)
		c := &childRun{cmd: cmd, cfg: cc, dataDir: dataDir, runDir: runDir, job: job, rt: rt}
		return c.run(ctx)
	}
}

// childRun is the state of one child process.
type childRun struct {
	cmd     *exec.Cmd
	cfg     ChildConfig
	dataDir string
	runDir  string
	job     *jobs.Job
	rt      *jobs.Runtime

	result        *ChildEvent
	checkpointErr error
}

func (c *childRun) run(ctx context.Context) error {
	stdout, err := c.cmd.StdoutPipe()
	if err != nil {
		return fmt.Errorf("start pipeline child: %w", err)
	}
	stderr := &tailBuffer{max: stderrTailBytes}
	c.cmd.Stderr = stderr

	// Start the child from a goroutine locked to its own OS thread. The
	// thread's niceness passes to the child and every thread it creates,
	// and the death signal fires when this thread ends. The goroutine
	// never unlocks, so the Go runtime ends the thread once the child has
	// been waited for, and no request goroutine runs on it at low priority.
	type startResult struct{ niceErr, err error }
	started := make(chan startResult, 1)
	exited := make(chan struct{})
	go func() {
		runtime.LockOSThread()
		niceErr, err := startChild(c.cmd, c.cfg.Nice)
		started <- startResult{niceErr, err}
		if err == nil {
			<-exited
		}
	}()
	res := <-started
	if res.err != nil {
		return fmt.Errorf("start pipeline child %s: %w", c.cfg.Executable, res.err)
	}
	pid := c.cmd.Process.Pid
	log := c.rt.Log.With("child_pid", pid)
	if res.niceErr != nil {
		log.Warn("could not lower the priority of the starting thread", "err", res.niceErr)
	}
	if err := setNice(pid, c.cfg.Nice); err != nil {
		log.Warn("could not lower the pipeline child's CPU priority", "nice", c.cfg.Nice, "err", err)
	}
	log.Info("pipeline child started", "nice", c.cfg.Nice)

	var stopWG sync.WaitGroup
	stopWG.Add(1)
	go func() {
		defer stopWG.Done()
		c.stopOnCancel(ctx, exited, log)
	}()

	// A panic while recording an event (the worker recovers it) must not
	// leave the child running or the start goroutine waiting.
	waited := false
	defer func() {
		if !waited {
			_ = c.cmd.Process.Kill()
			_ = c.cmd.Wait()
			close(exited)
		}
	}()
	c.readEvents(bufio.NewReaderSize(stdout, 64<<10), log)
	waitErr := c.cmd.Wait()
	waited = true
	close(exited)
	stopWG.Wait()

	if tail := strings.TrimSpace(stderr.String()); tail != "" {
		log.Warn("pipeline child wrote to standard error", "stderr", tail)
	}
	return c.outcome(ctx, waitErr, stderr.lastLine())
}

// stopOnCancel sends SIGTERM when ctx ends, then SIGKILL after the grace
// period if the child is still running.
func (c *childRun) stopOnCancel(ctx context.Context, exited <-chan struct{}, log *slog.Logger) {
	select {
	case <-exited:
		return
	case <-ctx.Done():
	}
	log.Info("stopping pipeline child", "reason", context.Cause(ctx).Error())
	if err := c.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		log.Warn("failed to send SIGTERM to pipeline child", "err", err)
	}
	timer := time.NewTimer(c.cfg.Grace)
	defer timer.Stop()
	select {
	case <-exited:
	case <-timer.C:
		log.Warn("pipeline child did not stop within the grace period, sending SIGKILL", "grace", c.cfg.Grace.String())
		if err := c.cmd.Process.Kill(); err != nil {
			log.Warn("failed to kill pipeline child", "err", err)
		}
	}
}

// readEvents records the child's events until its standard output closes.
// A checkpoint that cannot be recorded kills the child, because the job
// would otherwise go on with phases it cannot resume from.
func (c *childRun) readEvents(r *bufio.Reader, log *slog.Logger) {
	for {
		line, err := r.ReadBytes('\n')
		if len(strings.TrimSpace(string(line))) > 0 {
			c.handleLine(line, log)
		}
		if err != nil {
			return
		}
	}
}

func (c *childRun) handleLine(line []byte, log *slog.Logger) {
	var ev ChildEvent
	if err := json.Unmarshal(line, &ev); err != nil {
		log.Warn("invalid line from pipeline child", "line", strings.TrimSpace(string(line)), "err", err)
		return
	}
	switch ev.Type {
	case EventProgress:
		c.rt.Progress(ev.Phase, ev.Name, ev.Progress)
	case EventCheckpoint:
		if c.checkpointErr != nil {
			return
		}
		if err := c.checkpoint(ev.Phase, ev.Files); err != nil {
			c.checkpointErr = err
			log.Error("failed to record checkpoint, killing pipeline child", "phase", ev.Phase, "err", err)
			if err := c.cmd.Process.Kill(); err != nil {
				log.Warn("failed to kill pipeline child", "err", err)
			}
		}
	case EventLog:
		args := make([]any, 0, 2*len(ev.Attrs))
		for _, a := range ev.Attrs {
			args = append(args, a.Key, a.Value)
		}
		level := slog.LevelInfo
		if ev.Level != nil {
			level = *ev.Level
		}
		c.rt.Log.Log(context.Background(), level, ev.Message, args...)
	case EventResult:
		c.result = &ev
	default:
		log.Warn("unknown event from pipeline child", "type", ev.Type)
	}
}

func (c *childRun) checkpoint(phase int, files []string) error {
	if phase < PhasePrepare || phase > PhaseOptimize {
		return fmt.Errorf("checkpoint of invalid phase %d", phase)
	}
	arts, err := describe(c.dataDir, c.job.ID, phase, PhaseDir(c.runDir, phase), files)
	if err != nil {
		return err
	}
	return c.rt.Checkpoint(phase, arts)
}

// outcome maps the child's end to the error the worker records: nil for
// success, one wrapping ctx.Err() after a cancel or shutdown, the child's
// message for a failed run, and the exit status for a crash.
func (c *childRun) outcome(ctx context.Context, waitErr error, stderrLine string) error {
	res := c.result
	switch {
	case c.checkpointErr != nil:
		return c.checkpointErr
	case res != nil && res.OK && waitErr == nil:
		return nil
	case ctx.Err() != nil:
		return fmt.Errorf("pipeline child stopped: %w", ctx.Err())
	case res != nil && res.Canceled:
		return fmt.Errorf("pipeline child stopped by a signal the server did not send: %s", res.Error)
	case res != nil && res.Error != "":
		return errors.New(res.Error)
	}
	msg := "exited without a result"
	if waitErr != nil {
		msg = waitErr.Error()
	}
	if stderrLine != "" {
		return fmt.Errorf("pipeline child process failed: %s: %s", msg, stderrLine)
	}
	return fmt.Errorf("pipeline child process failed: %s", msg)
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	mu  sync.Mutex
	max int
	buf []byte
}

func (b *tailBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf = append(b.buf, p...)
	if over := len(b.buf) - b.max; over > 0 {
		b.buf = append(b.buf[:0], b.buf[over:]...)
	}
	return len(p), nil
}

func (b *tailBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return string(b.buf)
}

// lastLine returns the first line of a Go panic report ("panic: ...") or
// else the last non-empty line.
func (b *tailBuffer) lastLine() string {
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	for _, l := range lines {
		if strings.HasPrefix(l, "panic: ") || strings.HasPrefix(l, "fatal error: ") {
			return strings.TrimSpace(l)
		}
	}
	return strings.TrimSpace(lines[len(lines)-1])
}
