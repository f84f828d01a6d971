package api

import (
	"context"
	"io"

	"settle/engine/events"
	"settle/engine/ledger"
	"settle/engine/store"
	"settle/engine/txn"
)

// Backend is what the HTTP API needs from a validator. engine/node implements it;
// tests may use a fake.
type Backend interface {
	// ChainID is the network's chain id.
	ChainID() string
	// Submit admits decoded transactions: chain id, admission pre-checks against the
	// committed state, batched signature verification, mempool. errs[i] is nil when
	// txs[i] was accepted, else a *codes.Error (len(errs) == len(txs)). ctx bounds
	// the wait for verification workers.
	Submit(ctx context.Context, txs []*txn.Tx, errs []error)
	// Tx returns a transaction's status: committed (a block applied it), pending
	// (in the mempool) or dropped (the mempool let it go, with the reason).
	// store.ErrNotFound when unknown.
	Tx(h txn.Hash) (TxStatus, error)
	// Account returns the committed state of an account.
	Account(id txn.AccountID) (ledger.Account, bool)
	// History pages an account's history, newest first.
	History(id txn.AccountID, cursor string, limit int) ([]store.HistoryEntry, string, error)
	// Queue returns the sender's committed RTGS queue entries in queue order
	// (ledger.Ledger.Queue: copies, at most ledger.QueuedPerAccountMax).
	Queue(sender txn.AccountID) []ledger.Queued
	// Block returns a committed block; store.ErrNotFound beyond the head.
	Block(height uint64) (*store.BlockRecord, error)
	// Height is the latest committed height (0 before the first block).
	Height() uint64
	// Status summarises the node for /v1/status.
	Status() Status
	// Subscribe streams committed blocks published from now on.
	Subscribe() *events.Subscription
	// Ready reports whether the node has recovered and accepts transactions.
	Ready() bool
	// WriteMetrics writes Prometheus text-format metrics.
	WriteMetrics(w io.Writer)
	// Every backend serves reports and answers partition requests (a single
	// validator with a codes.NotFound error): checked when it is compiled, not
	// found by a type assertion at run time.
	Reporter
	Partitioner
	Prover
}

// TxStatus is a transaction's place in the pipeline.
type TxStatus struct {
	Committed bool
	Record    *store.TxRecord // when committed
	Tx        *txn.Tx         // decoded transaction (committed or pending)
	Dropped   *Dropped        // when this validator's mempool let it go
	// Queue is where a committed transaction whose receipt is codes.Queued
	// stands in the RTGS queue; nil for every other transaction.
	Queue *QueueStatus
}

// QueueStatus is a queued transaction's place in the RTGS queue: waiting, or
// how and when it left.
type QueueStatus struct {
	Outcome  ledger.QueueOutcome // 0 while it waits
	Height   uint64              // the height whose block it left the queue in (0 while it waits)
	Priority uint8               // its priority now, or when it left; 0 when not known
	Until    uint64              // its queue_until: the last height it may settle at
}

// Dropped says why a transaction left a validator's mempool without committing.
type Dropped struct {
	Reason string // expired | evicted | replaced | superseded | failed
	Detail string // for failed: the execution result code
	Height uint64 // the committed height at the time
}

// Status is the node summary served by /v1/status.
type Status struct {
	ChainID      string   `json:"chain_id"`
	NodeID       string   `json:"node_id"`
	Height       uint64   `json:"height"`
	View         uint64   `json:"view"`
	Leader       string   `json:"leader"`
	Peers        []string `json:"peers"`
	StateHash    string   `json:"state_hash"`
	Mempool      Mempool  `json:"mempool"`
	BaseFee      uint64   `json:"base_fee"`
	MinFee       uint64   `json:"min_fee"`
	Ready        bool     `json:"ready"`
	Syncing      bool     `json:"syncing"`       // catching up with the others (then not ready)
	BehindBlocks uint64   `json:"behind_blocks"` // blocks the others committed that this node has not executed yet
	// SafetyRecovering: the validator's safety state was lost (a wiped disk) and
	// it relearns it; it follows the chain but does not vote yet.
	SafetyRecovering bool   `json:"safety_recovering"`
	TxCount          uint64 `json:"tx_count"`
	VerifyQueueLen   int    `json:"verify_queue"`
}

// Mempool is the mempool part of Status.
type Mempool struct {
	Count    int     `json:"count"`
	Bytes    int     `json:"bytes"`
	CountMax int     `json:"count_max"`
	BytesMax int     `json:"bytes_max"`
	Fill     float64 `json:"fill"`
}

// Partitioner serves fault-injection tests: POST /v1/admin/partition (operator
// token) with a JSON list of validator indexes cuts this validator off from
// them; [] heals. A validator without peers answers a codes.NotFound error.
type Partitioner interface {
	Partition(peers []int) error
}
