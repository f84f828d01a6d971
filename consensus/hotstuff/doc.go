// Package hotstuff is Settle's consensus core: chained HotStuff with a 2-chain
// commit rule and timeout certificates, as in Jolteon / DiemBFT v4.
//
// The core is a pure, deterministic state machine. It owns no goroutine, clock,
// network connection or file. A driver feeds it inputs:
//
//   - Step(from, msg): a consensus message received from validator `from`;
//   - Tick(): one unit of logical time (timeouts are counted in ticks);
//   - Propose(view, payload): the payload the driver assembled after a NeedPayload;
//   - ExecutedState(height, stateHash): the state hash after executing a committed block.
//
// After any input the driver calls Ready(), performs the actions in this order:
//
//  1. persist Ready.Safety (when non-nil) and Ready.Blocks, durably (fsync);
//  2. send Ready.Messages (and the sync requests of Ready.Fetches);
//  3. hand Ready.Committed to execution, in height order;
//  4. answer Ready.NeedPayload with Propose, log Ready.Evidence;
//
// and then calls Advance(). A vote or timeout message is never in a Ready whose
// Safety does not already cover it, so persisting before sending is enough for a
// validator never to equivocate across crashes.
//
// See docs/consensus.md for the protocol, the message formats and the safety and
// liveness arguments.
package hotstuff
