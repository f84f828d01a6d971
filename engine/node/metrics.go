package node

import (
	"fmt"
	"time"

	vm "github.com/VictoriaMetrics/metrics"

	"settle/engine/codes"
	"settle/engine/ledger"
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
	blockTxs        *vm.Histogram
	execSeconds     *vm.Histogram
	commitSeconds   *vm.Histogram
}

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
		blockTxs:        s.NewHistogram("settle_block_txs"),
		execSeconds:     s.NewHistogram("settle_block_execute_seconds"),
		commitSeconds:   s.NewHistogram("settle_block_commit_seconds"),
	}
	s.NewGauge("settle_height", func() float64 { return float64(n.Height()) })
	s.NewGauge("settle_mempool_txs", func() float64 { return float64(n.pool.Stats().TxCount) })
	s.NewGauge("settle_mempool_bytes", func() float64 { return float64(n.pool.Stats().Bytes) })
	s.NewGauge("settle_mempool_min_fee", func() float64 { return float64(n.pool.MinFee()) })
	s.NewGauge("settle_event_subscribers", func() float64 { return float64(n.events.Subscribers()) })
	s.NewGauge("settle_view", func() float64 { return float64(n.orderer.Status().View) })
	// What each block's synced batch wrote, cumulative since start: divided by
	// settle_txs_committed_total, the keys and bytes per transaction.
	s.NewGauge("settle_store_written_keys", func() float64 { return float64(n.store.Written().Keys) })
	s.NewGauge("settle_store_written_bytes", func() float64 { return float64(n.store.Written().Bytes) })
	// What Pebble wrote after the batches (the WAL, memtable flushes and
	// compactions, cumulative since start), whoever's keys: the consensus
	// records of a cluster share the database.
	s.NewGauge("settle_pebble_wal_bytes", func() float64 { return float64(n.store.Engine().WALBytes) })
	s.NewGauge("settle_pebble_flushed_bytes", func() float64 { return float64(n.store.Engine().FlushedBytes) })
	s.NewGauge("settle_pebble_compacted_bytes", func() float64 { return float64(n.store.Engine().CompactedBytes) })
	s.NewGauge("settle_pebble_l0_files", func() float64 { return float64(n.store.Engine().L0Files) })
	return m
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
	m.blockTxs.Update(float64(txs))
	m.execSeconds.Update(exec.Seconds())
	m.commitSeconds.Update(commit.Seconds())
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
