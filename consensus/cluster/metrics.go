package cluster

import (
	"fmt"
	"io"
	"sync"
	"time"

	vm "github.com/VictoriaMetrics/metrics"

	"settle/consensus/hotstuff"
)

// commitLatencyBuckets are the le buckets of settle_consensus_commit_latency_seconds.
var commitLatencyBuckets = []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30}

// seenBlocksMax bounds the blocks whose first sighting is remembered for the
// commit latency; beyond it new blocks are not timed (a validator far behind).
const seenBlocksMax = 1024

// latency times blocks from their first sighting here (stored, before this
// validator voted) to their commit. Core goroutine, except the histogram.
type latency struct {
	mu   sync.Mutex
	seen map[hotstuff.Hash]seenAt
	hist *vm.PrometheusHistogram
	set  *vm.Set
}

type seenAt struct {
	at     time.Time
	height uint64
}

func newLatency() *latency {
	s := vm.NewSet()
	return &latency{seen: map[hotstuff.Hash]seenAt{}, set: s,
		hist: s.NewPrometheusHistogramExt("settle_consensus_commit_latency_seconds", commitLatencyBuckets)}
}

func (l *latency) stored(blocks []*hotstuff.Block, now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, b := range blocks {
		if _, ok := l.seen[b.Hash()]; !ok && len(l.seen) < seenBlocksMax {
			l.seen[b.Hash()] = seenAt{now, b.Height}
		}
	}
}

// committed observes the committed blocks and forgets every block at or
// below the committed height (the others of those heights lost their fork).
func (l *latency) committed(blocks []*hotstuff.Block, now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	top := uint64(0)
	for _, b := range blocks {
		if s, ok := l.seen[b.Hash()]; ok {
			l.hist.Update(now.Sub(s.at).Seconds())
			delete(l.seen, b.Hash())
		}
		top = max(top, b.Height)
	}
	for h, s := range l.seen {
		if s.height <= top {
			delete(l.seen, h)
		}
	}
}

// WriteMetrics writes the driver's Prometheus series: consensus progress,
// the commit latency, the transport per peer and lane, and gossip
// (internal/promtext lists and documents them).
func (d *Driver) WriteMetrics(w io.Writer) {
	d.latency.set.WritePrometheus(w)
	st := d.Stats()
	counter := func(name string, v uint64) { fmt.Fprintf(w, "%s %d\n", name, v) }
	counter("settle_consensus_proposals_total", st.Proposals)
	counter("settle_consensus_commits_total", st.Commits)
	counter("settle_consensus_timeouts_total", d.counters.timeouts.Load())
	counter("settle_consensus_synced_writes_total", d.counters.syncedWrites.Load())
	counter("settle_consensus_abandoned_blocks_total", st.Abandoned)
	counter("settle_consensus_bad_messages_total", st.BadMessages)
	counter("settle_consensus_slimmed_blocks_total", st.Slimmed)
	counter("settle_consensus_kept_whole_blocks_total", st.KeptWhole)
	fmt.Fprintf(w, "settle_consensus_syncing %d\n", b2i(d.syncing.Load()))
	fmt.Fprintf(w, "settle_consensus_behind_blocks %d\n", d.behind.Load())
	fmt.Fprintf(w, "settle_consensus_leader %d\n", d.leader.Load())
	counter("settle_gossip_frames_sent_total", st.GossipFrames)
	counter("settle_gossip_txs_sent_total", st.GossipTxs)
	counter(`settle_gossip_dropped_total{direction="out",unit="txs"}`, st.GossipDropsOut)
	counter(`settle_gossip_dropped_total{direction="in",unit="frames"}`, st.GossipDropsIn)
	d.gossip.mu.Lock()
	backlog := len(d.gossip.raws)
	d.gossip.mu.Unlock()
	fmt.Fprintf(w, "settle_gossip_backlog_txs %d\n", backlog)
	tr := d.running.Load()
	if tr == nil {
		return
	}
	ts := tr.Stats()
	up := 0
	for _, p := range ts.Peers {
		if p.Index == d.cfg.Self {
			continue
		}
		name := d.cfg.Validators[p.Index].Name
		fmt.Fprintf(w, "settle_transport_peer_up{peer=%q} %d\n", name, b2i(p.Connected))
		up += b2i(p.Connected)
		counter(fmt.Sprintf(`settle_transport_sent_frames_total{peer=%q,lane="consensus"}`, name), p.SentFrames)
		counter(fmt.Sprintf(`settle_transport_sent_frames_total{peer=%q,lane="gossip"}`, name), p.LowSentFrames)
		counter(fmt.Sprintf(`settle_transport_sent_bytes_total{peer=%q,lane="consensus"}`, name), p.SentBytes)
		counter(fmt.Sprintf(`settle_transport_sent_bytes_total{peer=%q,lane="gossip"}`, name), p.LowSentBytes)
		counter(fmt.Sprintf(`settle_transport_received_frames_total{peer=%q}`, name), p.RecvFrames)
		counter(fmt.Sprintf(`settle_transport_received_bytes_total{peer=%q}`, name), p.RecvBytes)
		counter(fmt.Sprintf(`settle_transport_dropped_frames_total{peer=%q,lane="consensus"}`, name), p.Drops)
		counter(fmt.Sprintf(`settle_transport_dropped_frames_total{peer=%q,lane="gossip"}`, name), p.LowDrops)
		counter(fmt.Sprintf(`settle_transport_connects_total{peer=%q}`, name), p.Connects)
		counter(fmt.Sprintf(`settle_transport_reverse_dials_total{peer=%q}`, name), p.ReverseDials)
	}
	fmt.Fprintf(w, "settle_transport_peers_connected %d\n", up)
	counter("settle_transport_receive_queue_drops_total", ts.RecvDrops)
	counter("settle_transport_handshake_failures_total", ts.HandshakeFailures)
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}
