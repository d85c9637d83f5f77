// Package pipeline runs the four phases in order for one run folder, and
// connects them to the job layer: submitting runs, resuming after the last
// phase whose artifacts still verify, and optimising budgets against the
// latest completed run.
//
// A run folder holds phase1/ ... phase4/ and metrics.json. Phases before
// the start phase are loaded from their folders instead of being run, so an
// interrupted job continues where it stopped.
package pipeline

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/ecomopti/ecomopti/jobs"
	"github.com/ecomopti/ecomopti/phases/artifact"
	"github.com/ecomopti/ecomopti/phases/dataset"
	"github.com/ecomopti/ecomopti/phases/optimize"
	"github.com/ecomopti/ecomopti/phases/prepare"
	"github.com/ecomopti/ecomopti/phases/survival"
	"github.com/ecomopti/ecomopti/phases/uplift"
)

// Phase numbers and names.
const (
	PhasePrepare  = 1
	PhaseSurvival = 2
	PhaseUplift   = 3
	PhaseOptimize = 4
)

// PhaseNames maps a phase number to its short name.
var PhaseNames = map[int]string{
	PhasePrepare:  "prepare",
	PhaseSurvival: "survival",
	PhaseUplift:   "uplift",
	PhaseOptimize: "optimize",
}

// PhaseDir returns the folder of a phase inside a run folder.
func PhaseDir(runDir string, phase int) string {
	return filepath.Join(runDir, fmt.Sprintf("phase%d", phase))
}

// Config holds the settings of every phase.
type Config struct {
	Prepare  prepare.Config
	Survival survival.Config
	Uplift   uplift.Config
	Optimize optimize.Config
}

// DefaultConfig returns the defaults of every phase.
func DefaultConfig() Config {
	return Config{
		Prepare:  prepare.DefaultConfig(),
		Survival: survival.DefaultConfig(),
		Uplift:   uplift.DefaultConfig(),
		Optimize: optimize.DefaultConfig(),
	}
}

// Hooks let a caller follow a run. Nil fields are skipped.
type Hooks struct {
	// Progress receives the phase being run and the overall share done.
	Progress func(phase int, name string, progress float64)
	// Checkpoint receives the files a finished phase wrote, as paths
	// inside the run folder. An error stops the run.
	Checkpoint func(phase int, files []string) error
}

// Request is one pipeline run.
type Request struct {
	Input  prepare.Input
	RunDir string
	Params jobs.Params
	// StartPhase is the first phase to run (1 for a fresh run); earlier
	// phases are loaded from RunDir.
	StartPhase int
}

// Metrics is the metrics.json of a completed run.
type Metrics struct {
	Cox survival.CoxMetrics `json:"cox"`
	// RSF is the random survival forest's evaluation, nil when the
	// forest is turned off (survival.Config.RSF.Trees = 0).
	RSF      *survival.RSFMetrics           `json:"rsf,omitempty"`
	CLV      survival.CLVMetrics            `json:"clv"`
	Uplift   map[string]*UpliftModelMetrics `json:"uplift"`
	Optimize *optimize.Metrics              `json:"optimize,omitempty"`
	Timings  map[string]int64               `json:"timings_ms"`
}

// MetricsFile is the name of the run-level metrics file.
const MetricsFile = "metrics.json"

// Run executes the phases from req.StartPhase to 4.
func Run(ctx context.Context, req Request, cfg Config, hooks Hooks, log *slog.Logger) (*Metrics, error) {
	if req.StartPhase < 1 {
		req.StartPhase = 1
	}
	timings := map[string]int64{}
	step := func(phase int, fn func(dir string) ([]string, error)) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		name := PhaseNames[phase]
		dir := PhaseDir(req.RunDir, phase)
		if hooks.Progress != nil {
			hooks.Progress(phase, name, float64(phase-1)/4)
		}
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return fmt.Errorf("phase %d (%s): %w", phase, name, err)
		}
		start := time.Now()
		files, err := fn(dir)
		if err != nil {
			return fmt.Errorf("phase %d (%s): %w", phase, name, err)
		}
		elapsed := time.Since(start)
		timings[fmt.Sprintf("phase%d", phase)] = elapsed.Milliseconds()
		if phase >= req.StartPhase {
			log.Info("phase finished", "phase", phase, "name", name, "duration_ms", elapsed.Milliseconds())
			if hooks.Checkpoint != nil {
				if err := hooks.Checkpoint(phase, files); err != nil {
					return err
				}
			}
		} else {
			log.Info("phase loaded from a verified checkpoint", "phase", phase, "name", name)
		}
		return nil
	}

	// Phase 1: prepare.
	var prep *prepare.Result
	err := step(PhasePrepare, func(dir string) ([]string, error) {
		var err error
		if PhasePrepare < req.StartPhase {
			prep, err = prepare.Load(dir)
			return nil, err
		}
		prep, err = prepare.Run(ctx, req.Input, cfg.Prepare, log.With("phase", PhasePrepare))
		if err != nil {
			return nil, err
		}
		return saveAndList(dir, prep.Save)
	})
	if err != nil {
		return nil, err
	}

	// Phase 2: survival and CLV.
	var surv *survival.Result
	err = step(PhaseSurvival, func(dir string) ([]string, error) {
		var err error
		if PhaseSurvival < req.StartPhase {
			surv, err = survival.Load(dir)
			return nil, err
		}
		surv, err = survival.Run(ctx, prep.Train, prep.Val, prep.Test, cfg.Survival, log.With("phase", PhaseSurvival))
		if err != nil {
			return nil, err
		}
		return saveAndList(dir, surv.Save)
	})
	if err != nil {
		return nil, err
	}

	// Phase 3: uplift.
	var up *uplift.Result
	err = step(PhaseUplift, func(dir string) ([]string, error) {
		var err error
		if PhaseUplift < req.StartPhase {
			up, err = uplift.Load(dir)
			return nil, err
		}
		in := uplift.Input{
			Frames: map[string]*dataset.Frame{dataset.Train: prep.Train, dataset.Val: prep.Val, dataset.Test: prep.Test},
			S6:     map[string][]float64{},
			CLV:    map[string][]float64{},
		}
		for _, sp := range dataset.Splits {
			p := surv.Predictions[sp]
			if p == nil {
				return nil, fmt.Errorf("no phase 2 predictions for split %s", sp)
			}
			in.S6[sp], in.CLV[sp] = p.S6, p.CLVPred
		}
		up, err = uplift.Run(ctx, in, cfg.Uplift, log.With("phase", PhaseUplift))
		if err != nil {
			return nil, err
		}
		return saveAndList(dir, up.Save)
	})
	if err != nil {
		return nil, err
	}

	// Phase 4: the requested campaign on the requested split and model,
	// with its analyses and charts (see phase4).
	var report *optimize.Report
	err = step(PhaseOptimize, func(dir string) ([]string, error) {
		var files []string
		var err error
		report, files, err = phase4(ctx, req.RunDir, dir, req.Params, cfg, surv, log.With("phase", PhaseOptimize))
		return files, err
	})
	if err != nil {
		return nil, err
	}

	m := &Metrics{Cox: surv.Metrics.Cox, RSF: surv.Metrics.RSF, CLV: surv.Metrics.CLV, Uplift: upliftMetrics(up),
		Optimize: &report.Metrics, Timings: timings}
	if err := writeJSONAtomic(filepath.Join(req.RunDir, MetricsFile), m); err != nil {
		return nil, err
	}
	if hooks.Progress != nil {
		hooks.Progress(PhaseOptimize, PhaseNames[PhaseOptimize], 1)
	}
	return m, nil
}

