package api

import (
	"fmt"
	"sync"
	"time"

	"github.com/VictoriaMetrics/metrics"

	"settle/engine/codes"
)

// apiMetrics are the API's own metrics, in a Set of their own so that several
// servers in one process (tests) never collide. /metrics writes them with the
// process metrics and the Backend's.
type apiMetrics struct {
	set      *metrics.Set
	duration map[*route]*metrics.PrometheusHistogram
	// requests holds settle_api_requests_total{route,code} counters, created on
	// first use. Bounded: routes × codes.
	requests sync.Map // requestKey → *metrics.Counter
	// txResults holds settle_api_batch_tx_results_total{code}, created on first use.
	txResults  sync.Map // codes.Code → *metrics.Counter
	batchTxs   *metrics.PrometheusHistogram
	batchBytes *metrics.PrometheusHistogram
	streams    *metrics.Counter // open event streams (a counter used as a gauge: Inc/Dec)
	readErrs   sync.Map         // codes.Code → *metrics.Counter
	// refusals holds settle_api_limit_refusals_total{limit}, one per capacity
	// limit, all registered up front.
	refusals map[string]*metrics.Counter
	// idleClosed holds settle_api_idle_connections_closed_total{reason}.
	idleClosedBy map[string]*metrics.Counter
}

// Capacity limits whose refusals are counted, labelled by their Config field
// (or a name of their own when fixed).
const (
	limitBodyBytesInFlight = "body_bytes_in_flight_max"
	limitSubmitInFlight    = "submit_in_flight_max"
	limitZstdDecodes       = "zstd_decodes_max"
	limitConcurrency       = "concurrency"
	limitConnsPerIP        = "conns_per_ip_max"
	limitProfiles          = "profiles_at_once" // fixed: one timed profile at a time
)

var allLimits = []string{limitBodyBytesInFlight, limitSubmitInFlight, limitZstdDecodes, limitConcurrency, limitConnsPerIP, limitProfiles}

// Why the node closed a connection that was waiting for a request.
const (
	idleClosedEvicted  = "evicted"  // to make room for a new connection at Concurrency
	idleClosedPressure = "pressure" // its wait, shortened under connection pressure, ran out
	idleClosedTimeout  = "timeout"  // a new connection sent nothing within ReadTimeout
)

type requestKey struct {
	r    *route
	code codes.Code
}

var (
	durationBucketsSec = []float64{0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5}
	batchTxBuckets     = []float64{1, 10, 50, 100, 250, 500, 1000, 2000, 4000, 8192}
	batchBytesBuckets  = []float64{1 << 10, 16 << 10, 64 << 10, 256 << 10, 1 << 20, 4 << 20, 16 << 20}
)

func newAPIMetrics() *apiMetrics {
	m := &apiMetrics{set: metrics.NewSet(), duration: map[*route]*metrics.PrometheusHistogram{}}
	for _, r := range allRoutes {
		m.duration[r] = m.set.NewPrometheusHistogramExt(
			fmt.Sprintf(`settle_api_request_duration_seconds{route=%q}`, r.name), durationBucketsSec)
	}
	m.batchTxs = m.set.NewPrometheusHistogramExt("settle_api_batch_txs", batchTxBuckets)
	m.batchBytes = m.set.NewPrometheusHistogramExt("settle_api_batch_decoded_bytes", batchBytesBuckets)
	m.streams = m.set.NewCounter("settle_api_event_streams_open")
	m.refusals = map[string]*metrics.Counter{}
	for _, l := range allLimits {
		m.refusals[l] = m.set.NewCounter(fmt.Sprintf(`settle_api_limit_refusals_total{limit=%q}`, l))
	}
	m.idleClosedBy = map[string]*metrics.Counter{}
	for _, r := range []string{idleClosedEvicted, idleClosedPressure, idleClosedTimeout} {
		m.idleClosedBy[r] = m.set.NewCounter(fmt.Sprintf(`settle_api_idle_connections_closed_total{reason=%q}`, r))
	}
	return m
}

// idleClosed counts one waiting connection the node closed, and why.
func (m *apiMetrics) idleClosed(reason string) { m.idleClosedBy[reason].Inc() }

// connsGauge publishes the open connections.
func (m *apiMetrics) connsGauge(l *connLimiter) {
	m.set.NewGauge("settle_api_connections_open", func() float64 {
		l.mu.Lock()
		defer l.mu.Unlock()
		return float64(l.mu.open)
	})
}

// refused counts one request or connection refused because limit was reached.
func (m *apiMetrics) refused(limit string) { m.refusals[limit].Inc() }

// bodyBudget publishes the bytes the body budget holds and counts its refusals.
func (m *apiMetrics) bodyBudget(b *byteBudget) {
	b.refusals = m.refusals[limitBodyBytesInFlight]
	m.set.NewGauge("settle_api_body_bytes_in_flight", func() float64 { return float64(b.used.Load()) })
}

// observe counts one answered request.
func (m *apiMetrics) observe(r *route, code codes.Code, start time.Time) {
	m.duration[r].UpdateDuration(start)
	m.counter(&m.requests, requestKey{r, code}, func() string {
		return fmt.Sprintf(`settle_api_requests_total{route=%q,code=%q}`, r.name, code)
	}).Inc()
}

// txResult counts n transactions of a batch answered with code.
func (m *apiMetrics) txResult(code codes.Code, n int) {
	if n == 0 {
		return
	}
	m.counter(&m.txResults, code, func() string {
		return fmt.Sprintf(`settle_api_batch_tx_results_total{code=%q}`, code)
	}).Add(n)
}

// readErrors counts requests fasthttp could not read (they never reach a route).
func (m *apiMetrics) readErrors(code codes.Code) {
	m.counter(&m.readErrs, code, func() string {
		return fmt.Sprintf(`settle_api_read_errors_total{code=%q}`, code)
	}).Inc()
}

func (m *apiMetrics) counter(cache *sync.Map, key any, name func() string) *metrics.Counter {
	if c, ok := cache.Load(key); ok {
		return c.(*metrics.Counter)
	}
	c, _ := cache.LoadOrStore(key, m.set.GetOrCreateCounter(name()))
	return c.(*metrics.Counter)
}
