package lightclient_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/oasisprotocol/curve25519-voi/primitives/ed25519"

	"settle/consensus/hotstuff"
	"settle/consensus/lightclient"
	"settle/engine/devnet"
	"settle/engine/ledger"
	"settle/engine/merkle"
	"settle/engine/proof"
	"settle/engine/sigverify"
	"settle/engine/txn"
)

var updateDoc = flag.Bool("update-doc", false, "rewrite the worked example in docs/protocol.md from the code")

const (
	docPath    = "../../docs/protocol.md"
	docBegin   = "<!-- proof-example:begin (TestProofDocExample writes this) -->"
	docEnd     = "<!-- proof-example:end -->"
	exampleCID = "settle-example"
)

// TestProofDocExample builds docs/protocol.md's worked proof example from
// fixed keys (nothing random: Ed25519 signatures are deterministic), checks
// that the light client accepts it, and that the document shows exactly these
// values. After a deliberate change to the format:
//
//	go test ./consensus/lightclient -run TestProofDocExample -update-doc
func TestProofDocExample(t *testing.T) {
	section, p := buildExample(t)
	g := exampleGenesis()
	trust, err := lightclient.FromGenesis(g)
	if err != nil {
		t.Fatal(err)
	}
	var h txn.Hash
	copy(h[:], p.TxHash)
	if _, err := trust.VerifyTx(p, h); err != nil {
		t.Fatalf("the worked example does not verify: %v", err)
	}
	doc, err := os.ReadFile(docPath)
	if err != nil {
		t.Fatal(err)
	}
	before, rest, ok1 := bytes.Cut(doc, []byte(docBegin))
	_, after, ok2 := bytes.Cut(rest, []byte(docEnd))
	if !ok1 || !ok2 {
		t.Fatalf("%s has no %q … %q section", docPath, docBegin, docEnd)
	}
	want := append(append(append(append([]byte{}, before...), docBegin+"\n"...), section...), docEnd...)
	want = append(want, after...)
	if *updateDoc {
		if err := os.WriteFile(docPath, want, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	if !bytes.Equal(doc, want) {
		t.Fatalf("docs/protocol.md's worked proof example differs from the code; rerun with -update-doc after a deliberate change. The code gives:\n%s", section)
	}
}

func exampleGenesis() *ledger.Genesis {
	o := devnet.DefaultOptions()
	o.ChainID, o.Accounts, o.NativeEach = exampleCID, 3, 1_000_000
	for i := range 4 {
		pub := devnet.ValidatorKey(exampleCID, i).PublicKey()
		o.Validators = append(o.Validators, ledger.GenesisValidator{Name: fmt.Sprintf("v%d", i), PublicKey: hex.EncodeToString(pub[:])})
	}
	return devnet.Genesis(o)
}

func signer(i int) hotstuff.Signer {
	return hotstuff.Ed25519Signer{Key: ed25519.NewKeyFromSeed(devnet.ValidatorKey(exampleCID, i).Seed())}
}

// buildExample executes one block of two payments, certifies a header that
// claims its state, and proves the second payment. It returns the document
// section and the proof.
func buildExample(t *testing.T) (string, *proof.Tx) {
	g := exampleGenesis()
	l, err := ledger.FromGenesis(g)
	if err != nil {
		t.Fatal(err)
	}
	genesisState := l.Meta().StateHash
	var txs []*txn.Tx
	for i, amount := range []uint64{700, 250} {
		from, to := devnet.DemoKey(exampleCID, i), devnet.DemoKey(exampleCID, i+1)
		tx := &txn.Tx{Type: txn.TypePayment, ChainID: exampleCID, Sender: from.AccountID(), Seq: 1, Fee: 10,
			LastValid: 100, Dest: to.AccountID(), Asset: txn.Native, Amount: amount}
		if err := txn.Sign(tx, from); err != nil {
			t.Fatal(err)
		}
		txs = append(txs, tx)
	}
	res := l.Execute(1, txs)
	l.Apply(res)
	m := res.Meta

	// The certified block: height 4 in view 4, on a parent certified in view
	// 3, claiming the state after height 1. Validators 0, 1 and 2 sign it.
	qc := func(view uint64, hash hotstuff.Hash) hotstuff.QC {
		q := hotstuff.QC{View: view, BlockHash: hash}
		for i := range 3 {
			q.Signers = q.Signers.With(hotstuff.ValidatorIndex(i))
			q.Sigs = append(q.Sigs, hotstuff.SignVote(signer(i), exampleCID, view, hash))
		}
		return q
	}
	parent := hotstuff.Hash(sha256.Sum256([]byte("the parent block")))
	blk := &hotstuff.Block{Parent: parent, View: 4, Height: 4, QC: qc(3, parent), Proposer: 0,
		ExecHeight: 1, ExecStateHash: hotstuff.Hash(m.StateHash), Payload: []byte("payload")}
	header := blk.HeaderBytes()
	cert := qc(4, blk.Hash())

	leaves := ledger.TxLeaves(res.Receipts)
	path := merkle.ListPath(leaves, 1)
	r := res.Receipts[1]
	p := &proof.Tx{ChainID: exampleCID, Height: 1, Index: 1, Count: uint32(len(leaves)), TxHash: r.Hash[:], Fee: r.Fee,
		Result: string(r.Result), Leg: r.Leg, Tx: txs[1].Bytes(),
		Anchor: proof.Anchor{PrevStateHash: genesisState[:], Steps: []proof.Step{{Height: 1, StateRoot: m.StateRoot[:], TxRoot: m.TxRoot[:]}},
			Header: header, Certificate: hotstuff.EncodeQC(&cert)}}
	for _, s := range path {
		p.Path = append(p.Path, proof.Hex(s[:]))
	}

	var b strings.Builder
	hx := func(v []byte) string { return hex.EncodeToString(v) }
	w := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	leaf := ledger.AppendReceiptLeaf(nil, 1, &r)
	w("Chain `%s`, four validators whose keys are `devnet.ValidatorKey(\"%s\", i)`:\n\n", exampleCID, exampleCID)
	for i, v := range g.Validators {
		w("    validator %d public key  %s\n", i, v.PublicKey)
	}
	w("\nBlock 1 holds two native payments; the second (index 1, %d units from demo account 1 to\n", txs[1].Amount)
	w("demo account 2) is proven. Its receipt leaf and the list tree:\n\n")
	w("    receipt leaf (index | hash | fee | len | result | leg)  %s\n", hx(leaf))
	w("    leaf hash   SHA-256(00 || leaf)                          %s\n", hx(leaves[1][:]))
	w("    audit path  (the sibling: leaf 0's hash)                 %s\n", hx(path[0][:]))
	w("    transaction root of block 1                              %s\n", hx(m.TxRoot[:]))
	w("\nThe state after block 1 (3 accounts and the totals leaf) and the state hash chain:\n\n")
	w("    state root after block 1                                 %s\n", hx(m.StateRoot[:]))
	w("    state hash at genesis (prev_state_hash)                  %s\n", hx(genesisState[:]))
	w("    state hash after block 1                                 %s\n", hx(m.StateHash[:]))
	w("\nThe certified header (height 4, view 4, proposer 0, exec height 1, the state hash above,\n")
	w("its parent's QC of view 3, a 7-byte payload) and its block hash:\n\n")
	w("    header       %s\n", hx(header))
	bh := blk.Hash()
	w("    block hash   %s\n", hx(bh[:]))
	vote := append([]byte("settle/hotstuff/v1\x00"), byte(len(exampleCID)))
	vote = append(append(vote, exampleCID...), 2)
	vote = append(vote, 0, 0, 0, 0, 0, 0, 0, 4)
	vote = append(vote, bh[:]...)
	pub0, _ := hex.DecodeString(g.Validators[0].PublicKey)
	if !sigverify.Verify(pub0, vote, cert.Sigs[0][:]) {
		t.Fatal("the vote bytes as documented are not what validator 0 signed")
	}
	w("\nEach signer signs the vote bytes (context | 00 | chain id length | chain id | type 2 |\n")
	w("view u64 | block hash):\n\n")
	w("    vote bytes   %s\n", hx(vote))
	w("\nThe certificate (view 4 | block hash | bitmap 01 07 | three signatures):\n\n")
	w("    certificate  %s\n", hx(p.Certificate))
	js, err := json.MarshalIndent(p, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	w("\nThe whole proof as `GET /v1/proof/tx/%s` serves it:\n\n```json\n%s\n```\n", r.Hash, js)
	return b.String(), p
}
