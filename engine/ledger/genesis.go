package ledger

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"

	"settle/engine/sigverify"
	"settle/engine/txn"
)

// Genesis is the initial state of a network, shared by every validator. Its JSON form
// is documented in docs/genesis.md.
type Genesis struct {
	ChainID     string             `json:"chain_id"`
	GenesisTime int64              `json:"genesis_time_ms"`
	BaseFee     uint64             `json:"base_fee"`
	Validators  []GenesisValidator `json:"validators"`
	Accounts    []GenesisAccount   `json:"accounts"`
	Assets      []GenesisAsset     `json:"assets"`
	// ComplianceAuthority (an address) may set outflow limits on any account and
	// asset (limits_set); empty: only issuers, for their own assets.
	ComplianceAuthority string `json:"compliance_authority,omitempty"`
	// Queue configures the RTGS queue's bounds and its liquidity-saving
	// mechanism; omitted: the defaults (QueueDefaults).
	Queue *GenesisQueue `json:"queue,omitempty"`
}

// GenesisQueue configures the RTGS queue (docs/ledger.md, "Queued payments
// and liquidity saving"). Every field is consensus-critical: all validators
// must run the same.
type GenesisQueue struct {
	// GridlockEveryBlocks runs gridlock resolution at the end of every block
	// whose height it divides; 0 turns it off (plain RTGS with queues).
	GridlockEveryBlocks uint64 `json:"gridlock_every_blocks"`
	// GridlockEntriesMax bounds the entries one resolution considers (the
	// first in queue order); 0: the default.
	GridlockEntriesMax int `json:"gridlock_entries_max,omitempty"`
	// GridlockRoundsMax bounds the rounds of partial optimisation; 0: the default.
	GridlockRoundsMax int `json:"gridlock_rounds_max,omitempty"`
	// ReleaseAttemptsMax bounds the queued entries tried by the end-of-block
	// release; 0: the default.
	ReleaseAttemptsMax int `json:"release_attempts_max,omitempty"`
	// ExpiriesMax bounds the entries one block removes on expiry; those past
	// it (a mass cut-off) leave in the next blocks and meanwhile cannot
	// settle. 0: the default.
	ExpiriesMax int `json:"expiries_max,omitempty"`
}

// The queue's defaults and the largest values a genesis may set.
const (
	GridlockEveryBlocksDefault = 10
	GridlockEntriesDefault     = 4_096
	GridlockRoundsDefault      = 32
	ReleaseAttemptsDefault     = 4_096
	ExpiriesDefault            = 4_096
	expiriesLimit              = 1_000_000
	gridlockEveryBlocksMax     = 1_000_000
	gridlockEntriesLimit       = 1_000_000
	gridlockRoundsLimit        = 1_000
	releaseAttemptsLimit       = 1_000_000
)

// queueParams are a genesis's queue settings with the defaults filled in.
type queueParams struct {
	gridlockEveryBlocks uint64
	gridlockEntriesMax  int
	gridlockRoundsMax   int
	releaseAttemptsMax  int
	expiriesMax         int
}

// QueueDefaults returns the queue settings a genesis without "queue" runs.
func QueueDefaults() GenesisQueue {
	return GenesisQueue{GridlockEveryBlocks: GridlockEveryBlocksDefault, GridlockEntriesMax: GridlockEntriesDefault,
		GridlockRoundsMax: GridlockRoundsDefault, ReleaseAttemptsMax: ReleaseAttemptsDefault, ExpiriesMax: ExpiriesDefault}
}

func (g *Genesis) queueParams() queueParams {
	d := QueueDefaults()
	q := d
	if g.Queue != nil {
		q = *g.Queue
	}
	pick := func(v, def int) int {
		if v == 0 {
			return def
		}
		return v
	}
	return queueParams{gridlockEveryBlocks: q.GridlockEveryBlocks, gridlockEntriesMax: pick(q.GridlockEntriesMax, d.GridlockEntriesMax),
		gridlockRoundsMax: pick(q.GridlockRoundsMax, d.GridlockRoundsMax), releaseAttemptsMax: pick(q.ReleaseAttemptsMax, d.ReleaseAttemptsMax),
		expiriesMax: pick(q.ExpiriesMax, d.ExpiriesMax)}
}

func (q *GenesisQueue) validate() error {
	switch {
	case q.GridlockEveryBlocks > gridlockEveryBlocksMax:
		return fmt.Errorf("queue.gridlock_every_blocks %d exceeds %d", q.GridlockEveryBlocks, gridlockEveryBlocksMax)
	case q.GridlockEntriesMax < 0 || q.GridlockEntriesMax > gridlockEntriesLimit:
		return fmt.Errorf("queue.gridlock_entries_max %d must be 0 (default) to %d", q.GridlockEntriesMax, gridlockEntriesLimit)
	case q.GridlockRoundsMax < 0 || q.GridlockRoundsMax > gridlockRoundsLimit:
		return fmt.Errorf("queue.gridlock_rounds_max %d must be 0 (default) to %d", q.GridlockRoundsMax, gridlockRoundsLimit)
	case q.ReleaseAttemptsMax < 0 || q.ReleaseAttemptsMax > releaseAttemptsLimit:
		return fmt.Errorf("queue.release_attempts_max %d must be 0 (default) to %d", q.ReleaseAttemptsMax, releaseAttemptsLimit)
	case q.ExpiriesMax < 0 || q.ExpiriesMax > expiriesLimit:
		return fmt.Errorf("queue.expiries_max %d must be 0 (default) to %d", q.ExpiriesMax, expiriesLimit)
	}
	return nil
}

