package node

import (
	"fmt"
	"sync"
	"time"

	vm "github.com/VictoriaMetrics/metrics"

	"settle/engine/codes"
	"settle/engine/ledger"
	"settle/engine/store"
	"settle/mempool"
)

// metrics are the node's Prometheus series (docs/operations.md lists them).
type metrics struct {
	set           *vm.Set
	blocks        *vm.Counter
	txsCommitted  *vm.Counter
	txsSucceeded  *vm.Counter
	accepted      *vm.Counter
	badSignatures *vm.Counter
	// payloadVerified counts signatures checked at vote time: those of proposed
	// transactions that had not reached this validator's mempool.
	payloadVerified *vm.Counter
	blockTxs        *vm.PrometheusHistogram
	execSeconds     *vm.PrometheusHistogram
	commitSeconds   *vm.PrometheusHistogram
	// Cumulative counts kept elsewhere (the store, Pebble), copied in by
	// refresh before each scrape.
	writtenKeys, writtenBytes              *vm.Counter
	walBytes, flushedBytes, compactedBytes *vm.Counter
	drops                                  [mempool.DropFailed + 1]*vm.Counter // by reason
	// The RTGS queue: exits counted per block from its queue events, and the
	// committed queue's size (queueGauges).
	queueSettled [ledger.QueueOffset + 1]*vm.Counter // by mechanism: released, offset
	queueExpired *vm.Counter
	queue        queueGauges
}

// queueGauges caches ledger.QueueStats, which walks every queued entry under
// the ledger's read lock: it is computed at most once per committed height
// and only when a scrape asks, so its cost is bounded by the slower of the two
// and never lands on a request path or the executor.
type queueGauges struct {
	mu     sync.Mutex
	height uint64 // the committed height st was computed at
	valid  bool
	st     ledger.QueueStats
}

// stats returns the queue's statistics and the committed height they are of.
func (q *queueGauges) stats(l *ledger.Ledger) (ledger.QueueStats, uint64) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if h := l.Meta().Height; !q.valid || h != q.height {
		q.st, q.height, q.valid = l.QueueStats(), h, true
	}
	return q.st, q.height
}

// Prometheus buckets (le) of the block histograms.
var (
	blockTxsBuckets    = []float64{0, 1, 10, 50, 100, 250, 500, 1000, 2000, 4096, 8192, 16384}
	blockSecondsBucket = []float64{0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5}
)

