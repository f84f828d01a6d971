package cluster_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"settle/consensus/hotstuff"
	"settle/consensus/lightclient"
	"settle/engine/api"
	"settle/engine/client"
	"settle/engine/codes"
	"settle/engine/node"
	"settle/engine/proof"
	"settle/engine/store"
	"settle/engine/txn"
	"settle/internal/testkit"
)

var flagUpdateVectors = flag.Bool("update-vectors", false, "rewrite consensus/lightclient/testdata/proofs.json from a live cluster")

// TestProofsFromLiveCluster: a real four-validator cluster serves proofs of a
// committed payment and of account states that a light client holding only
// the genesis accepts, and every kind of tampering is refused with its reason.
// With -update-vectors it writes the test-vector file that
// consensus/lightclient checks (valid and invalid proofs).
func TestProofsFromLiveCluster(t *testing.T) {
	c := startInProcess(t, 4, 6, nil)
	// A first payment, so that the proven one is above height 1 and the
	// payee's balance before it can be proven too (a quiet cluster commits
	// nothing before the first transaction).
	first := []*txn.Tx{payment(t, 0, 1, 1, 5)}
	c.nodes[0].n.Submit(c.ctx, first, make([]error, 1))
	waitUntil(t, "the first payment commits", func() bool { return c.nodes[2].n.Ledger().Meta().TxCount == 1 })
	// Several payments in one submission, so that they share a block and
	// the proven one has a real audit path.
	pay := payment(t, 1, 2, 1, 250)
	txs := []*txn.Tx{payment(t, 3, 4, 1, 1), payment(t, 4, 5, 1, 1), pay, payment(t, 5, 0, 1, 1), payment(t, 0, 3, 2, 1)}
	errs := make([]error, len(txs))
	c.nodes[0].n.Submit(c.ctx, txs, errs)
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	srv := c.nodes[2].n // any validator serves proofs; not the one that took the payment
	var txp *proof.Tx
	testkit.WaitFor(t, 60*time.Second, "a proof of the payment", func() bool {
		p, err := srv.TxProof(pay.Hash())
		if err != nil && codes.Of(err) != codes.NotReady && !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("tx proof: %v", err)
		}
		txp = p
		return err == nil
	})
	trust, err := lightclient.FromGenesis(c.g)
	if err != nil {
		t.Fatal(err)
	}
	txp = roundTrip(t, txp)
	vt, err := trust.VerifyTx(txp, pay.Hash())
	if err != nil {
		t.Fatalf("valid tx proof refused: %v", err)
	}
	if vt.Receipt.Result != codes.Success || vt.Tx == nil || vt.Tx.Amount != 250 || vt.Signers < 3 {
		t.Fatalf("verified %+v", vt)
	}

	from, to := payment(t, 1, 2, 1, 1).Sender, payment(t, 1, 2, 1, 1).Dest
	ap, err := srv.AccountProof(to, txp.Height)
	if err != nil {
		t.Fatalf("account proof at %d: %v", txp.Height, err)
	}
	ap = roundTrip(t, ap)
	va, err := trust.VerifyAccount(ap, to)
	if err != nil {
		t.Fatalf("valid account proof refused: %v", err)
	}
	before, err := srv.AccountProof(to, txp.Height-1)
	if err != nil {
		t.Fatal(err)
	}
	vb, err := trust.VerifyAccount(before, to)
	if err != nil || va.Account == nil || vb.Account == nil || va.Account.Native != vb.Account.Native+250 {
		t.Fatalf("the payee's balance across the payment: %v, %+v then %+v", err, vb.Account, va.Account)
	}
	var nobody txn.AccountID
	nobody[3] = 0x5e
	absent, err := srv.AccountProof(nobody, 0)
	if err != nil {
		t.Fatal(err)
	}
	absent = roundTrip(t, absent)
	if v, err := trust.VerifyAccount(absent, nobody); err != nil || v.Account != nil {
		t.Fatalf("absence proof: %v %+v", err, v)
	}

	if txp.Count < 2 {
		t.Logf("the payment committed alone in its block: the vectors have no audit-path cases")
	}
	checkProofsOverHTTP(t, srv, pay.Hash(), to, txp.Height)
	vectors := buildVectors(t, trust, txp, ap, before, absent, from, to, nobody)
	for _, v := range vectors.Cases {
		if err := v.Check(trust); err != nil {
			t.Errorf("%s: %v", v.Name, err)
		}
	}
	if *flagUpdateVectors {
		b, err := json.MarshalIndent(vectors, "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join("..", "lightclient", "testdata", "proofs.json")
		if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("wrote %d cases to %s", len(vectors.Cases), path)
	}
}

