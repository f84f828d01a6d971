// Package cluster runs one validator of a HotStuff cluster: it drives a
// hotstuff.Core behind the chain.Orderer interface (engine/chain), over the authenticated TCP
// transport, with its safety state and blocks in Pebble (keys under "c/").
//
// One goroutine owns the core. Its inputs are consensus frames from the transport,
// a ticker (Config.TickPeriod; timeouts are serviced first), payloads assembled by
// a helper goroutine, and executed-state notices from the node. After every input
// it performs the core's Ready in the order the core requires:
//
//  1. persist Ready.Safety and Ready.Blocks in ONE synced Pebble batch;
//  2. send Ready.Messages and the sync requests of Ready.Fetches;
//  3. hand Ready.Committed to the CommitFunc in height order (decoded transactions,
//     the QC that certified the block as Cert);
//  4. start assembling a payload for Ready.NeedPayload, log Ready.Evidence;
//
// and then calls Advance. Transaction gossip, payload assembly and the admission
// of gossiped transactions run on their own goroutines so that none of them
// delays a vote. See docs/consensus.md, "Cluster driver".
package cluster
