package pipeline

import (
	"bytes"
	"container/list"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
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
	// Files are absolute paths on the server, sent as "local_paths";
	// Downloads are the same files as URL paths served by GET /files, sent
	// as "files" so a dashboard can fetch them directly.
	Files     OptimizeFiles     `json:"local_paths"`
	Downloads OptimizeFiles     `json:"files"`
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

	// detailJSON is Detail encoded once by solve, for the campaign
	// records of this result and of the calls that reuse it.
	detailJSON json.RawMessage
	// encoding holds the JSON of the fields that calls reusing this
	// result share; nil for a result not made by solve.
	encoding *resultEncoding
}

// resultEncoding is the JSON of an OptimizeResult without the fields that
// differ between calls that reuse it: budget, cached, duration_ms and
// campaign_id. It is built on first use.
type resultEncoding struct {
	once sync.Once
	err  error
	// head runs from the opening brace up to and including `"budget":`,
	// and middle from the comma after the budget up to, not including,
	// the comma before "cached".
	head, middle []byte
}

// EncodeJSON returns what json.NewEncoder(w).Encode(r) writes, including
// the final newline. For a result returned by Optimizer.Optimize it copies
// the shared part of the encoding, built once per solve, and encodes only
// the fields that differ between calls, which saves most of the encoding
// time of a response. It assumes that the other fields still hold the
// values Optimize returned.
func (r *OptimizeResult) EncodeJSON() ([]byte, error) {
	if r.encoding == nil {
		return encodeWithNewline(r)
	}
	e := r.encoding
	e.once.Do(func() { e.head, e.middle, e.err = splitResultJSON(*r) })
	if e.err != nil {
		return nil, e.err
	}

	budget, err := json.Marshal(r.Budget)
	if err != nil {
		return nil, fmt.Errorf("encode optimize result: %w", err)
	}
	duration, err := json.Marshal(r.DurationMS)
	if err != nil {
		return nil, fmt.Errorf("encode optimize result: %w", err)
	}

	out := make([]byte, 0, len(e.head)+len(e.middle)+len(budget)+len(duration)+len(r.CampaignID)+64)
	out = append(out, e.head...)
	out = append(out, budget...)
	out = append(out, e.middle...)
	out = append(out, `,"cached":`...)
	out = strconv.AppendBool(out, r.Cached)
	out = append(out, `,"duration_ms":`...)
	out = append(out, duration...)
	if r.CampaignID != "" {
		id, err := json.Marshal(r.CampaignID)
		if err != nil {
			return nil, fmt.Errorf("encode optimize result: %w", err)
		}
		out = append(out, `,"campaign_id":`...)
		out = append(out, id...)
	}
	return append(out, "}\n"...), nil
}

// splitResultJSON encodes r with the per-call fields at fixed values and
// cuts out the parts around them. The cuts rely on the field order of
// OptimizeResult: budget right before run_id, and cached, duration_ms and
// campaign_id last.
func splitResultJSON(r OptimizeResult) (head, middle []byte, err error) {
	r.Budget, r.Cached, r.DurationMS, r.CampaignID = 0, false, 0, ""
	full, err := json.Marshal(r)
	if err != nil {
		return nil, nil, fmt.Errorf("encode optimize result: %w", err)
	}
	const budgetKey, runKey, tail = `,"budget":`, `,"budget":0,"run_id":`, `,"cached":false,"duration_ms":0}`
	i := bytes.Index(full, []byte(runKey))
	if i < 0 || !bytes.HasSuffix(full, []byte(tail)) {
		return nil, nil, fmt.Errorf("encode optimize result: unexpected field order in %.80s", full)
	}
	head = full[:i+len(budgetKey)]
	middle = full[i+len(`,"budget":0`) : len(full)-len(tail)]
	return head, middle, nil
}

// encodeWithNewline is json.Marshal followed by a newline, as an Encoder
// writes it.
func encodeWithNewline(v any) ([]byte, error) {
	raw, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("encode optimize result: %w", err)
	}
	return append(raw, '\n'), nil
}