func roundTrip[T any](t *testing.T, v *T) *T {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var out T
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return &out
}

// buildVectors derives the invalid cases from the valid proofs, one tampering
// each, with the refusal each must get.
func buildVectors(t *testing.T, trust lightclient.Trust, txp *proof.Tx, ap, before, absent *proof.Account,
	from, to, nobody txn.AccountID) *lightclient.Vectors {
	t.Helper()
	vs := &lightclient.Vectors{ChainID: trust.ChainID}
	for _, k := range trust.Validators {
		vs.Validators = append(vs.Validators, proof.Hex(k))
	}
	txc := func(name, want string, mutate func(p *proof.Tx)) {
		p := roundTrip(t, txp)
		if mutate != nil {
			mutate(p)
		}
		vs.Cases = append(vs.Cases, lightclient.Vector{Name: name, Want: want, TxHash: txp.TxHash, Tx: p})
	}
	acc := func(name, want string, src *proof.Account, id txn.AccountID, mutate func(p *proof.Account)) {
		p := roundTrip(t, src)
		if mutate != nil {
			mutate(p)
		}
		vs.Cases = append(vs.Cases, lightclient.Vector{Name: name, Want: want, Address: id.String(), Account: p})
	}
	flip := func(b proof.Hex, i int) { b[i%len(b)] ^= 1 }

	txc("valid transaction proof", "ok", nil)
	txc("tampered leaf: another fee", "path", func(p *proof.Tx) { p.Fee++ })
	txc("tampered leaf: another result", "path", func(p *proof.Tx) { p.Result = "insufficient_funds" })
	txc("another index", "path", func(p *proof.Tx) { p.Index++ })
	if len(txp.Path) > 0 {
		txc("truncated path", "path", func(p *proof.Tx) { p.Path = p.Path[:len(p.Path)-1] })
		txc("tampered sibling", "path", func(p *proof.Tx) { flip(p.Path[0], 5) })
	}
	txc("extended path", "path", func(p *proof.Tx) { p.Path = append(p.Path, make(proof.Hex, 32)) })
	txc("carried transaction is another one", "content", func(p *proof.Tx) { flip(p.Tx, len(p.Tx)-1) })
	txc("tampered transaction root", "anchor", func(p *proof.Tx) { flip(p.Steps[0].TxRoot, 0) })
	txc("tampered previous state hash", "anchor", func(p *proof.Tx) { flip(p.PrevStateHash, 3) })
	txc("steps cut short of the certified height", "anchor", func(p *proof.Tx) {
		if len(p.Steps) > 1 {
			p.Steps = p.Steps[:len(p.Steps)-1]
		} else {
			p.Steps = append(p.Steps, p.Steps[0])
			p.Steps[1].Height++
		}
	})
	txc("steps out of order", "malformed", func(p *proof.Tx) { p.Steps[0].Height++ })
	txc("tampered header (a header of a fork)", "certificate", func(p *proof.Tx) { flip(p.Header, 10) })
	txc("header with another payload", "certificate", func(p *proof.Tx) { flip(p.Header, len(p.Header)-1) })
	// A real certified header and its certificate, of another height: the
	// signatures hold, the claim does not match the proof's roots.
	if !bytes.Equal(before.Header, txp.Header) { // one header may anchor both heights
		txc("certified header of another height", "anchor", func(p *proof.Tx) { p.Header, p.Certificate = before.Header, before.Certificate })
	}
	txc("truncated header", "malformed", func(p *proof.Tx) { p.Header = p.Header[:len(p.Header)-1] })
	txc("forged certificate signature", "certificate", func(p *proof.Tx) { flip(p.Certificate, len(p.Certificate)-1) })
	txc("too few signers", "certificate", func(p *proof.Tx) { p.Certificate = dropSigners(t, p.Certificate) })
	// The same validators on another chain: a certificate signed for one
	// chain id verifies for no other.
	txc("certificate of another chain", "certificate", func(p *proof.Tx) { p.ChainID = "another-chain" })
	vs.Cases[len(vs.Cases)-1].TrustChainID = "another-chain"
	txc("a proof of another chain", "wrong_chain", nil)
	vs.Cases[len(vs.Cases)-1].TrustChainID = "another-chain"

	acc("valid account proof", "ok", ap, to, nil)
	acc("valid absence proof", "ok", absent, nobody, nil)
	acc("tampered value", "content", ap, to, func(p *proof.Account) { flip(p.Value, 30) })
	acc("value hash and value both tampered", "path", ap, to, func(p *proof.Account) {
		flip(p.Value, 30)
		p.Leaf.ValueHash = hashHex(p.Value)
	})
	acc("proof of one account for another", "content", ap, from, nil)
	acc("absent claimed for a present account", "path", ap, to, func(p *proof.Account) { p.Leaf, p.Value = nil, nil })
	acc("tampered state root", "anchor", ap, to, func(p *proof.Account) { flip(p.Steps[0].StateRoot, 0) })
	acc("tampered sibling", "path", ap, to, func(p *proof.Account) { flip(p.Siblings[len(p.Siblings)-1], 1) })
	acc("dropped sibling", "path", ap, to, func(p *proof.Account) { p.Siblings = p.Siblings[1:] })
	acc("value carried in an absence proof", "content", absent, nobody, func(p *proof.Account) { p.Value = ap.Value })
	return vs
}

