package app

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/ade-dev/ade-worker/internal/store"
	"github.com/ade-dev/ade-worker/internal/version"
)

// Metrics are the worker's Prometheus series. They are always collected (the
// cost is a few atomic adds per run) and served only when
// ADE_WORKER_HTTP_ADDR is set.
type Metrics struct {
	Registry *prometheus.Registry

	RunsClaimed       prometheus.Counter
	RunsFinished      *prometheus.CounterVec // outcome: succeeded|failed|retried|released|lost
	RunDuration       *prometheus.HistogramVec
	EnvBuilds         *prometheus.CounterVec // outcome: ready|failed|retried|released|lost
	EnvBuildDuration  prometheus.Histogram
	LeaseExpiries     *prometheus.CounterVec // kind: run|environment
	LostClaims        *prometheus.CounterVec // kind: run|environment
	HeartbeatErrors   prometheus.Counter
	ClaimLatency      prometheus.Histogram
	AckBatchSize      prometheus.Histogram
	AckBatchFallbacks prometheus.Counter
	LoopErrors        prometheus.Counter
	InfraFaults       *prometheus.CounterVec // kind: no_space|quota|read_only|open_files
	QueueDepth        *prometheus.GaugeVec   // table, status: runs queued|running, environments queued|building
	SlotsInUse        prometheus.Gauge
	Slots             prometheus.Gauge
	LastLoopTimestamp prometheus.Gauge
	BuildInfo         prometheus.Gauge // always 1; its labels name the build
}

// NewMetrics registers the worker's series on a fresh registry, together
// with the Go runtime and process collectors.
func NewMetrics() *Metrics {
	m := &Metrics{Registry: prometheus.NewRegistry()}
	m.defineRunSeries()
	m.defineEnvironmentSeries()
	m.defineClaimSeries()
	m.defineLoopSeries()
	m.BuildInfo = newBuildInfo()
	m.BuildInfo.Set(1)
	m.Registry.MustRegister(m.RunsClaimed, m.RunsFinished, m.RunDuration, m.EnvBuilds, m.EnvBuildDuration,
		m.LeaseExpiries, m.LostClaims, m.HeartbeatErrors, m.ClaimLatency, m.AckBatchSize, m.AckBatchFallbacks, m.LoopErrors, m.InfraFaults, m.QueueDepth,
		m.SlotsInUse, m.Slots, m.LastLoopTimestamp, m.BuildInfo,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// defineRunSeries defines the series of run attempts and their acks.
func (m *Metrics) defineRunSeries() {
	m.RunsClaimed = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "ade_worker_runs_claimed_total", Help: "Runs claimed by this worker.",
	})
	m.RunsFinished = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "ade_worker_runs_finished_total",
		Help: "Run attempts ended by this worker, by outcome (succeeded, failed, retried, released, lost).",
	}, []string{"outcome"})
	m.RunDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "ade_worker_run_duration_seconds",
		Help:    "Wall time of run attempts, by outcome.",
		Buckets: prometheus.ExponentialBuckets(0.05, 2, 16),
	}, []string{"outcome"})
	m.InfraFaults = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "ade_worker_infrastructure_faults_total",
		Help: "Run attempts given back unspent because the host failed them, by kind (no_space, quota, read_only, open_files).",
	}, []string{"kind"})
	m.AckBatchSize = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "ade_worker_ack_batch_size",
		Help:    "Run acks written by one group-commit transaction.",
		Buckets: prometheus.ExponentialBuckets(1, 2, 7),
	})
	m.AckBatchFallbacks = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "ade_worker_ack_batch_fallbacks_total",
		Help: "Group-commit transactions of run acks that failed; each of their acks was then written alone.",
	})
}

// defineEnvironmentSeries defines the series of environment builds.
func (m *Metrics) defineEnvironmentSeries() {
	m.EnvBuilds = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "ade_worker_environment_builds_total",
		Help: "Environment builds ended by this worker, by outcome (ready, failed, retried, released, lost).",
	}, []string{"outcome"})
	m.EnvBuildDuration = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "ade_worker_environment_build_duration_seconds",
		Help:    "Wall time of environment builds.",
		Buckets: prometheus.ExponentialBuckets(1, 2, 12),
	})
}

// defineClaimSeries defines the series of claims and their leases, for
// runs and environments alike.
func (m *Metrics) defineClaimSeries() {
	m.ClaimLatency = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "ade_worker_claim_duration_seconds",
		Help:    "Time of one claim transaction, found or not.",
		Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14),
	})
	m.LeaseExpiries = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "ade_worker_lease_expiries_total",
		Help: "Expired leases this worker's sweeps reclaimed, by kind.",
	}, []string{"kind"})
	m.LostClaims = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "ade_worker_lost_claims_total",
		Help: "Claims this worker lost while working (a fenced write changed no row), by kind.",
	}, []string{"kind"})
	m.HeartbeatErrors = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "ade_worker_heartbeat_errors_total", Help: "Heartbeats that failed with a database error.",
	})
}

// defineLoopSeries defines the series of the loop itself: its slots, its
// errors, and the queue it samples.
func (m *Metrics) defineLoopSeries() {
	m.LoopErrors = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "ade_worker_loop_errors_total", Help: "Loop iterations that failed and were retried.",
	})
	m.QueueDepth = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "ade_worker_queue_depth",
		Help: "The live queue, sampled every 15 s: runs queued or running, environments queued or building (finished runs and built environments are not counted).",
	}, []string{"table", "status"})
	m.SlotsInUse = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "ade_worker_slots_in_use", Help: "Jobs running now.",
	})
	m.Slots = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "ade_worker_slots", Help: "Configured concurrency.",
	})
	m.LastLoopTimestamp = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "ade_worker_loop_last_iteration_timestamp_seconds", Help: "When the loop last went round.",
	})
}

// newBuildInfo is ade_worker_build_info, whose labels name the build.
func newBuildInfo() prometheus.Gauge {
	v := version.Get()
	return prometheus.NewGauge(prometheus.GaugeOpts{
		Name:        "ade_worker_build_info",
		Help:        "Always 1; its labels say which build runs: module version, commit (+dirty when built from a changed tree, unknown when not recorded) and Go version.",
		ConstLabels: prometheus.Labels{"version": v.Version, "revision": v.RevisionLabel(), "go_version": v.GoVersion},
	})
}

// countStatements serves the store's statement counter (BEGIN and COMMIT
// included) as ade_worker_db_statements_total: round trips per run are what
// a remote database charges for. A registry shared by two workers keeps the
// first one's.
func (m *Metrics) countStatements(st *store.Store) {
	_ = m.Registry.Register(prometheus.NewCounterFunc(prometheus.CounterOpts{
		Name: "ade_worker_db_statements_total",
		Help: "Statements this process sent to the database, BEGIN and COMMIT included.",
	}, func() float64 { return float64(st.Statements()) }))
}
