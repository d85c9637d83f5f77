package pipeline

import (
	"container/list"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/ecomopti/ecomopti/jobs"
	"github.com/ecomopti/ecomopti/phases/dataset"
	"github.com/ecomopti/ecomopti/phases/optimize"
)

// OptimizeRequest is one synchronous budget optimisation.
type OptimizeRequest struct {
	Split  string
	Model  string
	Budget float64 // dollars
}

// OptimizeMetrics are the headline figures of an optimisation.
type OptimizeMetrics struct {
	CustomersSelected    int     `json:"customers_selected"`
	NetProfit            float64 `json:"net_profit"`
	ROI                  float64 `json:"roi"`
	TotalCost            float64 `json:"total_cost"`
	IncrementalCLVImpact float64 `json:"incremental_clv_impact"`
	NetValue             float64 `json:"net_value"`
}

// OptimizeFiles are the outputs of an optimisation.
type OptimizeFiles struct {
	CRMExport       string `json:"crm_export"`
	Report          string `json:"report"`
	Summary         string `json:"summary"`
	SegmentDeepDive string `json:"segment_deep_dive"`
}

// OptimizeResult is the response body of POST /phase4/optimize.
type OptimizeResult struct {
	Status  string          `json:"status"` // always "complete"
	Split   string          `json:"split"`
	Model   string          `json:"model"`
	Budget  float64         `json:"budget"`
	RunID   string          `json:"run_id"`
	Solver  string          `json:"solver"`
	Optimal bool            `json:"optimal"`
	Metrics OptimizeMetrics `json:"metrics"`
	// Files are absolute paths on the server; Downloads are the same files
	// as URL paths served by GET /files.
	Files     OptimizeFiles     `json:"files"`
	Downloads OptimizeFiles     `json:"downloads"`
	Detail    *optimize.Metrics `json:"detail"`
	// Comparison sets the greedy selection against the exact one, with the
	// solve time of each.
	Comparison optimize.Comparison `json:"comparison"`
	// Cached is true when an earlier call with the same run, split, model
	// and budget in cents computed the result and its CRM export still
	// exists. The solvers did not run again for this call.
	Cached     bool    `json:"cached"`
	DurationMS float64 `json:"duration_ms"`
	// CampaignID is the id of the call's record in the campaign history,
	// empty when the store keeps no history.
	CampaignID string `json:"campaign_id,omitempty"`
}

// ResultCacheSize is the number of optimisation results an Optimizer keeps
// for the latest run. An entry holds the response fields, not the customer
// table, so a full cache is a few megabytes.
const ResultCacheSize = 4096

// Optimizer solves budget optimisations on the artifacts of the latest
// completed run. Scores are read once per run and split and then shared by
// concurrent calls, which only read them.
//
// Results are cached by split, model and budget in cents, because a solve
// is deterministic: the same request on the same run selects the same
// customers and writes files of the same name. Concurrent calls with the
// same key wait for one solve instead of each running the solvers. A new
// latest run empties both caches.
type Optimizer struct {
	store   jobs.Store
	dataDir string
	cfg     optimize.Config
	log     *slog.Logger
	// history records every call. It is nil when the store keeps no
	// campaigns.
	history *campaignHistory

	mu       sync.Mutex
	runID    string
	cache    map[string]*dataset.Scores
	results  map[resultKey]*list.Element // values are *cachedResult
	order    *list.List                  // most recently used first
	inflight map[resultKey]*flight
}

// resultKey identifies a solve within one run.
type resultKey struct {
	split, model string
	budgetCents  int64
}

type cachedResult struct {
	key resultKey
	res *OptimizeResult
}

// flight is a solve in progress; done is closed when res and err are set.
type flight struct {
	done chan struct{}
	res  *OptimizeResult
	err  error
}

// NewOptimizer returns an Optimizer reading runs below dataDir.
func NewOptimizer(store jobs.Store, dataDir string, cfg optimize.Config, log *slog.Logger) *Optimizer {
	o := &Optimizer{store: store, dataDir: dataDir, cfg: cfg, log: log}
	o.history = newCampaignHistory(store, log)
	o.reset("")
	return o
}

// reset empties the caches for a new latest run; o.mu must be held.
func (o *Optimizer) reset(runID string) {
	o.runID = runID
	o.cache = map[string]*dataset.Scores{}
	o.results = map[resultKey]*list.Element{}
	o.order = list.New()
	o.inflight = map[resultKey]*flight{}
}

// scores returns the cached scores of a split of run, reading them on
// first use. A new latest run empties the cache.
func (o *Optimizer) scores(run *jobs.Job, split string) (*dataset.Scores, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.runID != run.ID {
		o.reset(run.ID)
	}
	if s, ok := o.cache[split]; ok {
		return s, nil
	}
	s, err := ReadScores(PhaseDir(filepath.Join(o.dataDir, run.RunDir), PhaseUplift), split)
	if err != nil {
		return nil, err
	}
	o.cache[split] = s
	return s, nil
}