// ResultCacheSize is the number of optimisation results an Optimizer keeps
// for the latest run. An entry holds the response fields, not the customer
// table, so a full cache is a few megabytes.
const ResultCacheSize = 4096

// PlannerCacheSize is the number of optimize.Planners, one per split and
// model, that an Optimizer keeps for the latest run. A Planner holds the
// priced customers of its split and the exact solver's table. For the
// Telco training split (1,233 eligible customers and $12,940 of treatment
// cost in a run of 2026-12-04) the table's choice bits take about 6 MB.
// The 3 splits and 3 models make 9 Planners, so the cache rarely evicts.
const PlannerCacheSize = 16

// Optimizer solves budget optimisations on the artifacts of the latest
// completed run. Scores are read once per run and split. An
// optimize.Planner is built once per run, split and model, and concurrent
// calls share it without changing it. A call that is not in the result
// cache then costs one backtrack through the Planner's table, a greedy
// pass, the report and its files.
//
// Results are cached by split, model and budget in cents, because a solve
// is deterministic: the same request on the same run selects the same
// customers and writes files of the same name. Concurrent calls with the
// same key wait for one solve instead of each running the solvers, and
// concurrent calls that need the same Planner wait for one build. A new
// latest run empties every cache.
//
// The campaigns folder of the latest run keeps at most
// DefaultCampaignFileSets file sets (see SetCampaignFileSets). Writing a
// set beyond the limit deletes the oldest sets by write time, and drops
// their results from the cache first, so a cached result never names a
// file that the limit deleted. Campaign chart drawing runs one at a time
// (see CampaignPlots).
type Optimizer struct {
	store   jobs.Store
	dataDir string
	cfg     optimize.Config
	log     *slog.Logger
	// history records every call. It is nil when the store keeps no
	// campaigns.
	history *campaignHistory
	// drawing limits chart drawing to one at a time.
	drawing chan struct{}
	// drawHook, when set by a test, runs at the start of each drawing.
	drawHook func(id string)

	mu sync.Mutex
	// fileSets is the limit on file sets in the latest run's campaigns
	// folder; 0 or less keeps every set.
	fileSets int
	// files indexes the campaigns folder of the latest run; nil until
	// first used for the run.
	files    *campaignFileIndex
	draws    map[string]*plotsDraw
	runID    string
	scores   map[string]*dataset.Scores
	planners map[plannerKey]*plannerBuild
	results  map[resultKey]*list.Element // values are *cachedResult
	order    *list.List                  // most recently used first
	inflight map[resultKey]*flight
}

// plannerKey identifies a Planner within one run.
type plannerKey struct{ split, model string }

// plannerBuild is a Planner being built or built; done is closed when p
// or err is set.
type plannerBuild struct {
	done chan struct{}
	p    *optimize.Planner
	err  error
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
	o := &Optimizer{store: store, dataDir: dataDir, cfg: cfg, log: log,
		fileSets: DefaultCampaignFileSets, drawing: make(chan struct{}, 1), draws: map[string]*plotsDraw{}}
	o.history = newCampaignHistory(store, log)
	o.reset("")
	return o
}

// reset empties the caches for a new latest run; o.mu must be held.
func (o *Optimizer) reset(runID string) {
	o.runID = runID
	o.scores = map[string]*dataset.Scores{}
	o.planners = map[plannerKey]*plannerBuild{}
	o.results = map[resultKey]*list.Element{}
	o.order = list.New()
	o.inflight = map[resultKey]*flight{}
	o.files = nil
}

// SetCampaignFileSets sets how many file sets the campaigns folder of the
// latest run keeps, see DefaultCampaignFileSets; n <= 0 keeps every set.
// Sets already beyond a lowered limit go on the next write of a new set.
func (o *Optimizer) SetCampaignFileSets(n int) {
	o.mu.Lock()
	o.fileSets = n
	o.mu.Unlock()
}

