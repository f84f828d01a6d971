package cluster

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/oasisprotocol/curve25519-voi/primitives/ed25519"

	"settle/consensus/hotstuff"
	"settle/consensus/transport"
	"settle/engine/txn"
	"settle/internal/defaults"
	"settle/mempool"
)

// App is what the driver needs from the validator's pipeline (engine/node).
type App interface {
	// ValidatePayload decodes a proposed payload (a txn batch) and checks the
	// signatures of the transactions this validator has not verified yet (those
	// its mempool holds were verified on admission). An error refuses the block.
	ValidatePayload(payload []byte) ([]*txn.Tx, error)
	// AdmitGossip admits transactions a peer gossiped, through the same checks as
	// a client submission, without gossiping them again.
	AdmitGossip(ctx context.Context, txs []*txn.Tx)
	// NextSeq is an account's next sequence in the committed ledger (as of any
	// executed height at or above the one last reported through Executed).
	NextSeq(id txn.AccountID) uint64
	// StateHashAt is this validator's state hash after executing height, from
	// its store; false if it has no record of that height.
	StateHashAt(height uint64) ([32]byte, bool)
}

// PayloadStore gives back the payload of the block executed at a height,
// byte for byte as it was proposed (engine/store.Store.BlockPayload).
type PayloadStore interface {
	BlockPayload(height uint64) ([]byte, error)
}

// Validator is one member of the genesis validator set.
type Validator struct {
	Name      string
	PublicKey []byte // 32-byte Ed25519 key
	Addr      string // replica transport address
}

// Config configures a Driver. Zero durations and counts take the defaults below.
type Config struct {
	ChainID    string
	Self       int
	Key        ed25519.PrivateKey // never logged
	Validators []Validator
	ListenAddr string // replica listen address; defaults to Validators[Self].Addr
	// Listener, when set, is used instead of listening on ListenAddr (tests bind
	// 127.0.0.1:0 first to learn every validator's address).
	Listener net.Listener
	// ReplicaPlaintext turns replica TLS off (transport.Config.DisableTLS): links
	// stay authenticated but frames cross the wire in the clear. For measured
	// comparisons only; every validator of the network must agree.
	ReplicaPlaintext bool

	DB   *pebble.DB // keys under "c/" belong to the driver
	Pool *mempool.Pool[*txn.Tx]
	App  App
	// Payloads, when set, holds every executed block's transactions: the
	// driver then keeps an executed block without its payload and rebuilds it
	// from here to serve block sync, so each transaction is stored once. Nil
	// keeps whole blocks (tests with an application that stores nothing).
	Payloads         PayloadStore
	GenesisStateHash [32]byte // the ledger's state hash at height 0

	// MarkerPath is a file written once this validator has persisted a safety
	// state. A fresh database with the marker present means a wiped disk: the core
	// then starts with SafetyLost. Empty disables the rule (tests only).
	MarkerPath string

	Block           mempool.AssemblerConfig // block limits: count, bytes, delay
	EmptyBlockDelay time.Duration           // an idle leader proposes an empty block after this
	// IdleBlocks keeps proposing empty blocks every EmptyBlockDelay when there is
	// nothing to commit (the behaviour before quiet clusters; tests that count
	// blocks without load). By default an idle cluster goes quiet (quiet()).
	IdleBlocks bool

	TickPeriod          time.Duration
	ViewTimeoutTicks    int
	ViewTimeoutTicksMax int

	GossipInterval    time.Duration // newly admitted transactions are broadcast this often
	GossipFrameTxMax  int           // transactions per gossip frame
	GossipBufferTxMax int           // transactions waiting for the next flush; more are dropped
	GossipInQueueMax  int           // received gossip frames waiting for admission; more are dropped

	// Logf receives the driver's informational lines (Info level when Log
	// is derived from it). Log, when set, receives the state changes an
	// operator watches at their levels (peer up and down: Info and Warn; a
	// view timing out: Warn); nil sends them through Logf.
	Logf func(format string, args ...any)
	Log  *slog.Logger
}

// Defaults.
const (
	TickPeriodDefault          = 20 * time.Millisecond
	ViewTimeoutTicksDefault    = 25  // 500 ms at the default tick
	ViewTimeoutTicksMaxDefault = 400 // 8 s
	EmptyBlockDelayDefault     = 100 * time.Millisecond
	GossipIntervalDefault      = 5 * time.Millisecond
	GossipFrameTxMaxDefault    = 2048
	GossipBufferTxMaxDefault   = 65536
	GossipInQueueMaxDefault    = 256
	coreInQueueMax             = 4096
	payloadCacheMax            = 256
)

func (c *Config) withDefaults() {
	defaults.Set(&c.TickPeriod, TickPeriodDefault)
	defaults.Set(&c.ViewTimeoutTicks, ViewTimeoutTicksDefault)
	defaults.Set(&c.ViewTimeoutTicksMax, ViewTimeoutTicksMaxDefault)
	defaults.Set(&c.EmptyBlockDelay, EmptyBlockDelayDefault)
	defaults.Set(&c.GossipInterval, GossipIntervalDefault)
	defaults.Set(&c.GossipFrameTxMax, GossipFrameTxMaxDefault)
	defaults.Set(&c.GossipBufferTxMax, GossipBufferTxMaxDefault)
	defaults.Set(&c.GossipInQueueMax, GossipInQueueMaxDefault)
	if c.ListenAddr == "" && c.Self >= 0 && c.Self < len(c.Validators) {
		c.ListenAddr = c.Validators[c.Self].Addr
	}
	if c.Logf == nil {
		c.Logf = func(string, ...any) {}
	}
	if c.Log == nil {
		c.Log = slog.New(logfHandler{logf: c.Logf})
	}
}

