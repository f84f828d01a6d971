// Package mempool admits verified transactions, orders them per sender, and hands
// batches to block assembly. It knows nothing of the ledger or of consensus: it
// works on its own Entry type, the caller verifies signatures and stateless rules
// before Add and supplies the sender's committed next sequence, and the package
// never reads the clock except in NextBatch (assembler.go), the edge that waits.
//
// # Sharding
//
// The pool is split into Config.Shards shards (a power of two), each with its own
// lock; a sender belongs to shard xxhash(sender) & (Shards-1). Add locks one shard,
// so ingress goroutines for different senders rarely contend. The whole-pool
// bounds (TxCountMax, BytesMax) are two atomic counters reserved by
// compare-and-swap before an entry is inserted, so they hold at every instant.
// Duplicate detection is per shard: a transaction hash commits to its sender, so
// a duplicate always lands on its sender's shard (Has therefore asks every shard).
//
// # Queues
//
// Each sender has a queue sorted by sequence (at most AccountTxMax entries, none
// more than SeqAheadMax past the committed next sequence). Its front is a prefix
// of proposed entries (handed out by Reap, awaiting Commit or Requeue), then the
// ready run (entries continuing the sequence without a gap), then entries that
// wait for a gap to be filled. Per shard, ready senders sit in a list ordered by
// when they became ready (a global stamp) and in a heap by the fee of their next
// ready entry; senders whose last entry is not proposed sit in a heap by that
// last entry's fee (the eviction candidates); unproposed entries sit in a heap by
// LastValid (expiry). Nodes and account records are recycled through free lists,
// so a warmed pool's Add does not allocate.
//
// A sender's committed next sequence is the highest the pool has heard, from Add
// or Commit; a sender that leaves the pool is remembered in a bounded ring
// (RecentSendersMax), so an Add that read the state just before a Commit cannot
// re-admit a just-committed transaction.
//
// # Fee escalation
//
// The fill f is the larger of TxCount/TxCountMax and Bytes/BytesMax, in parts per
// million. With s = EscalationStartPermille/1000 and x = max(0, f-s)/(1-s):
//
//	MinFee = BaseFee + BaseFee*(EscalationFactorMax-1)*x²
//
// BaseFee below the start, BaseFee*EscalationFactorMax when full, quadratic and
// monotone between (the XRP Ledger's open-ledger escalation is also quadratic in
// fill). Integer arithmetic only. A transaction below MinFee gets a
// *FeeTooLowError with the minimum. Above s the pool is "under pressure": Reap
// orders by fee instead of by arrival.
//
// A queued (not proposed) transaction may be replaced by one with the same sender
// and sequence whose fee is at least ReplaceFeeBumpPercent (default 25%) higher;
// otherwise Add returns ErrSeqTaken. The bump stops free churn of the pool.
//
// # Eviction
//
// When a bound would be exceeded, Add evicts the lowest-fee evictable entry of the
// pool if the new fee is strictly higher, and retries (at most 8 evictions or lost
// races per Add, then ErrFull). Only the last entry of a sender's queue is
// evictable, and only if it is not proposed, so eviction never opens a gap; the
// new transaction's own sender is never the victim. A full sender queue gives way
// only to a lower sequence than its last, which displaces that last entry.
//
// # Block assembly
//
// Reap takes ready entries and marks them proposed; fair mode gives each ready
// sender one entry per round, in the order senders became ready; under pressure
// the highest next fee goes first. Commit removes a block's transactions and the
// now-stale entries of their senders; Requeue returns an abandoned block's
// entries. NextBatch closes a block on BlockTxMax, BlockBytesMax or BlockDelayMax
// after it first saw a ready entry, waiting on Ready() rather than polling.
// Entries whose LastValid has passed are dropped when Reap meets them and by a
// sweep of at most ExpirySweepMax entries per Commit, never by a scan of the pool.
//
// # Complexity
//
// With n entries in a shard, A = AccountTxMax and S = Shards:
//
//	Add       O(log n + A) under one shard lock (A for the sorted insert; usually
//	          appends); with eviction, plus O(S) brief locks per evicted entry
//	MinFee    O(1), two atomic loads
//	Has       O(S) map lookups
//	Reap      O(S) to start, then O(log S + log n) per entry taken
//	Commit    O(A + log n) per committed transaction, plus the bounded sweep
//	Requeue   O(S + A + log n) per hash
//	Stats     O(S), lock free
//
// # Concurrency
//
// Add, MinFee, Has, Ready and Stats are safe from any goroutine. Reap, Commit,
// Requeue and NextBatch belong to one block-assembly goroutine; they take an
// internal lock so that misuse serialises rather than corrupts. Block assembly
// locks one shard at a time, so ingress keeps flowing while a block is built; a
// merge across shards may therefore see an Add that arrives mid-Reap a little
// out of order, which costs fairness at most one round, never correctness.
package mempool
