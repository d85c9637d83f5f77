package pipeline

// The child side of a pipeline job run in its own process: the hidden
// "ecomopti exec-phases" command runs Run for one job and reports each
// event as one JSON line on standard output. It never opens the database,
// so it can run while the server holds the database lock.

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"github.com/ecomopti/ecomopti/jobs"
	"github.com/ecomopti/ecomopti/phases/prepare"
)

// Exit codes of the exec-phases child. A crash of the Go runtime exits
// with code 2 as well, so the parent trusts the result line, not the code.
const (
	ChildExitOK       = 0
	ChildExitFailed   = 1
	ChildExitUsage    = 2
	ChildExitCanceled = 3
)

// EmbeddedInput is the --input value that selects the built-in sample.
// The parent passes absolute paths, so no real file is named this way.
const EmbeddedInput = "embedded"

// Event types of the exec-phases protocol.
const (
	EventProgress   = "progress"
	EventCheckpoint = "checkpoint"
	EventLog        = "log"
	EventResult     = "result"
)

// ChildEvent is one line of the exec-phases output. Type selects which
// fields are set.
type ChildEvent struct {
	Type string `json:"type"`

	// Progress and checkpoint events.
	Phase    int      `json:"phase,omitempty"`
	Name     string   `json:"name,omitempty"`
	Progress float64  `json:"progress,omitempty"`
	Files    []string `json:"files,omitempty"`

	// Log events.
	Level   *slog.Level `json:"level,omitempty"`
	Message string      `json:"msg,omitempty"`
	Attrs   []ChildAttr `json:"attrs,omitempty"`

	// Result event: OK, or Error with Canceled set when the run stopped
	// because the child received SIGTERM.
	OK       bool   `json:"ok,omitempty"`
	Error    string `json:"error,omitempty"`
	Canceled bool   `json:"canceled,omitempty"`
}

// ChildAttr is one attribute of a log event. Values are JSON strings,
// numbers or booleans. Durations, times and other types are sent as text.
type ChildAttr struct {
	Key   string `json:"k"`
	Value any    `json:"v"`
}

// runPhases is Run, replaced by tests that need a child which panics or
// blocks.
var runPhases = Run

// ExecPhasesMain is the body of the hidden exec-phases command. args are
// the flags after the command name, sample is the content used for
// --input embedded. It returns the exit code.
func ExecPhasesMain(ctx context.Context, args []string, sample []byte, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("exec-phases", flag.ContinueOnError)
	fs.SetOutput(stderr)
	runDir := fs.String("run-dir", "", "run folder (required)")
	input := fs.String("input", "", "customer CSV path, or "+EmbeddedInput+" for the built-in sample (required)")
	paramsJSON := fs.String("params", "", "job parameters as JSON (required)")
	start := fs.Int("start-phase", 1, "first phase to run, 1 to 4")
	levelText := fs.String("log-level", "info", "minimum level of log events: debug, info, warn or error")
	if err := fs.Parse(args); err != nil {
		return ChildExitUsage
	}
	var level slog.Level
	var params jobs.Params
	var problem string
	switch {
	case *runDir == "" || *input == "" || *paramsJSON == "":
		problem = "--run-dir, --input and --params are required"
	case *start < 1 || *start > PhaseOptimize:
		problem = fmt.Sprintf("invalid --start-phase %d: use 1 to 4", *start)
	case level.UnmarshalText([]byte(*levelText)) != nil:
		problem = fmt.Sprintf("invalid --log-level %q: use debug, info, warn or error", *levelText)
	default:
		dec := json.NewDecoder(strings.NewReader(*paramsJSON))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&params); err != nil {
			problem = fmt.Sprintf("invalid --params %q: %v", *paramsJSON, err)
		}
	}
	if problem != "" {
		fmt.Fprintln(stderr, "exec-phases:", problem)
		return ChildExitUsage
	}

	var in InputFunc
	if *input == EmbeddedInput {
		in = func() (prepare.Input, error) {
			return prepare.Input{Path: "embedded:telco_sample.csv", Data: sample}, nil
		}
	} else {
		in = FileInput(*input)
	}
	out := &eventWriter{w: stdout}
	log := slog.New(&eventHandler{out: out, level: level})
	err := execPhases(ctx, in, Request{RunDir: *runDir, Params: params, StartPhase: *start}, out, log)

	switch {
	case err == nil:
		out.write(ChildEvent{Type: EventResult, OK: true})
		return ChildExitOK
	case ctx.Err() != nil && errors.Is(err, ctx.Err()):
		out.write(ChildEvent{Type: EventResult, Error: err.Error(), Canceled: true})
		return ChildExitCanceled
	default:
		out.write(ChildEvent{Type: EventResult, Error: err.Error()})
		return ChildExitFailed
	}
}

