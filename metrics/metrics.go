package metrics

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// namespace prefixes every metric name.
const namespace = "keyhaven"

// latencyBuckets span a cached show (tens of microseconds) to an RSA
// generation waiting its turn (a second or more).
var latencyBuckets = []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5}

// Metrics holds keyhaven's collectors on one registry.
type Metrics struct {
	reg          *prometheus.Registry
	requests     *prometheus.CounterVec
	latency      *prometheus.HistogramVec
	kmsLatency   *prometheus.HistogramVec
	kmsErrors    *prometheus.CounterVec
	authFailures *prometheus.CounterVec
	storeCalls   *prometheus.CounterVec
	batchSizes   prometheus.Histogram
}

// New registers keyhaven's collectors, with the Go runtime's and the
// process's, on reg.
func New(reg *prometheus.Registry) *Metrics {
	m := &Metrics{
		reg: reg,
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: namespace, Name: "http_requests_total",
			Help: "HTTP requests answered, by dialect (nova, kps, identity, ...), operation and status code."},
			[]string{"dialect", "operation", "status"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: namespace, Name: "http_request_duration_seconds",
			Help: "Time from a request's arrival to its answer, by dialect and operation.", Buckets: latencyBuckets},
			[]string{"dialect", "operation"}),
		kmsLatency: prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: namespace, Name: "kms_call_duration_seconds",
			Help: "Time of escrow calls, each of which wraps or unwraps a data key in the KMS: seal, open, rewrap.", Buckets: latencyBuckets},
			[]string{"operation"}),
		kmsErrors: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: namespace, Name: "kms_call_errors_total",
			Help: "Escrow calls to the KMS that failed, by operation."}, []string{"operation"}),
		authFailures: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: namespace, Name: "auth_failures_total",
			Help: "Requests whose credentials were refused, by method: token (X-Auth-Token, or none) or aksk (signature)."},
			[]string{"method"}),
		storeCalls: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: namespace, Name: "store_calls_total",
			Help: "Key pair store calls, each one transaction, by operation and result (ok or error)."},
			[]string{"operation", "result"}),
		batchSizes: prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: namespace, Name: "store_group_commit_batch_size",
			Help:    "Writes committed together in one transaction, for stores that group commits.",
			Buckets: prometheus.ExponentialBuckets(1, 2, 10)}),
	}
	// Every family is there from the start, at zero, so that dashboards
	// and alerts find them before the first failure.
	for _, method := range []string{"token", "aksk"} {
		m.authFailures.WithLabelValues(method)
	}
	for _, op := range []string{"seal", "open", "rewrap"} {
		m.kmsErrors.WithLabelValues(op)
	}
	reg.MustRegister(m.requests, m.latency, m.kmsLatency, m.kmsErrors, m.authFailures, m.storeCalls, m.batchSizes,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Handler serves the registry in Prometheus's text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

// ObserveRequest counts one answered request and its latency.
func (m *Metrics) ObserveRequest(dialect, operation string, status int, d time.Duration) {
	m.requests.WithLabelValues(dialect, operation, strconv.Itoa(status)).Inc()
	m.latency.WithLabelValues(dialect, operation).Observe(d.Seconds())
}

// ObserveBatch records a group commit of size writes. A store that groups
// commits is handed it as func(int) through SetBatchObserver, so that the
// store need not import this package.
func (m *Metrics) ObserveBatch(size int) { m.batchSizes.Observe(float64(size)) }

// KeyPool reports the pool's depth and capacity, read at each scrape.
func (m *Metrics) KeyPool(depth, capacity func() int) {
	m.reg.MustRegister(
		gaugeFunc("keygen_pool_keys", "Pre-generated RSA keys in the pool now.", depth),
		gaugeFunc("keygen_pool_capacity", "Most pre-generated RSA keys the pool holds (--keygen-pool).", capacity))
}

// GenerateQueue reports the key generation limit, read at each scrape.
func (m *Metrics) GenerateQueue(running, waiting, capacity func() int) {
	m.reg.MustRegister(
		gaugeFunc("keygen_running", "Key generations running now (the pool's refill included).", running),
		gaugeFunc("keygen_waiting", "Requests waiting for a key generation slot.", waiting),
		gaugeFunc("keygen_concurrency", "Key generations allowed at once (--keygen-concurrency).", capacity))
}

func gaugeFunc(name, help string, f func() int) prometheus.GaugeFunc {
	return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: namespace, Name: name, Help: help},
		func() float64 { return float64(f()) })
}