func newMetrics(n *Node) *metrics {
	s := vm.NewSet()
	m := &metrics{
		set:             s,
		blocks:          s.NewCounter("settle_blocks_committed_total"),
		txsCommitted:    s.NewCounter("settle_txs_committed_total"),
		txsSucceeded:    s.NewCounter("settle_txs_succeeded_total"),
		accepted:        s.NewCounter("settle_txs_accepted_total"),
		badSignatures:   s.NewCounter("settle_bad_signatures_total"),
		payloadVerified: s.NewCounter("settle_payload_signatures_verified_total"),
		blockTxs:        s.NewPrometheusHistogramExt("settle_block_txs", blockTxsBuckets),
		execSeconds:     s.NewPrometheusHistogramExt("settle_block_execute_seconds", blockSecondsBucket),
		commitSeconds:   s.NewPrometheusHistogramExt("settle_block_commit_seconds", blockSecondsBucket),
		writtenKeys:     s.NewCounter("settle_store_written_keys_total"),
		writtenBytes:    s.NewCounter("settle_store_written_bytes_total"),
		walBytes:        s.NewCounter("settle_pebble_wal_bytes_total"),
		flushedBytes:    s.NewCounter("settle_pebble_flushed_bytes_total"),
		compactedBytes:  s.NewCounter("settle_pebble_compacted_bytes_total"),
	}
	for _, o := range []ledger.QueueOutcome{ledger.QueueReleased, ledger.QueueOffset} {
		m.queueSettled[o] = s.NewCounter(fmt.Sprintf(`settle_queue_settled_total{mechanism=%q}`, o))
	}
	m.queueExpired = s.NewCounter("settle_queue_expired_total")
	queueGauge := func(name string, f func(st ledger.QueueStats, height uint64) float64) {
		s.NewGauge(name, func() float64 { return f(m.queue.stats(n.ledger)) })
	}
	queueGauge("settle_queue_entries", func(st ledger.QueueStats, _ uint64) float64 { return float64(st.Entries) })
	queueGauge("settle_queue_urgent_entries", func(st ledger.QueueStats, _ uint64) float64 { return float64(st.Urgent) })
	queueGauge("settle_queue_value", func(st ledger.QueueStats, _ uint64) float64 { return float64(st.Value) })
	queueGauge("settle_queue_oldest_age_blocks", func(st ledger.QueueStats, height uint64) float64 {
		if st.Entries == 0 || st.OldestAt > height {
			return 0
		}
		return float64(height - st.OldestAt)
	})
	for r := mempool.DropExpired; r <= mempool.DropFailed; r++ {
		m.drops[r] = s.NewCounter(fmt.Sprintf(`settle_mempool_dropped_total{reason=%q}`, r))
	}
	s.NewGauge("settle_height", func() float64 { return float64(n.Height()) })
	s.NewGauge("settle_mempool_txs", func() float64 { return float64(n.pool.Stats().TxCount) })
	s.NewGauge("settle_mempool_bytes", func() float64 { return float64(n.pool.Stats().Bytes) })
	s.NewGauge("settle_mempool_min_fee", func() float64 { return float64(n.pool.MinFee()) })
	s.NewGauge("settle_event_subscribers", func() float64 { return float64(n.events.Subscribers()) })
	s.NewGauge("settle_view", func() float64 { return float64(n.orderer.Status().View) })
	s.NewGauge("settle_pebble_l0_files", func() float64 { return float64(n.store.Engine().L0Files) })
	return m
}

// refresh copies the store's and Pebble's cumulative counts into their
// counters (they are kept there, not incremented here).
func (m *metrics) refresh(st *store.Store) {
	w, e := st.Written(), st.Engine()
	m.writtenKeys.Set(w.Keys)
	m.writtenBytes.Set(w.Bytes)
	m.walBytes.Set(e.WALBytes)
	m.flushedBytes.Set(e.FlushedBytes)
	m.compactedBytes.Set(e.CompactedBytes)
}

func (m *metrics) block(txs int, exec, commit time.Duration, res *ledger.BlockResult) {
	m.blocks.Inc()
	m.txsCommitted.Add(txs)
	ok := 0
	for i := range res.Receipts {
		if res.Receipts[i].Result == codes.Success {
			ok++
		}
	}
	m.txsSucceeded.Add(ok)
	for i := range res.QueueEvents { // none in the common block
		switch o := res.QueueEvents[i].Outcome; o {
		case ledger.QueueReleased, ledger.QueueOffset:
			m.queueSettled[o].Inc()
		case ledger.QueueExpired:
			m.queueExpired.Inc()
		}
	}
	m.blockTxs.Update(float64(txs))
	m.execSeconds.Update(exec.Seconds())
	m.commitSeconds.Update(commit.Seconds())
}

// dropped counts a transaction the mempool let go without its committing.
// (One counter per reason, made up front: an overloaded pool evicts many
// transactions, and each would otherwise format the series name.)
func (m *metrics) dropped(r mempool.DropReason) {
	if int(r) < len(m.drops) && m.drops[r] != nil {
		m.drops[r].Inc()
	}
}

// admitted counts the outcome of a Submit call.
func (m *metrics) admitted(errs []error) {
	for _, err := range errs {
		if err == nil {
			m.accepted.Inc()
			continue
		}
		m.set.GetOrCreateCounter(fmt.Sprintf(`settle_txs_rejected_total{code=%q}`, codes.Of(err))).Inc()
	}
}
