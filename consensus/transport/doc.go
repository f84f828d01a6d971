// Package transport is Settle's authenticated replica-to-replica network layer:
// length-prefixed frames over TCP between the validators of one chain.
//
// Each pair of validators shares one TCP connection, dialled by the validator with
// the lower index and accepted by the higher one. Before any frame flows, both ends
// prove they hold their validator key (see handshake.go): each sends a fresh 32-byte
// nonce and its public key, then an Ed25519 signature over SHA-256 of a
// domain-separated transcript (context, chain id, both nonces, both keys, its role).
// The peer verifies with the ZIP-215 rule (settle/engine/sigverify.Verify), refuses
// weak keys and keys outside the configured validator set, and closes the
// connection otherwise.
//
// Frames are opaque to the transport: the consensus messages inside carry their own
// signatures, made over uncompressed bytes, so compressed bytes are never hashed or
// signed. A frame larger than Config.CompressMinBytes is sent compressed (S2 by
// default, or zstd) when that makes it smaller; the per-frame flag byte says so,
// and the receiver decompresses under a memory limit and a maximum decoded size.
// docs/consensus.md ("Transport") has the measurements behind the default.
//
// Sending never blocks: every peer has two bounded queues, and a full queue drops
// the frame and counts it (consensus tolerates loss and retransmits by timeout).
// Send and Broadcast use the consensus lane; SendLow and BroadcastLow a
// low-priority lane for transaction gossip, which the writer serves only when no
// consensus frame is waiting, a bounded amount per write, so a gossip backlog
// never holds consensus frames back. The
// inbound channel is bounded too, and the reader drops when it is full, so a slow
// consumer cannot make the transport grow without limit.
//
// SetBlocked is a fault-injection knob: frames to and from the listed peers are
// dropped while the connections stay up, so tests can partition a validator and
// heal it instantly.
package transport