// GenesisValidator is one consensus participant.
type GenesisValidator struct {
	Name      string `json:"name"`
	PublicKey string `json:"public_key"` // hex Ed25519 public key
	Address   string `json:"address"`    // host:port of its replica transport
	APIAddr   string `json:"api_address,omitempty"`
}

// GenesisAccount is an account funded at height 0.
type GenesisAccount struct {
	PublicKey string           `json:"public_key"` // hex Ed25519 master key
	Native    txn.Uint         `json:"native"`
	Issued    []GenesisBalance `json:"issued,omitempty"`
}

// GenesisBalance is a trust line at genesis: an issued-asset balance, the
// holder's limit (omitted: the maximum, so a genesis balance needs no separate
// trust_set) and the issuer's line flags ("authorized", "frozen").
type GenesisBalance struct {
	Asset  string    `json:"asset"`
	Amount txn.Uint  `json:"amount"`
	Limit  *txn.Uint `json:"limit,omitempty"`
	Flags  []string  `json:"flags,omitempty"`
}

// GenesisAsset declares an issued asset and its flags ("require_auth",
// "global_freeze", "no_freeze", "clawback").
type GenesisAsset struct {
	Code   string   `json:"code"`
	Issuer string   `json:"issuer"` // address
	Flags  []string `json:"flags,omitempty"`
}

var (
	genesisAssetFlags = map[string]uint32{"require_auth": txn.AssetFlagRequireAuth, "global_freeze": txn.AssetFlagGlobalFreeze,
		"no_freeze": txn.AssetFlagNoFreeze, "clawback": txn.AssetFlagClawback}
	genesisLineFlags = map[string]uint32{"authorized": txn.LineFlagAuthorized, "frozen": txn.LineFlagFrozen}
)

func parseFlags(names []string, known map[string]uint32) (uint32, error) {
	var f uint32
	for _, n := range names {
		v, ok := known[n]
		if !ok {
			return 0, fmt.Errorf("unknown flag %q", n)
		}
		f |= v
	}
	return f, nil
}

// ParseGenesis decodes and validates a genesis from its JSON; name says where
// it came from, for errors.
func ParseGenesis(b []byte, name string) (*Genesis, error) {
	var g Genesis
	if err := json.Unmarshal(b, &g); err != nil {
		return nil, fmt.Errorf("parse genesis %s: %w", name, err)
	}
	if err := g.Validate(); err != nil {
		return nil, fmt.Errorf("genesis %s: %w", name, err)
	}
	return &g, nil
}

// Hash is SHA-256 of the genesis's canonical JSON encoding without the
// validators' addresses; a validator refuses to open a data directory created
// from another genesis.
func (g *Genesis) Hash() txn.Hash {
	// A validator is its key; where it listens is location, not identity, so
	// the hash leaves the addresses out: moving a validator changes no
	// network's identity and no state hash (docs/genesis.md).
	c := *g
	c.Validators = make([]GenesisValidator, len(g.Validators))
	for i, v := range g.Validators {
		v.Address, v.APIAddr = "", ""
		c.Validators[i] = v
	}
	b, _ := json.Marshal(&c)
	return sha256.Sum256(b)
}

// Validate checks the genesis in plain sentences.
func (g *Genesis) Validate() error {
	if len(g.ChainID) == 0 || len(g.ChainID) > txn.ChainIDLenMax {
		return fmt.Errorf("chain_id must be 1 to %d characters", txn.ChainIDLenMax)
	}
	if g.BaseFee == 0 || g.BaseFee > txn.AmountMax {
		return fmt.Errorf("base_fee must be positive and at most %d", uint64(txn.AmountMax))
	}
	if len(g.Validators) == 0 {
		return fmt.Errorf("genesis needs at least one validator")
	}
	seen := map[string]bool{}
	for i, v := range g.Validators {
		if _, err := parseKey(v.PublicKey); err != nil {
			return fmt.Errorf("validator %d (%s): %w", i, v.Name, err)
		}
		if seen[v.PublicKey] {
			return fmt.Errorf("validator %d (%s) repeats the key of another validator", i, v.Name)
		}
		seen[v.PublicKey] = true
	}
	if g.ComplianceAuthority != "" {
		if _, err := txn.ParseAddress(g.ComplianceAuthority); err != nil {
			return fmt.Errorf("compliance_authority: %w", err)
		}
	}
	if g.Queue != nil {
		if err := g.Queue.validate(); err != nil {
			return err
		}
	}
	_, err := g.state()
	return err
}