// fileIndex returns the index of the campaigns folder of run, which must
// be the latest run, and the limit on its sets.
func (o *Optimizer) fileIndex(run *jobs.Job) (*campaignFileIndex, int) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.runID != run.ID {
		o.reset(run.ID)
	}
	if o.files == nil {
		o.files = newCampaignFileIndex(filepath.Join(o.dataDir, run.RunDir, CampaignsDir))
	}
	return o.files, o.fileSets
}

// forget drops the cached results of file sets that are being deleted.
func (o *Optimizer) forget(keys []resultKey) {
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, key := range keys {
		if el, ok := o.results[key]; ok {
			o.order.Remove(el)
			delete(o.results, key)
		}
	}
}

// releaseFiles ends the write of a file set begun with ix.begin and
// deletes the oldest sets beyond limit.
func (o *Optimizer) releaseFiles(ix *campaignFileIndex, stem string, names []string, key *resultKey, limit int) {
	n, err := ix.end(stem, names, key, limit, o.forget)
	if err != nil {
		o.log.Error("delete old campaign files", "dir", ix.dir, "err", err)
	}
	if n > 0 {
		o.log.Debug("old campaign file sets deleted", "sets", n, "limit", limit)
	}
}

// readScores returns the cached scores of a split of run, reading them on
// first use. The file is read without holding o.mu, so calls served from
// the caches do not wait for it.
func (o *Optimizer) readScores(run *jobs.Job, split string) (*dataset.Scores, error) {
	o.mu.Lock()
	if o.runID != run.ID {
		o.reset(run.ID)
	}
	s, ok := o.scores[split]
	o.mu.Unlock()
	if ok {
		return s, nil
	}
	s, err := ReadScores(PhaseDir(filepath.Join(o.dataDir, run.RunDir), PhaseUplift), split)
	if err != nil {
		return nil, err
	}
	o.mu.Lock()
	if o.runID == run.ID {
		o.scores[split] = s
	}
	o.mu.Unlock()
	return s, nil
}

// planner returns the Planner of a split and model of run, building it on
// first use. Concurrent callers wait for one build. A failed build is not
// kept, so the next call tries again. When a build failed only because
// the ctx of the caller that ran it ended, a waiting caller builds again
// with its own ctx.
func (o *Optimizer) planner(ctx context.Context, run *jobs.Job, split, model string) (*optimize.Planner, error) {
	key := plannerKey{split, model}
	for {
		o.mu.Lock()
		if o.runID != run.ID {
			o.reset(run.ID)
		}
		b, ok := o.planners[key]
		if !ok {
			if len(o.planners) >= PlannerCacheSize {
				o.evictPlanner()
			}
			b = &plannerBuild{done: make(chan struct{})}
			o.planners[key] = b
		}
		o.mu.Unlock()

		if !ok {
			p, err := o.buildPlanner(ctx, run, split, model)
			o.mu.Lock()
			b.p, b.err = p, err
			if err != nil && o.runID == run.ID && o.planners[key] == b {
				delete(o.planners, key)
			}
			o.mu.Unlock()
			close(b.done)
			return p, err
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-b.done:
		}
		if b.err == nil || !isContextError(b.err) {
			return b.p, b.err
		}
	}
}

// evictPlanner drops one finished Planner to make room; o.mu must be held.
// Builds in progress stay, so their waiters are not cut off.
func (o *Optimizer) evictPlanner() {
	for k, b := range o.planners {
		select {
		case <-b.done:
			delete(o.planners, k)
			return
		default:
		}
	}
}

