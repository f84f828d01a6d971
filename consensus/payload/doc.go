// Package payload decides what a leader proposes: the transactions of its
// mempool that continue the chain its proposal extends. The cluster driver
// (consensus/cluster) and the simulator (consensus/sim) both use it, over a real
// mempool, so the simulator's seeds test the production assembly and requeue
// logic.
//
// A Tracker remembers the blocks the core accepted above the executed height,
// with their decoded transactions. For a proposal on parent P, Tracker.Chain
// collects what the blocks from P down to the executed height carry; Select then
// keeps, from a batch the mempool reaped, exactly the transactions that apply
// next on that chain: per sender, sequences continue from the committed state
// through the ancestors without a gap, and nothing an ancestor carries is
// included again. What cannot go in now returns to the mempool (Requeue); what
// an ancestor already carries stays proposed until that block commits or is
// abandoned.
//
// Why both rules, when the mempool already hands out consecutive sequences: the
// mempool's "proposed" mark is local. A leader whose block for sequence s was
// orphaned (never certified) still holds s as proposed, so its mempool offers
// s+1 next; and a transaction another leader put in an ancestor is only "ready"
// here (it came by gossip). Select checks each candidate against the chain
// itself, so a proposal never orders an account out of sequence and never
// re-includes an ancestor's transaction, whatever the local mempool believes.
package payload
