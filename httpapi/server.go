// Package httpapi serves the pipeline over HTTP: starting runs, reading
// their status and logs, budget optimisation against the latest completed
// run, and health. Routes are registered in one place (routes), handlers
// are Server methods, and errors map to a status and a JSON detail in one
// function (writeError).
package httpapi

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/julienschmidt/httprouter"

	"github.com/ecomopti/ecomopti/jobs"
	"github.com/ecomopti/ecomopti/phases/pipeline"
)

// Config sets the server's behaviour.
type Config struct {
	// DataDir holds the database, logs/ and runs/.
	DataDir string
	// Version is reported by GET /.
	Version string
	// OptimizeTimeout bounds one POST /phase4/optimize call (default 30 s);
	// past it the call returns 504.
	OptimizeTimeout time.Duration
	// APIKey, when not empty, must be sent as "Authorization: Bearer <key>"
	// on every route except /health, /openapi.json and /docs.
	APIKey string
	// CORSOrigins are the browser origins allowed to call the API, such as
	// https://dash.example.com, or "*" for any; see ParseCORSOrigins. Empty
	// sends no CORS headers, so browsers allow same-origin calls only.
	CORSOrigins []string
	// CORSMaxAge is how long a browser may cache a preflight response
	// (default 10 minutes).
	CORSMaxAge time.Duration
	// Metrics receives the server's measurements; New creates one when nil.
	// Pass one in to feed it from the job worker too (Metrics.ObservePhase).
	Metrics *Metrics
	// Backup writes consistent copies of the database for GET
	// /admin/backup; without one that route returns 501.
	Backup BackupSource
}

// Canceler cancels jobs; *jobs.Worker implements it.
type Canceler interface {
	Cancel(id string) (*jobs.Job, error)
	Notify()
}

// Server is the HTTP API. Create it with New; it is an http.Handler.
type Server struct {
	store     jobs.Store
	worker    Canceler
	optimizer *pipeline.Optimizer
	cfg       Config
	log       *slog.Logger
	router    *httprouter.Router
	now       func() time.Time

	metrics    *Metrics
	cors       *corsPolicy
	apiKeyHash []byte // SHA-256 of Config.APIKey, nil when no key is set
	openapi    openAPICache
	finished   finishedCache
	backupBusy sync.Mutex // held while a backup is written

	metricsHandler http.Handler
}

// New returns a Server with every route registered.
func New(store jobs.Store, worker Canceler, optimizer *pipeline.Optimizer, cfg Config, log *slog.Logger) *Server {
	if cfg.OptimizeTimeout <= 0 {
		cfg.OptimizeTimeout = 30 * time.Second
	}
	if cfg.CORSMaxAge <= 0 {
		cfg.CORSMaxAge = 10 * time.Minute
	}
	if cfg.Metrics == nil {
		cfg.Metrics = NewMetrics(store, filepath.Join(cfg.DataDir, storeFileName), cfg.Version)
	}
	s := &Server{store: store, worker: worker, optimizer: optimizer, cfg: cfg, log: log, now: time.Now,
		metrics: cfg.Metrics, cors: &corsPolicy{origins: cfg.CORSOrigins, maxAge: cfg.CORSMaxAge}}
	s.metricsHandler = s.metrics.handler()
	if cfg.APIKey != "" {
		sum := sha256.Sum256([]byte(cfg.APIKey))
		s.apiKeyHash = sum[:]
	}
	if cfg.Backup != nil {
		s.removeStaleBackups()
	}
	s.router = httprouter.New()
	// A case or slash fix-up would send an HTML redirect body, so an
	// unknown spelling gets the JSON 404 instead.
	s.router.RedirectFixedPath = false
	s.routes()
	return s
}

// route is one entry of the endpoint catalogue served by GET /.
type route struct {
	Method  string `json:"method"`
	Path    string `json:"path"`
	Summary string `json:"summary"`
	handle  httprouter.Handle
}