func parseKey(s string) ([txn.PublicKeySize]byte, error) {
	var k [txn.PublicKeySize]byte
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != txn.PublicKeySize {
		return k, fmt.Errorf("public key %q must be %d bytes of hex", s, txn.PublicKeySize)
	}
	if sigverify.WeakKey(b) {
		return k, fmt.Errorf("public key %s is invalid or of small order", s)
	}
	copy(k[:], b)
	return k, nil
}

// state builds the height-0 accounts and assets and checks supply bounds.
func (g *Genesis) state() (*genesisState, error) {
	st := &genesisState{accounts: map[txn.AccountID]*Account{}, assets: map[txn.Asset]*AssetInfo{}}
	for i, a := range g.Assets {
		issuer, err := txn.ParseAddress(a.Issuer)
		if err != nil {
			return nil, fmt.Errorf("asset %d: %w", i, err)
		}
		as := txn.Asset{Issuer: issuer}
		copy(as.Code[:], a.Code)
		if len(a.Code) != 3 || as.Valid() != nil {
			return nil, fmt.Errorf("asset %d: code %q must be three characters A-Z or 0-9 other than %s", i, a.Code, txn.NativeCode)
		}
		if st.assets[as] != nil {
			return nil, fmt.Errorf("asset %s declared twice", as)
		}
		flags, err := parseFlags(a.Flags, genesisAssetFlags)
		if err != nil {
			return nil, fmt.Errorf("asset %s: %w", as, err)
		}
		if flags&txn.AssetFlagGlobalFreeze != 0 && flags&txn.AssetFlagNoFreeze != 0 {
			return nil, fmt.Errorf("asset %s: global_freeze and no_freeze exclude each other", as)
		}
		st.assets[as] = &AssetInfo{Asset: as, Flags: flags}
	}
	for i, ga := range g.Accounts {
		key, err := parseKey(ga.PublicKey)
		if err != nil {
			return nil, fmt.Errorf("account %d: %w", i, err)
		}
		id := txn.AccountIDFromPublicKey(key[:])
		if st.accounts[id] != nil {
			return nil, fmt.Errorf("account %d: %s listed twice", i, id)
		}
		acc := &Account{ID: id, Seq: 1, Flags: FlagMasterKeySet, MasterKey: key, Native: uint64(ga.Native)}
		// INVARIANT: both terms are at most AmountMax (2^62) before each addition, so
		// the sum cannot wrap around uint64 and slip under the bound.
		if acc.Native > txn.AmountMax {
			return nil, fmt.Errorf("account %d: native balance %d exceeds %d", i, acc.Native, uint64(txn.AmountMax))
		}
		if st.native += acc.Native; st.native > txn.AmountMax {
			return nil, fmt.Errorf("total native supply exceeds %d", uint64(txn.AmountMax))
		}
		for _, b := range ga.Issued {
			as, err := txn.ParseAsset(b.Asset)
			if err != nil || st.assets[as] == nil || as.IsNative() {
				return nil, fmt.Errorf("account %d: balance of undeclared asset %q", i, b.Asset)
			}
			if as.Issuer == id {
				return nil, fmt.Errorf("account %d: an issuer holds no balance of its own asset %s", i, b.Asset)
			}
			info := st.assets[as]
			if acc.line(as) != nil {
				return nil, fmt.Errorf("account %d: two lines for %s", i, b.Asset)
			}
			if uint64(b.Amount) > txn.AmountMax {
				return nil, fmt.Errorf("account %d: balance %d of %s exceeds %d", i, uint64(b.Amount), b.Asset, uint64(txn.AmountMax))
			}
			if info.Outstanding += uint64(b.Amount); info.Outstanding > txn.AmountMax {
				return nil, fmt.Errorf("outstanding %s exceeds %d", as, uint64(txn.AmountMax))
			}
			ln := acc.lineOrCreate(as)
			if ln == nil {
				return nil, fmt.Errorf("account %d: more than %d lines", i, LinesPerAccountMax)
			}
			ln.Amount, ln.Limit = uint64(b.Amount), txn.AmountMax
			if b.Limit != nil {
				ln.Limit = uint64(*b.Limit)
			}
			if ln.Flags, err = parseFlags(b.Flags, genesisLineFlags); err != nil {
				return nil, fmt.Errorf("account %d line %s: %w", i, b.Asset, err)
			}
			if ln.Limit > txn.AmountMax || ln.Amount > ln.Limit {
				return nil, fmt.Errorf("account %d line %s: balance %d over limit %d (at most %d)", i, b.Asset, ln.Amount, ln.Limit, uint64(txn.AmountMax))
			}
			acc.prune(as)
		}
		st.accounts[id] = acc
	}
	return st, nil
}

type genesisState struct {
	accounts map[txn.AccountID]*Account
	assets   map[txn.Asset]*AssetInfo
	native   uint64
}
