package mempool

// DropReason says why the pool removed a transaction that did not commit.
type DropReason uint8

// Why transactions leave the pool without committing. Each is final for this
// pool; the client may submit the transaction (or a better one) again.
const (
	// DropExpired: its last valid height passed before a block included it.
	DropExpired DropReason = iota + 1
	// DropEvicted: the pool (or its sender's queue) was full and a transaction
	// paying a higher fee took its place.
	DropEvicted
	// DropReplaced: a transaction of the same sender and sequence with a higher
	// fee replaced it.
	DropReplaced
	// DropSuperseded: another transaction of the same sender and sequence
	// committed, so this one can never apply.
	DropSuperseded
	// DropFailed: a block carried it but a precondition failed at execution
	// (Dropped.Detail has the result code); it changed nothing.
	DropFailed
)

var dropReasonNames = [...]string{DropExpired: "expired", DropEvicted: "evicted", DropReplaced: "replaced",
	DropSuperseded: "superseded", DropFailed: "failed"}

// String is the reason's stable name, as the API reports it.
func (r DropReason) String() string {
	if int(r) < len(dropReasonNames) && dropReasonNames[r] != "" {
		return dropReasonNames[r]
	}
	return "unknown"
}

// Dropped describes a transaction the pool removed without its committing.
type Dropped struct {
	Hash   [32]byte
	Sender [20]byte
	Seq    uint64
	Reason DropReason
	Detail string // DropFailed: the execution result code
}

// SetDropHook installs fn, called for every transaction the pool drops (see
// DropReason). It runs under a shard lock: it must be quick and must not call
// the pool. Set it before the pool is used.
func (p *Pool[T]) SetDropHook(fn func(Dropped)) { p.onDrop = fn }

func (p *Pool[T]) dropLocked(n *node[T], reason DropReason, detail string) {
	if p.onDrop != nil {
		p.onDrop(Dropped{Hash: n.e.Hash, Sender: n.e.Sender, Seq: n.e.Seq, Reason: reason, Detail: detail})
	}
}
