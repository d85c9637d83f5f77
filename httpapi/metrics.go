package httpapi

import (
	"net/http"
	"os"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/ecomopti/ecomopti/jobs"
	"github.com/ecomopti/ecomopti/store"
)

// storeFileName is the database file name inside the data directory.
const storeFileName = store.FileName

// Metrics holds the Prometheus collectors of one server in a registry of
// its own (not the global one), so tests and several servers in one
// process do not share counters. GET /metrics serves it.
type Metrics struct {
	registry *prometheus.Registry
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	phases   *prometheus.HistogramVec
	solve    *prometheus.HistogramVec
	results  *prometheus.CounterVec
}

// NewMetrics registers the collectors. Jobs by status and the database
// file size are read from store and dbPath at each scrape.
func NewMetrics(store jobs.Store, dbPath, version string) *Metrics {
	m := &Metrics{
		registry: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ecomopti_http_requests_total",
			Help: "HTTP requests by method, route pattern and status code.",
		}, []string{"method", "route", "status"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "ecomopti_http_request_duration_seconds",
			Help:    "HTTP request latency in seconds by method, route pattern and status code.",
			Buckets: []float64{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30},
		}, []string{"method", "route", "status"}),
		phases: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "ecomopti_pipeline_phase_duration_seconds",
			Help:    "Wall time in seconds of each pipeline phase a job ran (phases loaded from a checkpoint are not counted).",
			Buckets: []float64{0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600},
		}, []string{"phase"}),
		solve: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "ecomopti_optimize_solve_seconds",
			Help:    "Solver time in seconds of POST /phase4/optimize calls that ran the solvers, by solver (greedy or exact).",
			Buckets: []float64{0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5, 10},
		}, []string{"solver"}),
		results: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ecomopti_optimize_results_total",
			Help: "Successful POST /phase4/optimize calls by source: solved, or served from the result cache.",
		}, []string{"source"}),
	}
	m.registry.MustRegister(
		m.requests, m.latency, m.phases, m.solve, m.results,
		&storeCollector{store: store, dbPath: dbPath},
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name:        "ecomopti_build_info",
			Help:        "Always 1; the version label is the program version.",
			ConstLabels: prometheus.Labels{"version": version},
		}, func() float64 { return 1 }),
	)
	return m
}

// Registry returns the registry, for tests and extra collectors.
func (m *Metrics) Registry() *prometheus.Registry { return m.registry }

// ObservePhase records the wall time of a pipeline phase. Its signature
// matches jobs.WorkerConfig.OnPhaseDone.
func (m *Metrics) ObservePhase(jobID string, phase int, name string, elapsed time.Duration) {
	m.phases.WithLabelValues(strconv.Itoa(phase) + "_" + name).Observe(elapsed.Seconds())
}

func (m *Metrics) observeRequest(method, route string, status int, elapsed time.Duration) {
	code := strconv.Itoa(status)
	m.requests.WithLabelValues(method, route, code).Inc()
	m.latency.WithLabelValues(method, route, code).Observe(elapsed.Seconds())
}

// observeOptimize records where an optimize result came from and, when
// the solvers ran, their times.
func (m *Metrics) observeOptimize(cached bool, greedySeconds, exactSeconds float64) {
	if cached {
		m.results.WithLabelValues("cache").Inc()
		return
	}
	m.results.WithLabelValues("solved").Inc()
	m.solve.WithLabelValues("greedy").Observe(greedySeconds)
	m.solve.WithLabelValues("exact").Observe(exactSeconds)
}

// handler serves the registry in the Prometheus text format. Collection
// errors are returned as 500 so that a broken store shows up in the
// scrape status.
func (m *Metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{ErrorHandling: promhttp.HTTPErrorOnError})
}

// storeCollector reads jobs by status and the database size at scrape time.
type storeCollector struct {
	store  jobs.Store
	dbPath string
}

var (
	jobsDesc = prometheus.NewDesc("ecomopti_jobs",
		"Pipeline jobs in the database by status.", []string{"status"}, nil)
	dbSizeDesc = prometheus.NewDesc("ecomopti_database_size_bytes",
		"Size of the bbolt database file in bytes.", nil, nil)
)

func (c *storeCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- jobsDesc
	ch <- dbSizeDesc
}

// Collect counts every job.
//
// NOTE: it decodes all job records on each scrape, so its cost grows with
// the number of jobs. A per-status count kept by the store would make it
// constant.
func (c *storeCollector) Collect(ch chan<- prometheus.Metric) {
	list, err := c.store.Jobs(jobs.JobFilter{})
	if err != nil {
		ch <- prometheus.NewInvalidMetric(jobsDesc, err)
	} else {
		counts := make(map[jobs.Status]int, len(jobs.Statuses))
		for _, j := range list {
			counts[j.Status]++
		}
		for _, st := range jobs.Statuses {
			ch <- prometheus.MustNewConstMetric(jobsDesc, prometheus.GaugeValue, float64(counts[st]), string(st))
		}
	}
	fi, err := os.Stat(c.dbPath)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(dbSizeDesc, err)
		return
	}
	ch <- prometheus.MustNewConstMetric(dbSizeDesc, prometheus.GaugeValue, float64(fi.Size()))
}