// logfHandler is a slog.Handler over a Logf: "message key=value …" lines,
// the level in front of anything above Info.
type logfHandler struct {
	logf  func(format string, args ...any)
	attrs string
}

// Enabled: Info and above (a Logf has no levels to filter debug lines by).
func (h logfHandler) Enabled(_ context.Context, l slog.Level) bool { return l >= slog.LevelInfo }

func (h logfHandler) Handle(_ context.Context, r slog.Record) error {
	var b strings.Builder
	if r.Level > slog.LevelInfo {
		b.WriteString(r.Level.String() + " ")
	}
	b.WriteString(r.Message + h.attrs)
	r.Attrs(func(a slog.Attr) bool {
		b.WriteString(" " + a.String())
		return true
	})
	h.logf("%s", b.String())
	return nil
}

func (h logfHandler) WithAttrs(as []slog.Attr) slog.Handler {
	for _, a := range as {
		h.attrs += " " + a.String()
	}
	return h
}

func (h logfHandler) WithGroup(string) slog.Handler { return h }

// Validate reports the first bad value, in a sentence.
func (c *Config) Validate() error {
	n := len(c.Validators)
	switch {
	case c.ChainID == "":
		return errors.New("cluster config: the chain id must be set")
	case n < 2:
		return fmt.Errorf("cluster config: a cluster needs at least 2 validators, not %d (use chain.Solo)", n)
	case c.Self < 0 || c.Self >= n:
		return fmt.Errorf("cluster config: self index %d is outside the %d validators", c.Self, n)
	case len(c.Key) != ed25519.PrivateKeySize:
		return errors.New("cluster config: the validator key must be an Ed25519 private key")
	case string(c.Key.Public().(ed25519.PublicKey)) != string(c.Validators[c.Self].PublicKey):
		return fmt.Errorf("cluster config: the key does not match validator %d's public key in the genesis", c.Self)
	case c.DB == nil || c.Pool == nil || c.App == nil:
		return errors.New("cluster config: a database, a mempool and an app are required")
	case c.TickPeriod < time.Millisecond:
		return fmt.Errorf("cluster config: the tick period must be at least 1ms, not %v", c.TickPeriod)
	case c.EmptyBlockDelay < 0 || c.GossipInterval < time.Millisecond:
		return errors.New("cluster config: the empty block delay must be ≥ 0 and the gossip interval ≥ 1ms")
	case c.GossipFrameTxMax < 1 || c.GossipFrameTxMax > txn.BatchTxMax:
		return fmt.Errorf("cluster config: transactions per gossip frame must be 1 to %d, not %d", txn.BatchTxMax, c.GossipFrameTxMax)
	case c.GossipBufferTxMax < c.GossipFrameTxMax || c.GossipInQueueMax < 1:
		return errors.New("cluster config: the gossip buffer must hold at least one frame and the gossip queue at least 1 frame")
	}
	for i, v := range c.Validators {
		if i != c.Self && i > c.Self && v.Addr == "" {
			return fmt.Errorf("cluster config: validator %d (%s) has no replica address", i, v.Name)
		}
	}
	if c.ListenAddr == "" && c.Listener == nil {
		return errors.New("cluster config: this validator needs a replica listen address")
	}
	if err := c.Block.Validate(); err != nil {
		return err
	}
	return c.checkLimits()
}

// PayloadBytesMax is the largest payload a block within limits b encodes to:
// the batch header, then per transaction its u16 length and its bytes
// (txn.EncodeBatch).
func PayloadBytesMax(b mempool.AssemblerConfig) int {
	return txn.BatchHeader + b.BlockBytesMax + 2*b.BlockTxMax
}

// proposalOverheadBytesMax bounds what a proposal frame carries besides its
// payload: the block header, its QC, a TC with a signature and high-QC view per
// validator, and the frame's own bytes.
func proposalOverheadBytesMax(validators int) int { return 4096 + 2*validators*(64+8+32) }

// checkLimits asserts the relations between limits that depend on each other,
// so that a full block is always one a proposal carries and every validator
// accepts: a block's transactions are one batch (at most txn.BatchTxMax), its
// encoded payload fits the core's payload limit, and a proposal carrying it
// fits a transport frame; the mempool's largest transaction fits a block.
func (c *Config) checkLimits() error {
	payload := PayloadBytesMax(c.Block)
	frame := transport.FrameBytesMaxDefault
	switch {
	case c.Block.BlockTxMax > txn.BatchTxMax:
		return fmt.Errorf("cluster config: block_tx_max %d exceeds %d: a block's transactions travel as one batch, and no validator decodes a larger one",
			c.Block.BlockTxMax, txn.BatchTxMax)
	case payload > hotstuff.PayloadBytesMax:
		return fmt.Errorf("cluster config: a full block (block_bytes_max %d plus 2 bytes for each of block_tx_max %d transactions and a %d-byte header) encodes to %d bytes, more than a proposal's %d-byte payload limit",
			c.Block.BlockBytesMax, c.Block.BlockTxMax, txn.BatchHeader, payload, hotstuff.PayloadBytesMax)
	case payload+proposalOverheadBytesMax(len(c.Validators)) > frame:
		return fmt.Errorf("cluster config: a proposal carrying a full block (%d bytes of payload) does not fit a %d-byte transport frame", payload, frame)
	case c.Pool.Config().TxBytesMax > c.Block.BlockBytesMax:
		return fmt.Errorf("cluster config: the mempool admits transactions of up to %d bytes, more than block_bytes_max %d: such a transaction would never fit a block",
			c.Pool.Config().TxBytesMax, c.Block.BlockBytesMax)
	}
	return nil
}
