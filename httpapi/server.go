// Package httpapi serves the pipeline over HTTP: starting runs, reading
// their status and logs, budget optimisation against the latest completed
// run, and health. Routes are registered in one place (routes), handlers
// are Server methods, and errors map to a status and a JSON detail in one
// function (writeError).
package httpapi

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"time"

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
	// past it the call answers 504.
	OptimizeTimeout time.Duration
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
}

// New returns a Server with every route registered.
func New(store jobs.Store, worker Canceler, optimizer *pipeline.Optimizer, cfg Config, log *slog.Logger) *Server {
	if cfg.OptimizeTimeout <= 0 {
		cfg.OptimizeTimeout = 30 * time.Second
	}
	s := &Server{store: store, worker: worker, optimizer: optimizer, cfg: cfg, log: log, now: time.Now}
	s.router = httprouter.New()
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
		{"POST", "/pipeline/run", "start phases 1-4 as a background job", s.handleRun},
		{"GET", "/pipeline/status/:job_id", "status, progress and log tail of a job", s.handleStatus},
		{"GET", "/pipeline/jobs", "list jobs, newest first (status, limit, before)", s.handleJobs},
		{"POST", "/pipeline/jobs/:job_id/cancel", "cancel a queued or running job", s.handleCancel},
		{"GET", "/pipeline/jobs/:job_id/log", "full log of a job as text", s.handleLog},
		{"POST", "/phase4/optimize", "budget optimisation on the latest completed run", s.handleOptimize},
		{"GET", "/files/*path", "download an artifact below the data directory", s.handleFile},
	}
}

// routes registers every handler and the JSON fallbacks.
func (s *Server) routes() {
	for _, rt := range s.catalogue() {
		s.router.Handle(rt.Method, rt.Path, rt.handle)
	}
	s.router.NotFound = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusNotFound, map[string]string{"detail": fmt.Sprintf("no route for %s %s; GET / lists the endpoints", r.Method, r.URL.Path)})
	})
	s.router.MethodNotAllowed = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusMethodNotAllowed, map[string]string{
			"detail": fmt.Sprintf("method %s is not allowed on %s; allowed: %s", r.Method, r.URL.Path, w.Header().Get("Allow"))})
	})
	s.router.PanicHandler = func(w http.ResponseWriter, r *http.Request, v any) {
		s.log.Error("handler panicked", "method", r.Method, "path", r.URL.Path, "panic", fmt.Sprint(v))
		writeJSON(w, http.StatusInternalServerError, map[string]string{"detail": "internal server error; see the server log"})
	}
}

// ServeHTTP implements http.Handler with an access log line per request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
	s.router.ServeHTTP(rec, r)
	s.log.Debug("request", "method", r.Method, "path", r.URL.Path, "status", rec.status,
		"duration_ms", float64(time.Since(start).Microseconds())/1000)
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
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
			ready = s.phaseReadiness(latest.ID)
		}
	}
	resp.Phase1Ready, resp.Phase2Ready, resp.Phase3Ready, resp.Phase4Ready = ready[1], ready[2], ready[3], ready[4]
	if resp.Database && ready[1] && ready[2] && ready[3] && ready[4] {
		resp.Status = "healthy"
	}
	writeJSON(w, http.StatusOK, resp)
}

func (s *Server) phaseReadiness(jobID string) [5]bool {
	var ready [5]bool
	arts, err := s.store.Artifacts(jobID)
	if err != nil {
		s.log.Error("read artifacts for health", "job_id", jobID, "err", err)
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
	job, created, err := pipeline.Submit(s.store, params, s.now())
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
	arts, err := s.store.Artifacts(job.ID)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	resp := statusResponse{Job: job, JobID: job.ID, Log: lastChars(tail, StatusLogChars), Artifacts: arts}
	if job.Status == jobs.StatusCompleted {
		if m, err := pipeline.ReadMetrics(filepath.Join(s.cfg.DataDir, job.RunDir)); err == nil {
			resp.Metrics = m
		} else {
			s.log.Warn("read run metrics", "job_id", job.ID, "err", err)
		}
	}
	if resp.Artifacts == nil {
		resp.Artifacts = []jobs.Artifact{}
	}
	writeJSON(w, http.StatusOK, resp)
}

// lastChars returns the last n characters (runes) of s.
func lastChars(s string, n int) string {
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
	writeJSON(w, http.StatusOK, res)
}
