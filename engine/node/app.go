package node

import (
	"context"
	"fmt"
	"time"

	"settle/engine/sigverify"
	"settle/engine/txn"
)

// Partition forwards to the orderer (chain.ErrNotCluster, a codes.NotFound, on a single validator).
func (n *Node) Partition(peers []int) error { return n.orderer.Partition(peers) }

// payloadVerifyTimeout bounds the wait for verification workers when a proposal
// is validated; the core goroutine waits on it.
const payloadVerifyTimeout = 10 * time.Second

// ValidatePayload decodes a proposed payload (a txn batch; empty is an empty
// block) and verifies the signatures of the transactions this validator's mempool
// does not hold: those it holds were verified on admission. One bad signature
// refuses the whole proposal. It returns the decoded transactions.
func (n *Node) ValidatePayload(payload []byte) ([]*txn.Tx, error) {
	if len(payload) == 0 {
		return nil, nil
	}
	raws, err := txn.SplitBatch(payload, nil)
	if err != nil {
		return nil, fmt.Errorf("payload: %w", err)
	}
	txs := make([]*txn.Tx, len(raws))
	sc := scratchPool.Get().(*scratch)
	defer scratchPool.Put(sc.reset())
	for i, raw := range raws {
		tx, err := txn.Decode(raw)
		if err != nil {
			return nil, fmt.Errorf("payload tx %d: %w", i, err)
		}
		txs[i] = tx
		if n.pool.HasFrom(tx.Sender, tx.Hash()) {
			continue
		}
		for s := range tx.Sigs {
			sg := &tx.Sigs[s]
			sc.items = append(sc.items, sigverify.Item{Pub: sg.PublicKey[:], Msg: tx.SigningMessage(), Sig: sg.Signature[:]})
			sc.owner = append(sc.owner, i)
		}
	}
	if len(sc.items) == 0 {
		return txs, nil
	}
	n.metrics.payloadVerified.Add(len(sc.items))
	sc.ok = append(sc.ok[:0], make([]bool, len(sc.items))...)
	ctx, cancel := context.WithTimeout(context.Background(), payloadVerifyTimeout)
	defer cancel()
	allOK, err := n.verifier.Verify(ctx, sc.items, sc.ok)
	if err != nil {
		return nil, fmt.Errorf("payload signatures: %w", err)
	}
	if !allOK {
		for k, ok := range sc.ok {
			if !ok {
				return nil, fmt.Errorf("payload tx %d (%s): signature does not verify", sc.owner[k], txs[sc.owner[k]].Hash())
			}
		}
	}
	return txs, nil
}

// AdmitGossip admits transactions a peer gossiped: the same checks as Submit,
// without gossiping them again. Refusals (duplicates, mostly) are expected.
func (n *Node) AdmitGossip(ctx context.Context, txs []*txn.Tx) {
	if len(txs) == 0 {
		return
	}
	errs := make([]error, len(txs))
	n.submit(ctx, txs, errs, false)
}

// NextSeq is an account's next sequence in the committed ledger (1 for an
// account that does not exist yet, the sequence its first transaction needs).
func (n *Node) NextSeq(id txn.AccountID) uint64 {
	if a, ok := n.ledger.Account(id); ok {
		return a.Seq
	}
	return 1
}

// StateHashAt implements cluster.App: the state hash stored with block height
// (none for 0: the consensus core always knows the genesis state hash).
func (n *Node) StateHashAt(height uint64) ([32]byte, bool) {
	if height == 0 {
		return [32]byte{}, false
	}
	rec, _, err := n.store.BlockHeader(height)
	if err != nil {
		return [32]byte{}, false
	}
	return rec.StateHash, true
}