// dropSigners removes signers from an encoded QC until it is one short of a
// quorum of four (3): the bitmap then says 2 signers and carries 2 signatures.
func dropSigners(t *testing.T, enc proof.Hex) proof.Hex {
	t.Helper()
	qc, err := hotstuff.DecodeQC(enc)
	if err != nil {
		t.Fatal(err)
	}
	idx := qc.Signers.Indices()
	var short hotstuff.Bitmap
	for _, i := range idx[:2] {
		short = short.With(i)
	}
	qc.Signers, qc.Sigs = short, qc.Sigs[:2]
	return hotstuff.EncodeQC(&qc)
}

func hashHex(b []byte) proof.Hex {
	h := sha256.Sum256(b)
	return h[:]
}

// checkProofsOverHTTP serves the validator's API on real HTTP and checks that
// the proofs come back through engine/client the same, and that the answers
// match docs/openapi.yaml.
func checkProofsOverHTTP(t *testing.T, n *node.Node, h txn.Hash, id txn.AccountID, height uint64) {
	t.Helper()
	ctx := t.Context()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := api.New(api.Config{}, n)
	go srv.Serve(ln)
	defer srv.Shutdown(ctx)
	base := "http://" + ln.Addr().String()
	c, err := client.New(base)
	if err != nil {
		t.Fatal(err)
	}
	tp, err := c.TxProof(ctx, h)
	if err != nil {
		t.Fatalf("GET tx proof: %v", err)
	}
	if direct, _ := n.TxProof(h); !reflect.DeepEqual(roundTrip(t, direct), tp) {
		t.Fatalf("the tx proof over HTTP differs from the node's")
	}
	if _, err := c.AccountProof(ctx, id, height); err != nil {
		t.Fatalf("GET account proof: %v", err)
	}

	oa := testkit.LoadOpenAPI(t, "../../docs/openapi.yaml")
	for _, path := range []string{"/v1/proof/tx/" + h.String(), fmt.Sprintf("/v1/proof/account/%s?height=%d", id, height),
		"/v1/proof/account/" + id.String()} {
		req, err := http.NewRequestWithContext(ctx, "GET", base+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		if status, body := oa.Call(t, req, nil, true); status != 200 {
			t.Fatalf("%s: %d %s", path, status, body)
		}
	}
}
