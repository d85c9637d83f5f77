package httpapi

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sync"

	"github.com/ecomopti/ecomopti/jobs"
	"github.com/ecomopti/ecomopti/phases/pipeline"
)

// finishedCacheSize bounds the jobs whose artifacts and metrics are kept.
const finishedCacheSize = 256

// finishedCache keeps what never changes once a job has finished: its
// artifact list and its run's metrics.json. GET /health and GET
// /pipeline/status read them on every call, and decoding them each time
// cost more CPU than the rest of those handlers. Callers still read the job
// itself from the store first, so a job deleted by retention is not served
// from here.
type finishedCache struct {
	mu      sync.Mutex
	entries map[string]*finishedEntry
}

type finishedEntry struct {
	artifacts []jobs.Artifact
	// artifactsJSON is artifacts as JSON, nil until first needed.
	artifactsJSON []byte
	metrics       json.RawMessage // nil until read; compact JSON
	// metricsJSON is metrics as the JSON encoder writes a RawMessage:
	// compact, with <, > and & escaped. Nil until first needed.
	metricsJSON []byte
	// Size and modification time of metrics.json when it was read, so a
	// rewritten or removed file is read again.
	metricsSize int64
	metricsMod  int64
}

// entry returns the entry of a finished job, creating it; s.mu must be held.
func (c *finishedCache) entry(id string) *finishedEntry {
	if c.entries == nil {
		c.entries = map[string]*finishedEntry{}
	}
	e, ok := c.entries[id]
	if !ok {
		if len(c.entries) >= finishedCacheSize {
			clear(c.entries)
		}
		e = &finishedEntry{}
		c.entries[id] = e
	}
	return e
}

// artifacts returns the recorded files of job, cached when it has finished.
func (s *Server) artifacts(job *jobs.Job) ([]jobs.Artifact, error) {
	if !job.Status.Final() {
		return s.store.Artifacts(job.ID)
	}
	s.finished.mu.Lock()
	e := s.finished.entry(job.ID)
	arts := e.artifacts
	s.finished.mu.Unlock()
	if arts != nil {
		return arts, nil
	}
	arts, err := s.store.Artifacts(job.ID)
	if err != nil {
		return nil, err
	}
	if arts == nil {
		arts = []jobs.Artifact{}
	}
	s.finished.mu.Lock()
	s.finished.entry(job.ID).artifacts = arts
	s.finished.mu.Unlock()
	return arts, nil
}

// encodedArtifacts returns the recorded files of job as a JSON array,
// kept between calls once the job has finished.
func (s *Server) encodedArtifacts(job *jobs.Job) ([]byte, error) {
	arts, err := s.artifacts(job)
	if err != nil {
		return nil, err
	}
	if !job.Status.Final() {
		return marshalArtifacts(arts)
	}
	s.finished.mu.Lock()
	raw := s.finished.entry(job.ID).artifactsJSON
	s.finished.mu.Unlock()
	if raw != nil {
		return raw, nil
	}
	if raw, err = marshalArtifacts(arts); err != nil {
		return nil, err
	}
	s.finished.mu.Lock()
	s.finished.entry(job.ID).artifactsJSON = raw
	s.finished.mu.Unlock()
	return raw, nil
}

// marshalArtifacts encodes a list of artifacts, nil as [].
func marshalArtifacts(arts []jobs.Artifact) ([]byte, error) {
	if arts == nil {
		arts = []jobs.Artifact{}
	}
	raw, err := json.Marshal(arts)
	if err != nil {
		return nil, fmt.Errorf("encode artifacts: %w", err)
	}
	return raw, nil
}

// encodedRunMetrics is runMetrics as the JSON encoder writes it inside a
// response, kept between calls like runMetrics.
func (s *Server) encodedRunMetrics(job *jobs.Job) ([]byte, error) {
	m, err := s.runMetrics(job)
	if err != nil {
		return nil, err
	}
	s.finished.mu.Lock()
	e := s.finished.entry(job.ID)
	if e.metricsJSON != nil && bytes.Equal(e.metrics, m) {
		raw := e.metricsJSON
		s.finished.mu.Unlock()
		return raw, nil
	}
	s.finished.mu.Unlock()
	raw, err := json.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("encode %s: %w", pipeline.MetricsFile, err)
	}
	s.finished.mu.Lock()
	e = s.finished.entry(job.ID)
	if bytes.Equal(e.metrics, m) {
		e.metricsJSON = raw
	}
	s.finished.mu.Unlock()
	return raw, nil
}

// runMetrics returns the metrics.json of a completed job as compact JSON.
// The cached copy is used while the file keeps its size and time.
func (s *Server) runMetrics(job *jobs.Job) (json.RawMessage, error) {
	path := filepath.Join(s.cfg.DataDir, job.RunDir, pipeline.MetricsFile)
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	s.finished.mu.Lock()
	e := s.finished.entry(job.ID)
	if e.metrics != nil && e.metricsSize == fi.Size() && e.metricsMod == fi.ModTime().UnixNano() {
		m := e.metrics
		s.finished.mu.Unlock()
		return m, nil
	}
	s.finished.mu.Unlock()

	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, raw); err != nil {
		return nil, fmt.Errorf("decode %s: %w", pipeline.MetricsFile, err)
	}
	m := json.RawMessage(buf.Bytes())
	s.finished.mu.Lock()
	e = s.finished.entry(job.ID)
	e.metrics, e.metricsSize, e.metricsMod = m, fi.Size(), fi.ModTime().UnixNano()
	e.metricsJSON = nil
	s.finished.mu.Unlock()
	return m, nil
}
