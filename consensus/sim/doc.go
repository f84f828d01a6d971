// Package sim is a deterministic cluster simulator for the HotStuff core.
//
// N replicas run the real settle/consensus/hotstuff core over a virtual network
// and a virtual clock, both driven by one math/rand source seeded explicitly (never
// the global one). The network delays, drops, duplicates and reorders messages and
// can be partitioned and healed; replicas crash and restart from what they
// persisted (or from a wiped disk); Byzantine replicas equivocate, double vote,
// propose invalid blocks, forge signatures and certificates, withhold votes, or run
// as Twins (two replicas sharing one key).
//
// After every step the cluster checks safety (no two honest replicas commit
// different blocks at one height), that equal heights give equal state hashes, and
// the executor's own invariants; after the final heal it checks liveness (every
// honest replica commits new blocks within a bounded virtual time). A failing seed
// prints the command that reproduces it.
//
// The replicated application is a hash chain by default; LedgerApp runs the real
// ledger engine instead (one ledger per replica from one devnet genesis, leaders
// proposing signed payments, ValidatePayload verifying signatures with sigverify,
// and the ledger's supply invariants checked after every commit).
package sim
