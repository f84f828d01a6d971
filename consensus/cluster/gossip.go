package cluster

import (
	"context"
	"time"

	"settle/consensus/hotstuff"
	"settle/engine/txn"
)

// Gossip queues newly admitted transactions (their signed encodings) for the
// next broadcast to every peer. Every validator broadcasts what its own clients
// submitted, directly to all others, so nothing is relayed twice. Gossip is best
// effort: beyond GossipBufferTxMax waiting transactions the rest are dropped (the
// transaction still reaches a block when this validator leads).
func (d *Driver) Gossip(raws [][]byte) {
	d.gossip.mu.Lock()
	room := d.cfg.GossipBufferTxMax - len(d.gossip.raws)
	if room < len(raws) {
		d.counters.gossipDropsOut.Add(uint64(len(raws) - max(room, 0)))
		raws = raws[:max(room, 0)]
	}
	d.gossip.raws = append(d.gossip.raws, raws...)
	d.gossip.mu.Unlock()
}

// gossipFrameBytesMax bounds a gossip frame: well inside a transport frame
// whatever the transactions' sizes, and short enough on the wire that the
// writer soon gets back to consensus frames.
const gossipFrameBytesMax = 1 << 20

// gossipOut broadcasts the queued transactions every GossipInterval, in frames of
// at most GossipFrameTxMax, on the transport's low-priority lane: a peer's writer
// sends them only when no consensus frame is waiting, and a full gossip queue
// drops the frame (counted in the transport's LowDrops) instead of delaying
// consensus. The receiving side serves consensus frames first too (see readLoop).
func (d *Driver) gossipOut(ctx context.Context) {
	t := time.NewTicker(d.cfg.GossipInterval)
	defer t.Stop()
	var spare [][]byte
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		d.gossip.mu.Lock()
		raws := d.gossip.raws
		d.gossip.raws = spare[:0]
		d.gossip.mu.Unlock()
		for len(raws) > 0 {
			// A frame holds at most GossipFrameTxMax transactions and
			// gossipFrameBytesMax bytes (always at least one transaction).
			n, size := 0, 1+txn.BatchHeader
			for n < len(raws) && n < d.cfg.GossipFrameTxMax && (n == 0 || size+2+len(raws[n]) <= gossipFrameBytesMax) {
				size += 2 + len(raws[n])
				n++
			}
			frame := append(make([]byte, 0, size), frameGossip)
			frame = txn.AppendBatchHeader(frame, n)
			for _, r := range raws[:n] {
				frame = txn.AppendBatchTx(frame, r)
			}
			d.tr.BroadcastLow(frame)
			d.counters.gossipFrames.Add(1)
			d.counters.gossipTxs.Add(uint64(n))
			raws = raws[n:]
		}
		spare = raws[:0]
	}
}

// readLoop dispatches received frames: consensus messages are decoded here and
// queued for the core goroutine (blocking: the transport's bounded receive queue
// then drops); gossip frames go to a separate bounded queue and are dropped when
// it is full, so admission work never delays consensus.
func (d *Driver) readLoop(ctx context.Context) {
	for in := range d.tr.Recv() {
		if len(in.Frame) == 0 {
			continue
		}
		switch in.Frame[0] {
		case frameConsensus:
			m, err := hotstuff.DecodeMessage(in.Frame[1:])
			if err != nil {
				d.counters.badMessages.Add(1)
				d.cfg.Logf("cluster: frame from %d: %v", in.From, err)
				continue
			}
			select {
			case d.coreIn <- inbound{from: in.From, msg: m}:
			case <-ctx.Done():
				return
			}
		case frameGossip:
			select {
			case d.gossipIn <- in.Frame[1:]:
			default:
				d.counters.gossipDropsIn.Add(1)
			}
		default:
			d.counters.badMessages.Add(1)
		}
	}
}

// gossipAdmit runs gossiped transactions through the node's admission.
func (d *Driver) gossipAdmit(ctx context.Context) {
	for {
		var frame []byte
		select {
		case <-ctx.Done():
			return
		case frame = <-d.gossipIn:
		}
		raws, err := txn.SplitBatch(frame, nil)
		if err != nil {
			d.counters.badMessages.Add(1)
			continue
		}
		txs := make([]*txn.Tx, 0, len(raws))
		for _, raw := range raws {
			if tx, err := txn.Decode(raw); err == nil {
				txs = append(txs, tx)
			}
		}
		d.cfg.App.AdmitGossip(ctx, txs)
	}
}
