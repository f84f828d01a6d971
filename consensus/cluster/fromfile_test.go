package cluster

import (
	"encoding/hex"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/oasisprotocol/curve25519-voi/primitives/ed25519"

	"settle/consensus/hotstuff"
	"settle/engine/devnet"
	"settle/engine/ledger"
	"settle/engine/node"
	"settle/mempool"
)

// TestFromFileChecksTheClusterSection: the rules engine/node cannot check alone
// (between settings with this package's defaults, the key against the genesis,
// the genesis addresses) are refused before anything starts.
func TestFromFileChecksTheClusterSection(t *testing.T) {
	dir := t.TempDir()
	o := devnet.DefaultOptions()
	o.Accounts = 2
	for i := range 4 {
		pub := devnet.ValidatorKey(o.ChainID, i).PublicKey()
		o.Validators = append(o.Validators, ledger.GenesisValidator{Name: fmt.Sprintf("v%d", i),
			PublicKey: hex.EncodeToString(pub[:]), Address: fmt.Sprintf("127.0.0.1:%d", 7750+i)})
	}
	for i := range 2 {
		key := ed25519.NewKeyFromSeed(devnet.ValidatorKey(o.ChainID, i).Seed())
		if err := node.WriteValidatorKey(filepath.Join(dir, fmt.Sprintf("v%d.key", i)), key); err != nil {
			t.Fatal(err)
		}
	}
	v0 := filepath.Join(dir, "v0.key")
	for _, tc := range []struct {
		name string
		cc   node.ClusterFileConfig
		edit func(g *ledger.Genesis)
		want string // "": accepted
	}{
		{"defaults", node.ClusterFileConfig{KeyFile: v0}, nil, ""},
		{"timeouts", node.ClusterFileConfig{KeyFile: v0, ViewTimeoutTicks: 500}, nil,
			"cluster.view_timeout_ticks_max (400) must be at least cluster.view_timeout_ticks (500)"},
		{"gossip", node.ClusterFileConfig{KeyFile: v0, GossipBufferTxMax: 100}, nil,
			"cluster.gossip_buffer_tx_max (100) must be at least cluster.gossip_frame_tx_max (2048)"},
		{"wrong key", node.ClusterFileConfig{Index: 2, KeyFile: filepath.Join(dir, "v1.key")}, nil,
			"is not the key of validator 2 (v2) in the genesis"},
		{"bad address", node.ClusterFileConfig{KeyFile: v0}, func(g *ledger.Genesis) { g.Validators[3].Address = "7753" },
			`genesis validator 3 (v3): address "7753" is not host:port`},
		{"peers", node.ClusterFileConfig{KeyFile: v0, Peers: map[string]string{"v3": "10.0.0.3:7800"}}, nil, ""},
		{"peers: unknown validator", node.ClusterFileConfig{KeyFile: v0, Peers: map[string]string{"v9": "10.0.0.9:7800"}}, nil,
			`cluster.peers names "v9", which is no validator of the genesis`},
		{"peers: bad address", node.ClusterFileConfig{KeyFile: v0, Peers: map[string]string{"v3": "10.0.0.3"}}, nil,
			`cluster.peers["v3"]: address "10.0.0.3" is not host:port`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := devnet.Genesis(o)
			g.Validators = append([]ledger.GenesisValidator(nil), g.Validators...) // edits stay in this case
			if tc.edit != nil {
				tc.edit(g)
			}
			fc := &node.FileConfig{Cluster: &tc.cc}
			_, err := FromFile(fc, node.DefaultConfig(dir, g), filepath.Join(dir, "v0.json"), nil)
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("error %v, want %q", err, tc.want)
			}
		})
	}
}

// TestBlockBytesLimitFitsAProposal: the largest block a config file may set
// (block_bytes_max and block_tx_max at their limits) encodes to a payload a
// HotStuff proposal carries: the encoding adds 2 bytes per transaction and a
// header to the transactions' bytes.
func TestBlockBytesLimitFitsAProposal(t *testing.T) {
	full := PayloadBytesMax(mempool.AssemblerConfig{BlockTxMax: node.BlockTxMaxLimit, BlockBytesMax: node.BlockBytesMaxLimit})
	if full > hotstuff.PayloadBytesMax {
		t.Fatalf("a full block encodes to %d bytes, more than the proposal payload limit %d", full, hotstuff.PayloadBytesMax)
	}
}