func (s *Server) catalogue() []route {
	return []route{
		{"GET", "/", "service name, version and endpoint catalogue", s.handleRoot},
		{"GET", "/health", "readiness of each phase's artifacts and the database", s.handleHealth},
		{"HEAD", "/health", "the status code of GET /health without the body, for probes", s.handleHealth},
		{"POST", "/pipeline/run", "start phases 1-4 as a background job", s.handleRun},
		{"GET", "/pipeline/status/:job_id", "status, progress and log tail of a job", s.handleStatus},
		{"GET", "/pipeline/jobs", "list jobs, newest first (status, limit, before)", s.handleJobs},
		{"POST", "/pipeline/jobs/:job_id/cancel", "cancel a queued or running job", s.handleCancel},
		{"GET", "/pipeline/jobs/:job_id/log", "full log of a job as text", s.handleLog},
		{"POST", "/phase4/optimize", "budget optimisation on the latest completed run", s.handleOptimize},
		{"GET", "/phase4/campaigns", "history of optimize calls, newest first (limit, before)", s.handleCampaigns},
		{"GET", "/phase4/campaigns/:id", "one recorded optimize call with its files", s.handleCampaign},
		{"POST", "/phase4/campaigns/:id/plots", "draw the charts of a recorded optimize call", s.handleCampaignPlots},
		{"GET", "/files/*path", "download an artifact below the data directory", s.handleFile},
		{"GET", "/metrics", "Prometheus metrics: requests, jobs, phase and solve times, database size", s.handleMetrics},
		{"GET", "/openapi.json", "OpenAPI 3 description of this API", s.handleOpenAPI},
		{"GET", "/docs", "interactive API documentation (Swagger UI)", s.handleDocs},
		{"GET", "/docs/:asset", "Swagger UI scripts and styles used by /docs", s.handleDocsAsset},
		{"GET", BackupRoute, "consistent copy of the database file while the server runs", s.handleBackup},
	}
}

// routes registers every handler and the JSON fallbacks.
func (s *Server) routes() {
	for _, rt := range s.catalogue() {
		s.router.Handle(rt.Method, rt.Path, s.instrument(rt.Path, rt.handle))
	}
	s.router.NotFound = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.writeError(w, r, errorf(http.StatusNotFound, "no route for %s %s; GET / lists the endpoints", r.Method, r.URL.Path))
	})
	s.router.MethodNotAllowed = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.writeError(w, r, errorf(http.StatusMethodNotAllowed, "method %s is not allowed on %s; allowed: %s", r.Method, r.URL.Path, w.Header().Get("Allow")))
	})
	// Panics are recovered in ServeHTTP, which also covers the middleware.
}

func (s *Server) handleRoot(w http.ResponseWriter, r *http.Request, _ httprouter.Params) {
	writeJSON(w, http.StatusOK, map[string]any{
		"name":      "ecomopti",
		"version":   s.cfg.Version,
		"endpoints": s.catalogue(),
	})
}

// healthResponse is the body of GET /health.
type healthResponse struct {
	Status      string `json:"status"`
	Timestamp   string `json:"timestamp"`
	Database    bool   `json:"database_ready"`
	LatestRun   string `json:"latest_run,omitempty"`
	Phase1Ready bool   `json:"phase1_ready"`
	Phase2Ready bool   `json:"phase2_ready"`
	Phase3Ready bool   `json:"phase3_ready"`
	Phase4Ready bool   `json:"phase4_ready"`
}

// handleHealth reports readiness from the latest completed run: a phase is
// ready when every artifact it recorded exists with its recorded size.
// Hashes are checked by 'ecomopti db check', not on every health call.
func (s *Server) handleHealth(w http.ResponseWriter, r *http.Request, _ httprouter.Params) {
	resp := healthResponse{Status: "degraded", Timestamp: s.now().UTC().Format(time.RFC3339)}
	resp.Database = s.store.Ping() == nil
	var ready [5]bool
	if resp.Database {
		if latest, err := s.store.Latest(); err == nil {
			resp.LatestRun = latest.ID
			ready = s.phaseReadiness(latest)
		}
	}
	resp.Phase1Ready, resp.Phase2Ready, resp.Phase3Ready, resp.Phase4Ready = ready[1], ready[2], ready[3], ready[4]
	if resp.Database && ready[1] && ready[2] && ready[3] && ready[4] {
		resp.Status = "healthy"
	}
	writeJSON(w, http.StatusOK, resp)
}

func (s *Server) phaseReadiness(job *jobs.Job) [5]bool {
	var ready [5]bool
	arts, err := s.artifacts(job)
	if err != nil {
		s.log.Error("read artifacts for health", "job_id", job.ID, "err", err)
		return ready
	}
	for p := 1; p <= 4; p++ {
		ready[p] = false
		n := 0
		ok := true
		for _, a := range arts {
			if a.Phase != p {
				continue
			}
			n++
			fi, err := os.Stat(filepath.Join(s.cfg.DataDir, a.Path))
			if err != nil || fi.Size() != a.Size {
				ok = false
			}
		}
		ready[p] = ok && n > 0
	}
	return ready
}

// runResponse is the 202 body of POST /pipeline/run.
type runResponse struct {
	Status      jobs.Status `json:"status"`
	JobID       string      `json:"job_id"`
	Message     string      `json:"message"`
	CheckStatus string      `json:"check_status"`
	LogFile     string      `json:"log_file"`
}

