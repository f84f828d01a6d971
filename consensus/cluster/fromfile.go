package cluster

import (
	"encoding/hex"
	"fmt"
	"log/slog"
	"net"
	"path/filepath"
	"time"

	"github.com/oasisprotocol/curve25519-voi/primitives/ed25519"

	"settle/engine/chain"
	"settle/engine/ledger"
	"settle/engine/node"
)

// FromFile returns the orderer factory for the validator a config file
// describes: nil (Solo) when the genesis names one validator, else a cluster
// driver built from fc.Cluster. cfgPath locates the wiped-disk marker,
// <config dir>/<node id>.started.
func FromFile(fc *node.FileConfig, cfg node.Config, cfgPath string, log *slog.Logger) (node.OrdererFactory, error) {
	g := cfg.Genesis
	if len(g.Validators) == 1 {
		return nil, nil
	}
	cc := fc.Cluster
	if cc == nil {
		return nil, fmt.Errorf("the genesis names %d validators: the config needs a \"cluster\" section", len(g.Validators))
	}
	key, err := node.LoadValidatorKey(cc.KeyFile)
	if err != nil {
		return nil, fmt.Errorf("config %s: %w", cfgPath, err)
	}
	if err := checkFileConfig(cc, key, g); err != nil {
		return nil, fmt.Errorf("config %s: %w", cfgPath, err)
	}
	gl, err := ledger.FromGenesis(g)
	if err != nil {
		return nil, err
	}
	ccfg := Config{
		ChainID: g.ChainID, Self: cc.Index, Key: key, ListenAddr: cc.ListenAddr,
		GenesisStateHash:    gl.Meta().StateHash,
		MarkerPath:          filepath.Join(filepath.Dir(cfgPath), cfg.NodeID+".started"),
		Block:               cfg.Assembler(),
		EmptyBlockDelay:     time.Duration(cc.EmptyBlockDelayMs) * time.Millisecond,
		TickPeriod:          time.Duration(cc.TickMs) * time.Millisecond,
		ViewTimeoutTicks:    cc.ViewTimeoutTicks,
		ViewTimeoutTicksMax: cc.ViewTimeoutTicksMax,
		GossipInterval:      time.Duration(cc.GossipIntervalMs) * time.Millisecond,
		GossipFrameTxMax:    cc.GossipFrameTxMax,
		GossipBufferTxMax:   cc.GossipBufferTxMax,
		ReplicaPlaintext:    cc.ReplicaTLS != nil && !*cc.ReplicaTLS,
		Log:                 log,
		Logf:                func(format string, args ...any) { log.Info(fmt.Sprintf(format, args...)) },
	}
	for i, v := range g.Validators {
		pub, err := hex.DecodeString(v.PublicKey)
		if err != nil {
			return nil, fmt.Errorf("genesis validator %d: %w", i, err)
		}
		addr := v.Address
		if a, ok := cc.Peers[v.Name]; ok {
			addr = a
		}
		ccfg.Validators = append(ccfg.Validators, Validator{Name: v.Name, PublicKey: pub, Addr: addr})
	}
	return func(n *node.Node) (chain.Orderer, error) {
		c := ccfg
		c.DB, c.Pool, c.App, c.Payloads = n.Store().DB(), n.Pool(), n, n.Store()
		return New(c)
	}, nil
}

// checkFileConfig checks what engine/node's config checks cannot: the rules
// between settings that need this package's defaults, and the key against the
// genesis, so that `settled run -check` finds them before a start.
func checkFileConfig(cc *node.ClusterFileConfig, key ed25519.PrivateKey, g *ledger.Genesis) error {
	c := Config{ViewTimeoutTicks: cc.ViewTimeoutTicks, ViewTimeoutTicksMax: cc.ViewTimeoutTicksMax,
		GossipFrameTxMax: cc.GossipFrameTxMax, GossipBufferTxMax: cc.GossipBufferTxMax}
	c.withDefaults()
	switch {
	case c.ViewTimeoutTicksMax < c.ViewTimeoutTicks:
		return fmt.Errorf("cluster.view_timeout_ticks_max (%d) must be at least cluster.view_timeout_ticks (%d); an absent one is its default",
			c.ViewTimeoutTicksMax, c.ViewTimeoutTicks)
	case c.GossipBufferTxMax < c.GossipFrameTxMax:
		return fmt.Errorf("cluster.gossip_buffer_tx_max (%d) must be at least cluster.gossip_frame_tx_max (%d); an absent one is its default",
			c.GossipBufferTxMax, c.GossipFrameTxMax)
	}
	if cc.Index < 0 || cc.Index >= len(g.Validators) {
		return fmt.Errorf("cluster.index must be 0 to %d, not %d", len(g.Validators)-1, cc.Index)
	}
	v := g.Validators[cc.Index]
	if hex.EncodeToString(key.Public().(ed25519.PublicKey)) != v.PublicKey {
		return fmt.Errorf("cluster.key_file %s is not the key of validator %d (%s) in the genesis", cc.KeyFile, cc.Index, v.Name)
	}
	names := map[string]bool{}
	for i, v := range g.Validators {
		names[v.Name] = true
		if v.Address == "" {
			continue // Validate decides whether this one must have one
		}
		if _, port, err := net.SplitHostPort(v.Address); err != nil || port == "" {
			return fmt.Errorf("genesis validator %d (%s): address %q is not host:port", i, v.Name, v.Address)
		}
	}
	for name, addr := range cc.Peers {
		if !names[name] {
			return fmt.Errorf("cluster.peers names %q, which is no validator of the genesis", name)
		}
		if _, port, err := net.SplitHostPort(addr); err != nil || port == "" {
			return fmt.Errorf("cluster.peers[%q]: address %q is not host:port", name, addr)
		}
	}
	return nil
}

// The validator pipeline is the driver's App.
var _ App = (*node.Node)(nil)
