// Package transport is Settle's encrypted, authenticated replica-to-replica
// network layer: length-prefixed frames over TCP between the validators of one
// chain.
//
// Each pair of validators shares one TCP connection, dialled by the validator with
// the lower index and accepted by the higher one, or dialled back by the higher
// one when the lower cannot reach it (it moved: runPeer). By default the connection runs
// TLS 1.3 (crypto/tls, see tls.go): each validator presents a self-signed
// certificate whose public key is its Ed25519 validator key from the genesis,
// made in memory from that key, and each end checks the other's certificate key
// against the validator set (not weak, in the set, the expected index) instead of
// a CA chain; TLS 1.3's CertificateVerify proves possession of the key. The chain
// id is bound through the ALPN protocol, which both signatures cover. Everything
// after the ClientHello, certificates included, is encrypted.
//
// Config.DisableTLS selects the older plaintext handshake (handshake.go), kept for
// measured comparisons: each end sends a fresh 32-byte nonce and its public key,
// then an Ed25519 signature over SHA-256 of a domain-separated transcript
// (context, chain id, both nonces, both keys, its role), verified with the
// ZIP-215 rule (settle/engine/sigverify.Verify); frames then travel in the clear.
//
// Frames are opaque to the transport: the consensus messages inside carry their own
// signatures, made over uncompressed bytes, so compressed bytes are never hashed or
// signed. A frame larger than Config.CompressMinBytes is sent compressed (S2 by
// default, or zstd) when that makes it smaller; the per-frame flag byte says so,
// and the receiver decompresses under a memory limit and a maximum decoded size.
// Compression happens before encryption (frames are compressed, then written to
// the TLS connection), so frame lengths follow the content. A length oracle
// (CRIME, BREACH) needs an attacker who watches the link and can place chosen
// bytes beside a secret in one compressed frame, many times over; votes and
// certificates hold no secret, and proposals and gossip batches mix thousands of
// high-entropy transactions, so this is judged acceptable. docs/consensus.md
// ("Transport") discusses it.
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
