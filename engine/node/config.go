package node

import (
	"fmt"
	"time"

	"settle/engine/ledger"
	"settle/mempool"
)

// Config is one validator's configuration.
type Config struct {
	DataDir string
	Genesis *ledger.Genesis
	NodeID  string

	Mempool       mempool.Config
	BlockTxMax    int
	BlockBytesMax int
	BlockDelayMax time.Duration

	VerifyWorkers  int // 0: one per core
	VerifyQueueMax int // chunks waiting for a verification worker
	ExecQueueMax   int // committed blocks waiting for execution
	EventQueueMax  int // blocks a commit-stream subscriber may lag

	// SkipInvariantCheck skips the O(accounts) supply check at start-up.
	SkipInvariantCheck bool

	// ProofHeightsKept is how many recent heights' state trees the ledger
	// keeps for state proofs (0: ledger.ProofHeightsKeptDefault).
	ProofHeightsKept int
	// BenchStateRootOff stops maintaining the state tree, to measure what it
	// costs (ledger.DisableStateRoot). Never for a network: a validator with
	// it diverges from one without at its first block.
	BenchStateRootOff bool
}

// DefaultConfig returns production defaults for genesis g in dataDir.
func DefaultConfig(dataDir string, g *ledger.Genesis) Config {
	mp := mempool.DefaultConfig()
	mp.BaseFee = g.BaseFee
	return Config{
		DataDir:        dataDir,
		Genesis:        g,
		NodeID:         "node0",
		Mempool:        mp,
		BlockTxMax:     8192,
		BlockBytesMax:  4 << 20,
		BlockDelayMax:  20 * time.Millisecond,
		VerifyQueueMax: 1024,
		ExecQueueMax:   2,
		EventQueueMax:  4096,
	}
}

// Validate checks the configuration in plain sentences.
func (c *Config) Validate() error {
	switch {
	case c.DataDir == "":
		return fmt.Errorf("the data directory must be set")
	case c.Genesis == nil:
		return fmt.Errorf("a genesis is required")
	case c.BlockTxMax <= 0 || c.BlockBytesMax <= 0 || c.BlockDelayMax <= 0:
		return fmt.Errorf("block limits (transactions %d, bytes %d, delay %v) must be positive", c.BlockTxMax, c.BlockBytesMax, c.BlockDelayMax)
	case c.VerifyQueueMax <= 0 || c.ExecQueueMax <= 0 || c.EventQueueMax <= 0:
		return fmt.Errorf("queue bounds must be positive")
	case c.Mempool.BaseFee != c.Genesis.BaseFee:
		return fmt.Errorf("mempool base fee %d differs from the genesis base fee %d", c.Mempool.BaseFee, c.Genesis.BaseFee)
	}
	if err := c.Mempool.Validate(); err != nil {
		return fmt.Errorf("mempool: %w", err)
	}
	return c.Genesis.Validate()
}

// Assembler is the block limits as the mempool's assembler takes them.
func (c *Config) Assembler() mempool.AssemblerConfig {
	return mempool.AssemblerConfig{BlockTxMax: c.BlockTxMax, BlockBytesMax: c.BlockBytesMax, BlockDelayMax: c.BlockDelayMax}
}