// solveOrReuse solves one request, or returns the cached result of an
// earlier identical one. With no completed run it returns an error
// wrapping jobs.ErrNoCompletedRun. When ctx expires it returns ctx's error.
func (o *Optimizer) solveOrReuse(ctx context.Context, req OptimizeRequest) (*OptimizeResult, error) {
	start := time.Now()
	run, err := o.store.Latest()
	if err != nil {
		return nil, err
	}
	cents, err := optimize.BudgetCents(req.Budget)
	if err != nil {
		// The solver reports the invalid budget with its own message.
		return o.solve(ctx, run, req)
	}
	key := resultKey{split: req.Split, model: req.Model, budgetCents: cents}
	for {
		res, f, leader := o.lookup(run.ID, key)
		if res != nil {
			return o.reply(res, req, true, start), nil
		}
		if leader {
			res, err := o.solve(ctx, run, req)
			o.land(run.ID, key, f, res, err)
			if err != nil {
				return nil, err
			}
			return o.reply(res, req, false, start), nil
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-f.done:
		}
		// A leader whose own client went away fails with its context's
		// error; this caller's context is still live, so it tries again.
		if f.err != nil && !isContextError(f.err) {
			return nil, f.err
		}
		if f.err == nil {
			return o.reply(f.res, req, true, start), nil
		}
	}
}

func isContextError(err error) bool {
	return errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}

// lookup returns a cached result whose files still exist, or the flight to
// wait for, or a new flight that the caller leads (leader true).
func (o *Optimizer) lookup(runID string, key resultKey) (res *OptimizeResult, f *flight, leader bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.runID != runID {
		o.reset(runID)
	}
	if el, ok := o.results[key]; ok {
		cached := el.Value.(*cachedResult).res
		if fileExists(cached.Files.CRMExport) {
			o.order.MoveToFront(el)
			return cached, nil, false
		}
		o.order.Remove(el)
		delete(o.results, key)
	}
	if f, ok := o.inflight[key]; ok {
		return nil, f, false
	}
	f = &flight{done: make(chan struct{})}
	o.inflight[key] = f
	return nil, f, true
}

// land records the outcome of a flight, caches a success and wakes the
// callers waiting for it. Errors are not cached.
func (o *Optimizer) land(runID string, key resultKey, f *flight, res *OptimizeResult, err error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	f.res, f.err = res, err
	close(f.done)
	if o.runID != runID {
		return
	}
	delete(o.inflight, key)
	if err != nil {
		return
	}
	o.results[key] = o.order.PushFront(&cachedResult{key: key, res: res})
	for o.order.Len() > ResultCacheSize {
		oldest := o.order.Back()
		o.order.Remove(oldest)
		delete(o.results, oldest.Value.(*cachedResult).key)
	}
}

// reply returns a copy of a stored result for one caller. The copy shares
// Detail, which no caller modifies.
func (o *Optimizer) reply(stored *OptimizeResult, req OptimizeRequest, cached bool, start time.Time) *OptimizeResult {
	res := *stored
	res.Budget = req.Budget
	res.Cached = cached
	res.DurationMS = float64(time.Since(start).Microseconds()) / 1000
	return &res
}

// fileExists checks one output file of a cached result. The files are
// written together and removed together (with their run folder), so
// the CRM export stands for all of them.
func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// solve runs the solvers on the latest run and writes the output files.
// When ctx expires it returns ctx's error and writes no files.
func (o *Optimizer) solve(ctx context.Context, run *jobs.Job, req OptimizeRequest) (*OptimizeResult, error) {
	start := time.Now()
	scores, err := o.scores(run, req.Split)
	if err != nil {
		return nil, err
	}
	oreq := optimize.Request{Split: req.Split, Model: req.Model, Budget: req.Budget}
	report, err := optimize.Optimize(ctx, scores, oreq, o.cfg, o.log)
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	dir := filepath.Join(o.dataDir, run.RunDir, "campaigns")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("create campaign folder: %w", err)
	}
	files, err := report.WriteFilesContext(ctx, dir, Stem(oreq))
	if err != nil {
		return nil, err
	}
	res := &OptimizeResult{
		Status:  "complete",
		Split:   req.Split,
		Model:   req.Model,
		Budget:  req.Budget,
		RunID:   run.ID,
		Solver:  report.Solver,
		Optimal: report.Optimal,
		Metrics: OptimizeMetrics{
			CustomersSelected:    report.Metrics.CustomersSelected,
			NetProfit:            report.Metrics.NetProfit,
			ROI:                  report.Metrics.ROI,
			TotalCost:            report.Metrics.TotalCost,
			IncrementalCLVImpact: report.Metrics.IncrementalCLVImpact,
			NetValue:             report.Metrics.NetValue,
		},
		Files: OptimizeFiles{CRMExport: files.CRMExport, Report: files.Report, Summary: files.Summary,
			SegmentDeepDive: files.SegmentDeepDive},
		Detail:     &report.Metrics,
		Comparison: report.Comparison,
	}
	res.Downloads = OptimizeFiles{
		CRMExport: o.downloadURL(files.CRMExport),
		Report:    o.downloadURL(files.Report),
		Summary:   o.downloadURL(files.Summary),

		SegmentDeepDive: o.downloadURL(files.SegmentDeepDive),
	}
	res.DurationMS = float64(time.Since(start).Microseconds()) / 1000
	return res, nil
}

// downloadURL maps a file below the data directory to its GET /files URL.
func (o *Optimizer) downloadURL(path string) string {
	rel, err := filepath.Rel(o.dataDir, path)
	if err != nil {
		return ""
	}
	return "/files/" + filepath.ToSlash(rel)
}