// execPhases reads the input and runs the phases, turning a panic on this
// goroutine into an error. A panic on another goroutine still crashes the
// process, which the parent reports with the exit status.
func execPhases(ctx context.Context, input InputFunc, req Request, out *eventWriter, log *slog.Logger) (err error) {
	defer func() {
		if r := recover(); r != nil {
			log.Error("pipeline panicked", "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
			err = fmt.Errorf("internal error: %v", r)
		}
	}()
	req.Input, err = input()
	if err != nil {
		return err
	}
	hooks := Hooks{
		Progress: func(phase int, name string, progress float64) {
			out.write(ChildEvent{Type: EventProgress, Phase: phase, Name: name, Progress: progress})
		},
		Checkpoint: func(phase int, files []string) error {
			out.write(ChildEvent{Type: EventCheckpoint, Phase: phase, Files: files})
			return nil
		},
	}
	_, err = runPhases(ctx, req, DefaultConfig(), hooks, log)
	return err
}

// eventWriter writes events as JSON lines. It is safe for concurrent use
// because phases may log from several goroutines. Write errors are
// dropped, because they mean the parent has gone and its death signal
// ends this process.
type eventWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (e *eventWriter) write(ev ChildEvent) {
	line, err := json.Marshal(ev)
	if err != nil {
		level := slog.LevelError
		line, _ = json.Marshal(ChildEvent{Type: EventLog, Level: &level, Message: "encode event", Attrs: []ChildAttr{{"err", err.Error()}}})
	}
	line = append(line, '\n')
	e.mu.Lock()
	defer e.mu.Unlock()
	_, _ = e.w.Write(line)
}

// eventHandler is a slog.Handler that sends each record as a log event.
// Groups become key prefixes joined with dots.
type eventHandler struct {
	out    *eventWriter
	level  slog.Leveler
	attrs  []ChildAttr
	prefix string
}

func (h *eventHandler) Enabled(_ context.Context, l slog.Level) bool { return l >= h.level.Level() }

func (h *eventHandler) Handle(_ context.Context, r slog.Record) error {
	attrs := append([]ChildAttr(nil), h.attrs...)
	r.Attrs(func(a slog.Attr) bool {
		attrs = appendAttr(attrs, h.prefix, a)
		return true
	})
	h.out.write(ChildEvent{Type: EventLog, Level: &r.Level, Message: r.Message, Attrs: attrs})
	return nil
}

func (h *eventHandler) WithAttrs(as []slog.Attr) slog.Handler {
	c := *h
	c.attrs = append([]ChildAttr(nil), h.attrs...)
	for _, a := range as {
		c.attrs = appendAttr(c.attrs, h.prefix, a)
	}
	return &c
}

func (h *eventHandler) WithGroup(name string) slog.Handler {
	if name == "" {
		return h
	}
	c := *h
	c.prefix = h.prefix + name + "."
	return &c
}

func appendAttr(attrs []ChildAttr, prefix string, a slog.Attr) []ChildAttr {
	v := a.Value.Resolve()
	if a.Equal(slog.Attr{}) {
		return attrs
	}
	key := prefix + a.Key
	switch v.Kind() {
	case slog.KindGroup:
		p := key + "."
		if a.Key == "" {
			p = prefix
		}
		for _, g := range v.Group() {
			attrs = appendAttr(attrs, p, g)
		}
		return attrs
	case slog.KindString:
		return append(attrs, ChildAttr{key, v.String()})
	case slog.KindInt64:
		return append(attrs, ChildAttr{key, v.Int64()})
	case slog.KindUint64:
		return append(attrs, ChildAttr{key, v.Uint64()})
	case slog.KindFloat64:
		if f := v.Float64(); !math.IsNaN(f) && !math.IsInf(f, 0) {
			return append(attrs, ChildAttr{key, f})
		}
		// JSON has no NaN or Inf, so those travel as text.
		return append(attrs, ChildAttr{key, v.String()})
	case slog.KindBool:
		return append(attrs, ChildAttr{key, v.Bool()})
	case slog.KindTime:
		return append(attrs, ChildAttr{key, v.Time().Format(time.RFC3339Nano)})
	default:
		// Durations, errors and other values travel as their text form.
		return append(attrs, ChildAttr{key, v.String()})
	}
}