// UpliftModelMetrics holds one model's evaluation, each metric keyed by
// split; a metric undefined on a split has no key.
type UpliftModelMetrics struct {
	AUUC     map[string]float64         `json:"auuc"`
	Spearman map[string]float64         `json:"spearman"`
	Qini     map[string]float64         `json:"qini"`
	Revenue  map[string]*uplift.Revenue `json:"revenue,omitempty"`
}

// upliftMetrics regroups the Phase 3 evaluation by model, then metric,
// then split.
func upliftMetrics(up *uplift.Result) map[string]*UpliftModelMetrics {
	out := map[string]*UpliftModelMetrics{}
	for _, model := range dataset.Models {
		mm := &UpliftModelMetrics{AUUC: map[string]float64{}, Spearman: map[string]float64{},
			Qini: map[string]float64{}, Revenue: map[string]*uplift.Revenue{}}
		for _, split := range dataset.Splits {
			sr := up.Splits[split]
			if sr == nil {
				continue
			}
			ev, ok := sr.Evaluation[model]
			if !ok {
				continue
			}
			if ev.AUUC != nil {
				mm.AUUC[split] = *ev.AUUC
			}
			if ev.Spearman != nil {
				mm.Spearman[split] = *ev.Spearman
			}
			if ev.Qini != nil {
				mm.Qini[split] = *ev.Qini
			}
			if ev.Revenue != nil {
				mm.Revenue[split] = ev.Revenue
			}
		}
		out[model] = mm
	}
	return out
}

// Stem returns the file-name stem of an optimisation's outputs; it carries
// split, model and budget in cents so calls never overwrite each other.
func Stem(r optimize.Request) string {
	return fmt.Sprintf("%s_%s_%dc", r.Split, r.Model, int64(r.Budget*100+0.5))
}

// ReadScores reads the Phase 3 scores of one split from a phase folder.
// A missing or unreadable file returns an error wrapping ErrArtifact.
func ReadScores(phase3Dir, split string) (*dataset.Scores, error) {
	path := filepath.Join(phase3Dir, "uplift_"+split+".csv")
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrArtifact, err)
	}
	defer f.Close()
	s, err := dataset.ReadScores(f)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrArtifact, path, err)
	}
	return s, nil
}

// ErrArtifact is returned when a file of a completed run is missing or
// cannot be read, for example after it was edited or cut short on disk.
var ErrArtifact = errors.New("run artifact missing or damaged")

// ReadMetrics reads the metrics.json of a run folder as generic JSON.
func ReadMetrics(runDir string) (map[string]any, error) {
	raw, err := os.ReadFile(filepath.Join(runDir, MetricsFile))
	if err != nil {
		return nil, err
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, fmt.Errorf("decode %s: %w", MetricsFile, err)
	}
	return m, nil
}

// saveAndList saves a phase result into dir and returns the files there.
func saveAndList(dir string, save func(string) error) ([]string, error) {
	if err := save(dir); err != nil {
		return nil, fmt.Errorf("save artifacts: %w", err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var files []string
	for _, e := range entries {
		if e.Type().IsRegular() {
			files = append(files, e.Name())
		}
	}
	return files, nil
}

// writeJSONAtomic writes v as indented JSON via a temporary file and a
// rename, so a reader never sees half a file.
func writeJSONAtomic(path string, v any) error {
	raw, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("encode %s: %w", filepath.Base(path), err)
	}
	return artifact.WriteAtomic(filepath.Dir(path), filepath.Base(path), func(w io.Writer) error {
		_, err := w.Write(raw)
		return err
	})
}
