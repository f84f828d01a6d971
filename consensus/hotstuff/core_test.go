package hotstuff

import (
	"errors"
	"testing"

	"github.com/oasisprotocol/curve25519-voi/primitives/ed25519"

	"settle/engine/sigverify"
	"settle/internal/testkit"
)

func testConfig(t *testing.T, n, self int) Config {
	t.Helper()
	cfg := DefaultConfig()
	cfg.ChainID = "test"
	cfg.Verify = verifyZIP215
	for i := 0; i < n; i++ {
		s := testSigner(byte(i + 1))
		cfg.Validators = append(cfg.Validators, s.PublicKey())
		if i == self {
			cfg.Signer = s
		}
	}
	return cfg
}

func TestConfigValidate(t *testing.T) {
	cfg := testConfig(t, 4, 0)
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	bad := []func(c *Config){
		func(c *Config) { c.ChainID = "" },
		func(c *Config) { c.ViewTimeoutTicks = 0 },
		func(c *Config) { c.ViewTimeoutTicksMax = 1 },
		func(c *Config) { c.SyncBlocksMax = 0 },
		func(c *Config) { c.Signer = testSigner(99) },
	}
	for i, mutate := range bad {
		c := testConfig(t, 4, 0)
		mutate(&c)
		if err := c.Validate(); err == nil {
			t.Errorf("case %d: invalid config accepted", i)
		}
	}
}

// TestVoteNeedsPersistedSafety: the vote in a Ready is covered by its Safety.
func TestVoteNeedsPersistedSafety(t *testing.T) {
	leader, err := New(testConfig(t, 4, 1), Start{})
	if err != nil {
		t.Fatal(err)
	}
	rd := leader.Ready()
	leader.Advance()
	if rd.NeedPayload == nil || rd.NeedPayload.View != 1 {
		t.Fatalf("leader of view 1 should ask for a payload, got %+v", rd)
	}
	req := *rd.NeedPayload
	if err := leader.Propose(req, []byte("x")); err != nil {
		t.Fatal(err)
	}
	rd = leader.Ready()
	if rd.Safety == nil || rd.Safety.LastVotedView != 1 {
		t.Fatalf("proposal and vote without persisted safety: %+v", rd.Safety)
	}
	leader.Advance()
	if err := leader.Propose(req, []byte("y")); !errors.Is(err, ErrNoPending) {
		t.Fatalf("second proposal in one view: %v", err)
	}
	// Restarted from its safety state, the leader never proposes view 1 again.
	again, _ := New(testConfig(t, 4, 1), Start{Safety: rd.Safety})
	if r := again.Ready(); r.NeedPayload != nil {
		t.Fatalf("restarted leader asks to propose view 1 again")
	}
}

func TestCheckCoveredPanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("a vote without safety state should panic")
		}
	}()
	r := &Ready{Messages: []Envelope{{Msg: &Vote{View: 3, Voter: 0}}}}
	checkCovered(r, &SafetyState{LastVotedView: 2}, 0)
}

func TestLostSafetyStateNeedsFourValidators(t *testing.T) {
	if _, err := New(testConfig(t, 3, 0), Start{SafetyLost: true}); err == nil {
		t.Fatal("lost safety state accepted with 3 validators")
	}
}

// testSigner is a deterministic Ed25519 key for validator seed b.
func testSigner(b byte) Ed25519Signer {
	var seed [ed25519.SeedSize]byte
	seed[0] = b
	return Ed25519Signer{Key: ed25519.NewKeyFromSeed(seed[:])}
}

// verifyZIP215 is the product's rule, as the cluster driver passes it in.
func verifyZIP215(pub, msg []byte, sig Signature) bool { return sigverify.Verify(pub, msg, sig[:]) }

func TestEd25519ZIP215(t *testing.T) {
	pub, priv, _ := ed25519.GenerateKey(nil)
	s := Ed25519Signer{Key: priv}
	msg := voteSignBytes("chain", 1, Hash{})
	sig := s.Sign(msg)
	if !verifyZIP215(pub, msg, sig) || verifyZIP215(pub, voteSignBytes("other", 1, Hash{}), sig) {
		t.Fatal("domain-separated signature check failed")
	}
}

// TestCoreIsPure: the deterministic core uses no clock, global randomness,
// goroutines or I/O.
func TestCoreIsPure(t *testing.T) {
	testkit.CheckPure(t, ".", testkit.Purity{Banned: testkit.DeterministicBans, NoGoroutines: true, NoLocks: true})
}

// TestKnownQCCoversSignatures: once a QC is verified, a copy of it with one
// signature corrupted (a Byzantine leader's forgery of a certified pair) is
// still refused. A cache keyed by (view, block hash) alone accepted it, so an
// honest validator stored and served a block every other validator refused.
func TestKnownQCCoversSignatures(t *testing.T) {
	cfg := testConfig(t, 4, 0)
	vals := newValidators(cfg.Validators)
	cert := certifier{chainID: cfg.ChainID, vals: vals, verify: cfg.Verify, known: map[qcKey]struct{}{}, knownMax: 16}
	block := Hash{7}
	qc := QC{View: 5, BlockHash: block}
	for i := range 3 {
		s := testSigner(byte(i + 1))
		qc.Signers = qc.Signers.With(ValidatorIndex(i))
		qc.Sigs = append(qc.Sigs, s.Sign(voteSignBytes(cfg.ChainID, qc.View, block)))
	}
	if err := cert.verifyQC(&qc); err != nil {
		t.Fatalf("valid QC refused: %v", err)
	}
	forged := qc
	forged.Sigs = append([]Signature(nil), qc.Sigs...)
	forged.Sigs[0][0] ^= 1
	if err := cert.verifyQC(&forged); !errors.Is(err, ErrBadCertificate) {
		t.Fatalf("forged copy of a verified QC: %v, want ErrBadCertificate", err)
	}
	if err := cert.verifyQC(&qc); err != nil {
		t.Fatalf("the valid QC again: %v", err)
	}
}
