package hotstuff

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/oasisprotocol/curve25519-voi/primitives/ed25519"
)

func testConfig(t *testing.T, n, self int) Config {
	t.Helper()
	cfg := DefaultConfig()
	cfg.ChainID = "test"
	cfg.Verify = FakeVerify
	for i := 0; i < n; i++ {
		s := FakeSigner{Key: [32]byte{byte(i + 1)}}
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
		func(c *Config) { c.Signer = FakeSigner{Key: [32]byte{99}} },
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
	if err := leader.Propose(1, []byte("x")); err != nil {
		t.Fatal(err)
	}
	rd = leader.Ready()
	if rd.Safety == nil || rd.Safety.LastVotedView != 1 {
		t.Fatalf("proposal and vote without persisted safety: %+v", rd.Safety)
	}
	leader.Advance()
	if err := leader.Propose(1, []byte("y")); !errors.Is(err, ErrNoPending) {
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

func TestEd25519ZIP215(t *testing.T) {
	pub, priv, _ := ed25519.GenerateKey(nil)
	s := Ed25519Signer{Key: priv}
	msg := voteSignBytes("chain", 1, Hash{})
	sig := s.Sign(msg)
	if !VerifyEd25519(pub, msg, sig) || VerifyEd25519(pub, voteSignBytes("other", 1, Hash{}), sig) {
		t.Fatal("domain-separated signature check failed")
	}
}

// TestCoreIsPure: the deterministic core uses no clock, global randomness,
// goroutines or I/O.
func TestCoreIsPure(t *testing.T) {
	files, _ := filepath.Glob("*.go")
	banned := []string{"time.Now", "math/rand", "go func", "\"os\"", "\"net\"", "sync.Mutex"}
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		src, _ := os.ReadFile(f)
		for _, b := range banned {
			if strings.Contains(string(src), b) {
				t.Errorf("%s uses %s", f, b)
			}
		}
	}
}