func (s *Server) handleRun(w http.ResponseWriter, r *http.Request, _ httprouter.Params) {
	var req runRequest
	if err := decodeBody(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	v, err := validate(req.Split, req.Model, req.Budget)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	params := jobs.Params{Split: v.Split, Model: v.Model, Budget: v.Budget,
		RunSweep: req.RunSweep != nil && *req.RunSweep, RunScenarios: req.RunScenarios != nil && *req.RunScenarios}
	job, created, err := s.submitRun(params)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	msg := "pipeline job queued"
	if !created {
		msg = "an identical job is already " + string(job.Status) + "; returning it"
	} else {
		s.log.Info("job queued", "job_id", job.ID, "split", params.Split, "model", params.Model, "budget", params.Budget)
		s.worker.Notify()
	}
	writeJSON(w, http.StatusAccepted, runResponse{
		Status:      job.Status,
		JobID:       job.ID,
		Message:     msg,
		CheckStatus: "/pipeline/status/" + job.ID,
		LogFile:     filepath.Join(s.cfg.DataDir, job.LogFile),
	})
}

// statusResponse is the body of GET /pipeline/status/:job_id.
type statusResponse struct {
	*jobs.Job
	JobID     string          `json:"job_id"`
	Log       string          `json:"log"`
	Artifacts []jobs.Artifact `json:"artifacts"`
	Metrics   any             `json:"metrics,omitempty"`
}

// StatusLogChars is how much of the log tail a status response carries.
const StatusLogChars = 1000

func (s *Server) handleStatus(w http.ResponseWriter, r *http.Request, ps httprouter.Params) {
	job, err := s.store.Job(ps.ByName("job_id"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	tail, err := s.store.LogTail(job.ID)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	arts, err := s.encodedArtifacts(job)
	if err != nil {
		s.writeError(w, r, err)
		return
	}

	var metrics []byte
	if job.Status == jobs.StatusCompleted {
		if metrics, err = s.encodedRunMetrics(job); err != nil {
			s.log.Warn("read run metrics", "job_id", job.ID, "err", err)
			metrics = nil
		}
	}
	body, err := encodeStatus(job, lastChars(tail, StatusLogChars), arts, metrics)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	w.Write(body)
}

// encodeStatus returns the JSON of statusResponse{Job: job, JobID: job.ID,
// Log: log} with the artifacts and metrics inserted as already encoded
// JSON, byte for byte what writeJSON would send for the whole struct.
// The artifact list and the run metrics of a finished job do not change,
// so their encoding is kept between calls (see finishedCache), and the
// metrics do not pass through the encoder's validation on each call.
// metrics is nil when the response has none.
func encodeStatus(job *jobs.Job, log string, artifacts, metrics []byte) ([]byte, error) {
	head, err := json.Marshal(statusResponse{Job: job, JobID: job.ID, Log: log})
	if err != nil {
		return nil, fmt.Errorf("encode status of job %s: %w", job.ID, err)
	}
	// head ends in `,"artifacts":null}`, because Artifacts is nil and
	// Metrics is left out when empty.
	const nullEnd = `"artifacts":null}`
	if !bytes.HasSuffix(head, []byte(nullEnd)) {
		return nil, fmt.Errorf("encode status of job %s: the encoding does not end in %s", job.ID, nullEnd)
	}
	head = head[:len(head)-len("null}")]
	out := make([]byte, 0, len(head)+len(artifacts)+len(metrics)+16)
	out = append(out, head...)
	out = append(out, artifacts...)
	if metrics != nil {
		out = append(out, `,"metrics":`...)
		out = append(out, metrics...)
	}
	return append(out, "}\n"...), nil
}

// lastChars returns the last n characters (runes) of s. Valid UTF-8 is
// cut in place, walking back from the end; other text is converted as a
// whole, which replaces each invalid byte by U+FFFD.
func lastChars(s string, n int) string {
	if utf8.ValidString(s) {
		end := len(s)
		for range n {
			if end == 0 {
				return s
			}
			_, size := utf8.DecodeLastRuneInString(s[:end])
			end -= size
		}
		return s[end:]
	}
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[len(r)-n:])
}

func (s *Server) handleOptimize(w http.ResponseWriter, r *http.Request, _ httprouter.Params) {
	var req optimizeRequest
	if err := decodeBody(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	v, err := validate(req.Split, req.Model, req.Budget)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), s.cfg.OptimizeTimeout)
	defer cancel()
	res, err := s.optimizer.Optimize(ctx, pipeline.OptimizeRequest{Split: v.Split, Model: v.Model, Budget: v.Budget})
	if err != nil {
		s.writeError(w, r, s.optimizeError(ctx, err))
		return
	}
	s.metrics.observeOptimize(res.Cached, res.Comparison.Greedy.SolveSeconds, res.Comparison.Exact.SolveSeconds)
	body, err := res.EncodeJSON()
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	w.Write(body)
}
