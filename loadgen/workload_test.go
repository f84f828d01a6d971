package loadgen

import (
	"crypto/sha256"
	"encoding/hex"
	"math"
	"strconv"
	"testing"

	"settle/engine/txn"
)

func TestDemoKeyDerivation(t *testing.T) {
	// The derivation is a contract with the dev genesis: check it against the
	// formula written out independently, and pin one public key.
	for _, tc := range []struct {
		chain string
		i     int
	}{{"settle-dev", 0}, {"settle-dev", 1}, {"other", 12345}} {
		seed := sha256.Sum256([]byte("settle/demo/" + tc.chain + "/" + strconv.Itoa(tc.i)))
		want, err := txn.KeyFromSeed(seed[:])
		if err != nil {
			t.Fatal(err)
		}
		if got := DemoKey(tc.chain, tc.i); got.PublicKey() != want.PublicKey() {
			t.Errorf("DemoKey(%q, %d) differs from SHA-256 of the documented string", tc.chain, tc.i)
		}
	}
	pub := DemoKey("settle-dev", 0).PublicKey()
	if got := hex.EncodeToString(pub[:]); got != demoKey0Pub {
		t.Errorf("DemoKey(settle-dev, 0) public key = %s, want %s", got, demoKey0Pub)
	}
	keys := DemoKeys("settle-dev", 300)
	if keys[299].PublicKey() != DemoKey("settle-dev", 299).PublicKey() {
		t.Error("DemoKeys disagrees with DemoKey")
	}
}

// demoKey0Pub pins DemoKey("settle-dev", 0) so that a change to the derivation is caught.
const demoKey0Pub = "c681db5e50937d56500bad02e16e6dea641e16de67befe45047c40378889fcc1"

func testEnv(n int) Env {
	env := Env{ChainID: "settle-test", Accounts: make([]txn.AccountID, n), StartSeqs: make([]uint64, n)}
	for i := range n {
		env.Accounts[i][0], env.Accounts[i][1] = byte(i>>8)+1, byte(i)
		env.StartSeqs[i] = uint64(1 + i%3)
	}
	return env
}

func testSpec(dist string, seed uint64) PaymentSpec {
	return PaymentSpec{Dist: dist, ZipfS: 1, InterbankLarge: 4, InterbankShare: 0.8, Seed: seed,
		AmountMin: 5, AmountMax: 500, Fee: 10, LastValid: 1 << 40}
}

func generate(t *testing.T, spec PaymentSpec, env Env, n int) ([]txn.Tx, []int) {
	t.Helper()
	w, err := NewPayments(spec, env)
	if err != nil {
		t.Fatal(err)
	}
	txs, signers := make([]txn.Tx, n), make([]int, n)
	for i := range txs {
		signers[i] = w.Next(&txs[i])
	}
	return txs, signers
}

func TestPaymentsDeterministic(t *testing.T) {
	env := testEnv(50)
	for _, dist := range []string{DistUniform, DistZipf, DistInterbank} {
		a, _ := generate(t, testSpec(dist, 7), env, 2000)
		b, _ := generate(t, testSpec(dist, 7), env, 2000)
		c, _ := generate(t, testSpec(dist, 8), env, 2000)
		same := 0
		for i := range a {
			if a[i].Sender != b[i].Sender || a[i].Dest != b[i].Dest || a[i].Amount != b[i].Amount || a[i].Seq != b[i].Seq {
				t.Fatalf("%s: transaction %d differs between two runs with seed 7", dist, i)
			}
			if a[i].Sender == c[i].Sender && a[i].Dest == c[i].Dest && a[i].Amount == c[i].Amount {
				same++
			}
		}
		if same > len(a)/10 {
			t.Errorf("%s: seeds 7 and 8 agree on %d of %d transactions", dist, same, len(a))
		}
	}
}

