package node

import (
	"errors"
	"fmt"
	"io"

	"settle/engine/api"
	"settle/engine/events"
	"settle/engine/ledger"
	"settle/engine/proof"
	"settle/engine/store"
	"settle/engine/txn"
)

var _ api.Backend = (*Node)(nil)

// ChainID implements api.Backend.
func (n *Node) ChainID() string { return n.cfg.Genesis.ChainID }

// Tx implements api.Backend: committed (a block applied it: final), else
// pending (in this validator's mempool), else dropped (the mempool let it go,
// with the reason), else not found. A block that carried the transaction
// without applying it is no commit: its hash is not consumed.
func (n *Node) Tx(h txn.Hash) (api.TxStatus, error) {
	rec, err := n.store.Tx(h)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return api.TxStatus{}, err
	}
	// A record above the head is durable but not yet installed (executeBlock
	// stores, then applies and moves the head): until the head reaches it the
	// transaction is still pending, so that "committed at height H" never
	// comes before GET /v1/block/H answers.
	if err == nil && rec.Applied() && rec.Height <= n.Height() {
		tx, err := txn.Decode(rec.Raw)
		if err != nil {
			return api.TxStatus{}, fmt.Errorf("stored tx %s: %w", h, err)
		}
		return api.TxStatus{Committed: true, Record: rec, Tx: tx}, nil
	}
	if e, ok := n.pool.Lookup(h); ok {
		return api.TxStatus{Tx: e.Tx}, nil
	}
	if d, ok := n.dropped.lookup(h); ok {
		return api.TxStatus{Dropped: &api.Dropped{Reason: d.Reason, Detail: d.Detail, Height: d.Height}}, nil
	}
	return api.TxStatus{}, store.ErrNotFound
}

// Account implements api.Backend.
func (n *Node) Account(id txn.AccountID) (ledger.Account, bool) { return n.ledger.Account(id) }

// History implements api.Backend.
func (n *Node) History(id txn.AccountID, cursor string, limit int) ([]store.HistoryEntry, string, error) {
	return n.store.History(id, cursor, limit)
}

// Block implements api.Backend.
func (n *Node) Block(h uint64) (*store.BlockRecord, error) {
	if h == 0 || h > n.Height() {
		return nil, fmt.Errorf("block %d: %w", h, store.ErrNotFound)
	}
	return n.store.Block(h)
}

// Subscribe implements api.Backend.
func (n *Node) Subscribe() *events.Subscription { return n.events.Subscribe() }

// Status implements api.Backend.
func (n *Node) Status() api.Status {
	ms := n.pool.Stats()
	os := n.orderer.Status()
	meta := n.ledger.Meta()
	fill := 0.0
	if ms.TxCountMax > 0 {
		fill = float64(ms.TxCount) / float64(ms.TxCountMax)
		if b := float64(ms.Bytes) / float64(ms.BytesMax); b > fill {
			fill = b
		}
	}
	return api.Status{
		ChainID:          n.cfg.Genesis.ChainID,
		NodeID:           n.cfg.NodeID,
		Height:           meta.Height,
		View:             os.View,
		Leader:           os.Leader,
		Peers:            os.Peers,
		StateHash:        meta.StateHash.String(),
		Mempool:          api.Mempool{Count: ms.TxCount, Bytes: ms.Bytes, CountMax: ms.TxCountMax, BytesMax: ms.BytesMax, Fill: fill},
		BaseFee:          n.cfg.Genesis.BaseFee,
		MinFee:           ms.MinFee,
		Ready:            n.Ready(),
		Syncing:          os.Syncing,
		BehindBlocks:     os.BehindBlocks,
		SafetyRecovering: os.SafetyRecovering,
		TxCount:          meta.TxCount,
	}
}

// WriteMetrics implements api.Backend.
// The orderer's series follow the node's when it has any (a cluster's
// consensus, transport and gossip).
func (n *Node) WriteMetrics(w io.Writer) {
	n.metrics.refresh(n.store)
	n.metrics.set.WritePrometheus(w)
	if mw, ok := n.orderer.(interface{ WriteMetrics(io.Writer) }); ok {
		mw.WriteMetrics(w)
	}
}

// Report implements api.Reporter: settlement net positions over a height range.
func (n *Node) Report(from, to uint64, account *txn.AccountID) (*store.Report, error) {
	if to > n.Height() {
		return nil, fmt.Errorf("report to height %d beyond the committed head %d: %w", to, n.Height(), store.ErrReportRange)
	}
	return n.store.Report(from, to, account)
}

// TxProof implements api.Prover.
func (n *Node) TxProof(h txn.Hash) (*proof.Tx, error) { return n.proofs.Tx(h) }

// AccountProof implements api.Prover.
func (n *Node) AccountProof(id txn.AccountID, height uint64) (*proof.Account, error) {
	return n.proofs.Account(id, height)
}
