package cluster

import (
	"crypto/sha256"
	"testing"

	"github.com/klauspost/compress/s2"

	"settle/engine/devnet"
	"settle/engine/sigverify"
	"settle/engine/txn"
)

// payloadOf builds a payload of n signed payments among 1,000 demo accounts.
func payloadOf(tb testing.TB, n int) ([]byte, []*txn.Tx) {
	tb.Helper()
	raws := make([][]byte, n)
	txs := make([]*txn.Tx, n)
	for i := range raws {
		k := devnet.DemoKey(devnet.ChainID, i%1000)
		tx := &txn.Tx{Type: txn.TypePayment, ChainID: devnet.ChainID, Sender: k.AccountID(), Seq: uint64(1 + i/1000), Fee: 10,
			LastValid: 1 << 40, Dest: devnet.DemoKey(devnet.ChainID, (i+1)%1000).AccountID(), Amount: 1}
		if err := txn.Sign(tx, k); err != nil {
			tb.Fatal(err)
		}
		raws[i], txs[i] = tx.Bytes(), tx
	}
	return txn.EncodeBatch(raws), txs
}

// TestPayloadSize logs what a 2,000-transaction proposal weighs on the wire, with
// transactions inline and as digests (docs/consensus.md, "Payload").
func TestPayloadSize(t *testing.T) {
	payload, txs := payloadOf(t, 2000)
	digests := len(txs) * sha256.Size
	t.Logf("2000 txs: inline payload %d bytes (s2 %d), digest payload %d bytes", len(payload), len(s2.Encode(nil, payload)), digests)
}

// BenchmarkPayloadDecode is the follower's cost for a proposal whose transactions
// it already holds (signatures skipped): split and decode 2,000 transactions.
func BenchmarkPayloadDecode(b *testing.B) {
	payload, _ := payloadOf(b, 2000)
	b.SetBytes(int64(len(payload)))
	for b.Loop() {
		if _, err := txn.DecodeBatch(payload); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPayloadVerify is the cost when none of the 2,000 transactions reached
// the follower first: decode plus one batch verification (one core).
func BenchmarkPayloadVerify(b *testing.B) {
	payload, _ := payloadOf(b, 2000)
	b.SetBytes(int64(len(payload)))
	for b.Loop() {
		txs, err := txn.DecodeBatch(payload)
		if err != nil {
			b.Fatal(err)
		}
		items := make([]sigverify.Item, len(txs))
		for i, tx := range txs {
			s := &tx.Sigs[0]
			items[i] = sigverify.Item{Pub: s.PublicKey[:], Msg: tx.SigningMessage(), Sig: s.Signature[:]}
		}
		ok := make([]bool, len(items))
		if !sigverify.VerifyBatch(items, ok) {
			b.Fatal("bad signature")
		}
	}
}

// BenchmarkPayloadHash is the cache key's cost (SHA-256 of the payload).
func BenchmarkPayloadHash(b *testing.B) {
	payload, _ := payloadOf(b, 2000)
	b.SetBytes(int64(len(payload)))
	for b.Loop() {
		sha256.Sum256(payload)
	}
}