func TestPaymentsSequencesAndFields(t *testing.T) {
	env := testEnv(20)
	txs, signers := generate(t, testSpec(DistZipf, 3), env, 5000)
	next := append([]uint64(nil), env.StartSeqs...)
	for i, tx := range txs {
		s := signers[i]
		switch {
		case tx.Sender != env.Accounts[s]:
			t.Fatalf("tx %d: signer %d is not the sender", i, s)
		case tx.Seq != next[s]:
			t.Fatalf("tx %d: sequence %d, want %d (sequences follow generation order)", i, tx.Seq, next[s])
		case tx.Dest == tx.Sender:
			t.Fatalf("tx %d pays itself", i)
		case tx.Amount < 5 || tx.Amount > 500 || tx.Fee != 10 || tx.ChainID != "settle-test":
			t.Fatalf("tx %d: fields out of spec: %+v", i, tx)
		}
		next[s]++
	}
}

func TestZipfSkew(t *testing.T) {
	const n, draws = 100, 50000
	_, signers := generate(t, testSpec(DistZipf, 11), testEnv(n), draws)
	counts := make([]int, n)
	for _, s := range signers {
		counts[s]++
	}
	harmonic := 0.0
	for i := 1; i <= n; i++ {
		harmonic += 1 / float64(i)
	}
	for _, rank := range []int{0, 1, 9} {
		want := 1 / float64(rank+1) / harmonic
		got := float64(counts[rank]) / draws
		if math.Abs(got-want) > 0.01 {
			t.Errorf("account %d sends %.4f of payments, want %.4f (Zipf s=1)", rank, got, want)
		}
	}
	if !(counts[0] > counts[1] && counts[1] > counts[9] && counts[9] > counts[99]) {
		t.Errorf("Zipf counts not decreasing with rank: %d %d %d %d", counts[0], counts[1], counts[9], counts[99])
	}
	_, uni := generate(t, testSpec(DistUniform, 11), testEnv(n), draws)
	top := 0
	for _, s := range uni {
		if s == 0 {
			top++
		}
	}
	if share := float64(top) / draws; math.Abs(share-0.01) > 0.004 {
		t.Errorf("uniform: account 0 sends %.4f, want 0.01", share)
	}
}

func TestInterbankShare(t *testing.T) {
	const draws = 20000
	txs, signers := generate(t, testSpec(DistInterbank, 5), testEnv(200), draws)
	env := testEnv(200)
	largeSend, largeRecv := 0, 0
	large := map[txn.AccountID]bool{}
	for i := range 4 {
		large[env.Accounts[i]] = true
	}
	for i, s := range signers {
		if s < 4 {
			largeSend++
		}
		if large[txs[i].Dest] {
			largeRecv++
		}
	}
	if share := float64(largeSend) / draws; math.Abs(share-0.8) > 0.02 {
		t.Errorf("large participants send %.3f of payments, want 0.8", share)
	}
	if share := float64(largeRecv) / draws; share < 0.6 {
		t.Errorf("large participants receive %.3f of payments, want most", share)
	}
}

func TestNewPaymentsRejectsBadSpecs(t *testing.T) {
	env := testEnv(10)
	bad := []PaymentSpec{
		{Dist: "pareto", AmountMin: 1, AmountMax: 1},
		{Dist: DistZipf, ZipfS: -1, AmountMin: 1, AmountMax: 1},
		{Dist: DistInterbank, InterbankLarge: 0, InterbankShare: 0.5, AmountMin: 1, AmountMax: 1},
		{Dist: DistUniform, AmountMin: 0, AmountMax: 1},
		{Dist: DistUniform, AmountMin: 5, AmountMax: 4},
	}
	for _, spec := range bad {
		if _, err := NewPayments(spec, env); err == nil {
			t.Errorf("NewPayments(%+v) accepted a bad spec", spec)
		}
	}
	if _, err := NewPayments(testSpec(DistUniform, 1), testEnv(1)); err == nil {
		t.Error("one account accepted")
	}
}