func (o *Optimizer) buildPlanner(ctx context.Context, run *jobs.Job, split, model string) (*optimize.Planner, error) {
	start := time.Now()
	scores, err := o.readScores(run, split)
	if err != nil {
		return nil, err
	}
	p, err := optimize.NewPlanner(ctx, scores, model, o.cfg)
	if err != nil {
		return nil, err
	}
	o.log.Debug("optimize planner built", "run_id", run.ID, "split", split, "model", model,
		"customers", p.Exclusions().Total, "eligible", p.Exclusions().Eligible, "table", p.HasTable(),
		"duration_ms", float64(time.Since(start).Microseconds())/1000)
	return p, nil
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
		res, release, err := o.solve(ctx, run, req)
		if release != nil {
			release()
		}
		return res, err
	}
	key := resultKey{split: req.Split, model: req.Model, budgetCents: cents}
	for {
		res, f, leader := o.lookup(run.ID, key)
		if res != nil {
			return o.reply(res, req, true, start), nil
		}
		if leader {
			res, release, err := o.solve(ctx, run, req)
			o.land(run.ID, key, f, res, err)
			// The file set stays protected from deletion until its result
			// is in the cache, so a deletion always finds the cache entry
			// to drop.
			if release != nil {
				release()
			}
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

// fileExists checks one output file of a cached result. The files of a
// set are written together and removed together, either with their run
// folder or by the file-set limit, which drops the cache entry before it
// removes the files. So the CRM export stands for all of them.
func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// solve runs the solvers on the latest run and writes the output files.
// When ctx expires it returns ctx's error and writes no files. When
// release is not nil, the caller must call it once the result is cached
// (or the error handled): until then the file set is kept from deletion.
//
// The files are written without fsync, because they are derived from the
// run's scores and the request. Renames still make each one appear whole.
// The result cache lives in memory, so after a restart the same request
// solves and writes them again.
//
// NOTE: a power failure shortly after a call can leave that call's files
// empty or missing, although its campaign record lists them.
func (o *Optimizer) solve(ctx context.Context, run *jobs.Job, req OptimizeRequest) (res *OptimizeResult, release func(), err error) {
	start := time.Now()
	cents, err := optimize.BudgetCents(req.Budget)
	if err != nil {
		// Checked first, so an invalid budget is reported before any
		// problem with the scores, as optimize.Optimize does.
		return nil, nil, fmt.Errorf("optimize: %w", err)
	}
	planner, err := o.planner(ctx, run, req.Split, req.Model)
	if err != nil {
		return nil, nil, err
	}
	oreq := optimize.Request{Split: req.Split, Model: req.Model, Budget: req.Budget}
	report, err := planner.Optimize(ctx, oreq, o.log)
	if err != nil {
		return nil, nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	dir := filepath.Join(o.dataDir, run.RunDir, CampaignsDir)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, nil, fmt.Errorf("create campaign folder: %w", err)
	}

	stem := Stem(oreq)
	ix, limit := o.fileIndex(run)
	if err := ix.begin(stem); err != nil {
		return nil, nil, fmt.Errorf("read campaign folder: %w", err)
	}
	// Registered before the write, so a failed write that left some
	// files behind still has them deleted with the set.
	names := []string{stem + optimize.SuffixCRMExport, stem + optimize.SuffixReport,
		stem + optimize.SuffixSummary, stem + optimize.SuffixSegmentDeepDive}
	key := &resultKey{split: req.Split, model: req.Model, budgetCents: cents}
	release = func() { o.releaseFiles(ix, stem, names, key, limit) }
	files, err := report.WriteFilesWith(ctx, dir, stem, optimize.WriteOptions{NoSync: true})
	if err != nil {
		return nil, release, err
	}
	res = &OptimizeResult{
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
	if res.detailJSON, err = json.Marshal(res.Detail); err != nil {
		return nil, release, fmt.Errorf("encode optimize metrics: %w", err)
	}
	res.encoding = &resultEncoding{}
	res.Downloads = OptimizeFiles{
		CRMExport: o.downloadURL(files.CRMExport),
		Report:    o.downloadURL(files.Report),
		Summary:   o.downloadURL(files.Summary),

		SegmentDeepDive: o.downloadURL(files.SegmentDeepDive),
	}
	res.DurationMS = float64(time.Since(start).Microseconds()) / 1000
	return res, release, nil
}

// downloadURL maps a file below the data directory to its GET /files URL.
func (o *Optimizer) downloadURL(path string) string {
	rel, err := filepath.Rel(o.dataDir, path)
	if err != nil {
		return ""
	}
	return "/files/" + filepath.ToSlash(rel)
}
