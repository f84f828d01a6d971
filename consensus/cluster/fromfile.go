package cluster

import (
	"encoding/hex"
	"fmt"
	"path/filepath"
	"time"

	"settle/engine/chain"
	"settle/engine/ledger"
	"settle/engine/node"
)

// FromFile returns the orderer factory for the validator a config file
// describes: nil (Solo) when the genesis names one validator, else a cluster
// driver built from fc.Cluster. cfgPath locates the wiped-disk marker,
// <config dir>/<node id>.started.
func FromFile(fc *node.FileConfig, cfg node.Config, cfgPath string, logf func(string, ...any)) (node.OrdererFactory, error) {
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
		return nil, err
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
		Logf:                logf,
	}
	for i, v := range g.Validators {
		pub, err := hex.DecodeString(v.PublicKey)
		if err != nil {
			return nil, fmt.Errorf("genesis validator %d: %w", i, err)
		}
		ccfg.Validators = append(ccfg.Validators, Validator{Name: v.Name, PublicKey: pub, Addr: v.Address})
	}
	return func(n *node.Node) (chain.Orderer, error) {
		c := ccfg
		c.DB, c.Pool, c.App = n.Store().DB(), n.Pool(), n
		return New(c)
	}, nil
}

// The validator pipeline is the driver's App.
var _ App = (*node.Node)(nil)
