package node

import (
	"errors"
	"fmt"
	"io"

	"settle/engine/api"
	"settle/engine/codes"
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
		st := api.TxStatus{Committed: true, Record: rec, Tx: tx}
		if rec.Receipt.Result == codes.Queued {
			if st.Queue, err = n.queueStatus(tx); err != nil {
				return api.TxStatus{}, err
			}
		}
		return st, nil
	}
	if e, ok := n.pool.Lookup(h); ok {
		return api.TxStatus{Tx: e.Tx}, nil
	}
	if d, ok := n.dropped.lookup(h); ok {
		return api.TxStatus{Dropped: &api.Dropped{Reason: d.Reason, Detail: d.Detail, Height: d.Height}}, nil
	}
	return api.TxStatus{}, store.ErrNotFound
}

// queueStatus finds where a committed queued transaction stands: how it left
// the queue (the store's outcome record), else waiting (the ledger's entry).
// A block's CommitBlock writes the outcome before its ledger.Apply removes the
// entry, and the head moves after both: an outcome is believed only up to the
// head (one above it is of a block not yet announced, and the transaction
// still waits as far as the head says), and an entry missing from both means
// it left between the two reads, so the outcome is read again.
func (n *Node) queueStatus(tx *txn.Tx) (*api.QueueStatus, error) {
	h := tx.Hash()
	for range 2 {
		exit, err := n.store.QueueOutcome(h)
		switch {
		case err == nil && exit.Height <= n.Height():
			return &api.QueueStatus{Outcome: exit.Outcome, Height: exit.Height, Priority: exit.Priority, Until: tx.QueueUntil}, nil
		case err != nil && !errors.Is(err, store.ErrNotFound):
			return nil, fmt.Errorf("queue status of %s: %w", h, err)
		}
		if e, ok := n.ledger.QueuedEntry(ledger.QueueID{Sender: tx.Sender, Seq: tx.Seq}); ok && e.Hash == h {
			return &api.QueueStatus{Priority: e.Priority, Until: e.Until}, nil
		}
		if err == nil {
			// It left in the block being installed: the ledger no longer has
			// it, the head does not show that block yet. Its priority until
			// then is the one the outcome record kept.
			return &api.QueueStatus{Priority: exit.Priority, Until: tx.QueueUntil}, nil
		}
	}
	return nil, fmt.Errorf("queued transaction %s is neither in the queue nor has an outcome", h)
}

// Queue implements api.Backend.
func (n *Node) Queue(sender txn.AccountID) []ledger.Queued { return n.ledger.Queue(sender) }

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
