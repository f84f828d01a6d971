package ledger

import (
	"encoding/binary"
	"fmt"
	"slices"
	"sort"

	"settle/engine/txn"
)

// Bounds on what one account may hold; docs/ledger.md repeats them.
const (
	LinesPerAccountMax   = 32 // trust lines (issued-asset balances) per account
	EscrowsPerAccountMax = 64 // open escrows an account has created
)

// Account is one account's state. The zero Seq is never valid: a new account's
// next sequence is 1.
type Account struct {
	ID        txn.AccountID
	Seq       uint64 // next sequence number the account must use
	Flags     uint32
	MasterKey [txn.PublicKeySize]byte // set by genesis or by the account's first signed transaction
	Native    uint64                  // native balance in minor units (spendable)
	Issued    []Balance               // trust lines, sorted by asset, no empty entries; at most LinesPerAccountMax

	// Ext is the rarely used interbank state; nil when all of it is zero, which
	// keeps the copy the executor makes of every touched plain account small
	// (docs/performance.md). Read it through Extended; only the ledger writes it.
	// INVARIANT: an installed account's Ext is never mutated: clone copies it.
	Ext *AccountExt
}

// AccountExt is the part of an account that plain payment accounts never use.
type AccountExt struct {
	NativeEscrowed uint64                  // native units held in this account's open escrows
	NativeLimits   Limits                  // compliance limits on native outflows
	RegularKey     [txn.PublicKeySize]byte // zero: none
	Quorum         uint32                  // signer-list quorum; 0: no signer list
	Signers        []txn.SignerEntry       // sorted by key, at most txn.SignerCountMax; never mutated in place
	EscrowCount    uint16                  // open escrows created by this account; at most EscrowsPerAccountMax
}

func (e *AccountExt) zero() bool {
	return e.NativeEscrowed == 0 && e.NativeLimits == (Limits{}) && e.RegularKey == ([txn.PublicKeySize]byte{}) &&
		e.Quorum == 0 && len(e.Signers) == 0 && e.EscrowCount == 0
}

// Extended returns a copy of the account's interbank state (zero when it has none).
func (a *Account) Extended() AccountExt {
	if a.Ext == nil {
		return AccountExt{}
	}
	return *a.Ext
}

// ext returns the account's interbank state for writing, creating it if needed.
// Only for overlay copies (see clone).
func (a *Account) ext() *AccountExt {
	if a.Ext == nil {
		a.Ext = &AccountExt{}
	}
	return a.Ext
}

// compact drops an interbank state that became all zero, so an account has one
// in-memory form per encoding. Every change that can zero the state calls it
// (CheckInvariants checks that none is left).
func (a *Account) compact() {
	if a.Ext != nil && a.Ext.zero() {
		a.Ext = nil
	}
}

// Balance is the account's trust line for one issued asset: its balance, the
// limit the holder set, the issuer's flags on the line, the part of the holder's
// funds held in escrow, and compliance limits.
type Balance struct {
	Asset    txn.Asset
	Amount   uint64 // spendable balance
	Limit    uint64 // INVARIANT: Amount + Escrowed <= Limit (for a line created before the limit was lowered too: TrustSet refuses lowering below it)
	Flags    uint32 // txn.LineFlagAuthorized, txn.LineFlagFrozen
	Escrowed uint64 // held in the holder's open escrows
	Limits   Limits // compliance limits on outflows of this asset
}

// Limits are compliance limits on an account's outflows of one asset. Zero
// fields mean no limit.
//
// The window is enforced over aligned windows of WindowBlocks blocks: an outflow
// at height h is allowed when the outflows of h's window and of the window before
// it, plus this one, stay within WindowMax. Any WindowBlocks consecutive blocks
// lie within two adjacent aligned windows, so no rolling window of that length
// ever carries more than WindowMax (the rule is conservative: it may refuse up
// to one window earlier than an exact rolling sum would).
type Limits struct {
	PerTxMax     uint64 // largest single outflow
	WindowMax    uint64 // largest outflow over any WindowBlocks consecutive blocks
	WindowBlocks uint32
	WindowIndex  uint64 // height / WindowBlocks of the last counted outflow
	WindowUsed   uint64 // outflow counted in window WindowIndex
	PrevUsed     uint64 // outflow counted in window WindowIndex-1
}

// Account flags.
const (
	// FlagMasterKeySet marks MasterKey as known (checked not weak) and binding.
	FlagMasterKeySet uint32 = 1 << 0
	// FlagDisableMaster stops the master key from signing (account_set).
	FlagDisableMaster = txn.AccountFlagDisableMaster
	// flagExtended is set only in the encoding: the extended layout follows.
	flagExtended uint32 = 1 << 31
)

// Balance returns the account's balance of asset a.
func (a *Account) Balance(as txn.Asset) uint64 {
	if as.IsNative() {
		return a.Native
	}
	if ln := a.line(as); ln != nil {
		return ln.Amount
	}
	return 0
}

// Line returns a copy of the account's trust line for as.
func (a *Account) Line(as txn.Asset) (Balance, bool) {
	if ln := a.line(as); ln != nil {
		return *ln, true
	}
	return Balance{}, false
}

func (a *Account) issuedIndex(as txn.Asset) int {
	return sort.Search(len(a.Issued), func(i int) bool { return !assetLess(a.Issued[i].Asset, as) })
}

// line returns a pointer into Issued, valid until the next insertion or pruning.
func (a *Account) line(as txn.Asset) *Balance {
	i := a.issuedIndex(as)
	if i < len(a.Issued) && a.Issued[i].Asset == as {
		return &a.Issued[i]
	}
	return nil
}

// lineOrCreate returns the line for as, creating an empty one if there is room.
func (a *Account) lineOrCreate(as txn.Asset) *Balance {
	i := a.issuedIndex(as)
	if i < len(a.Issued) && a.Issued[i].Asset == as {
		return &a.Issued[i]
	}
	if len(a.Issued) >= LinesPerAccountMax {
		return nil
	}
	a.Issued = slices.Insert(a.Issued, i, Balance{Asset: as})
	return &a.Issued[i]
}

// prune removes the line for as if it carries nothing.
func (a *Account) prune(as txn.Asset) {
	i := a.issuedIndex(as)
	if i < len(a.Issued) && a.Issued[i].Asset == as && a.Issued[i].empty() {
		a.Issued = slices.Delete(a.Issued, i, i+1)
	}
}

func (b *Balance) empty() bool {
	return b.Amount == 0 && b.Limit == 0 && b.Flags == 0 && b.Escrowed == 0 && b.Limits == (Limits{})
}

func (b *Balance) extended() bool {
	return b.Limit != 0 || b.Flags != 0 || b.Escrowed != 0 || b.Limits != (Limits{})
}

// setBalance stores an amount (genesis only), keeping Issued sorted and pruned.
func (a *Account) setBalance(as txn.Asset, v uint64) {
	if as.IsNative() {
		a.Native = v
		return
	}
	if ln := a.lineOrCreate(as); ln != nil {
		ln.Amount = v
	}
	a.prune(as)
}

func assetLess(x, y txn.Asset) bool {
	if x.Code != y.Code {
		return string(x.Code[:]) < string(y.Code[:])
	}
	return string(x.Issuer[:]) < string(y.Issuer[:])
}

// clone returns a deep copy (Issued and Ext are not shared; Signers is never
// mutated in place). A plain account costs one small allocation, plus its lines.
func (a *Account) clone() *Account {
	c := *a
	if a.Issued != nil {
		c.Issued = append([]Balance(nil), a.Issued...)
	}
	if a.Ext != nil {
		e := *a.Ext
		c.Ext = &e
	}
	return &c
}

// allow reports whether an outflow of amount at height fits the limits.
func (lim *Limits) allow(height, amount uint64) bool {
	if lim.PerTxMax != 0 && amount > lim.PerTxMax {
		return false
	}
	if lim.WindowMax == 0 {
		return true
	}
	cur, prev := lim.window(height)
	return prev+cur+amount <= lim.WindowMax // each term <= 2^62: no overflow
}

// consume counts an allowed outflow.
func (lim *Limits) consume(height, amount uint64) {
	if lim.WindowMax == 0 {
		return
	}
	cur, prev := lim.window(height)
	lim.WindowIndex, lim.WindowUsed, lim.PrevUsed = height/uint64(lim.WindowBlocks), cur+amount, prev
}

// window returns the outflow counted in height's window and in the one before it.
func (lim *Limits) window(height uint64) (cur, prev uint64) {
	switch height / uint64(lim.WindowBlocks) {
	case lim.WindowIndex:
		return lim.WindowUsed, lim.PrevUsed
	case lim.WindowIndex + 1:
		return 0, lim.WindowUsed
	}
	return 0, 0
}

func (a *Account) extended() bool {
	if a.Ext != nil && !a.Ext.zero() {
		return true
	}
	for i := range a.Issued {
		if a.Issued[i].extended() {
			return true
		}
	}
	return false
}

const accountFixedLen = 8 + 4 + txn.PublicKeySize + 8 + 2
const assetLen = 3 + txn.AccountIDSize
const limitsLen = 8 + 8 + 4 + 8 + 8 + 8
const lineExtLen = 8 + 4 + 8 + limitsLen

// AppendBinary appends the account's canonical encoding (without its id, which is
// the storage key). Basic layout, used while the account has no interbank state:
// seq u64 | flags u32 | master key [32] | native u64 | issued count u16 |
// count × (code [3] | issuer [20] | amount u64), big-endian. Extended layout, marked
// by bit 31 of the encoded flags: each issued entry continues with limit u64 |
// line flags u32 | escrowed u64 | limits, and the record ends with native escrowed
// u64 | native limits | regular key [32] | quorum u32 | signer count u8 | count ×
// (key [32] | weight u16) | escrow count u16, where limits is per-tx max u64 |
// window max u64 | window blocks u32 | window index u64 | window used u64 |
// previous window used u64 (docs/storage.md).
func (a *Account) AppendBinary(dst []byte) []byte {
	ext := a.extended()
	flags := a.Flags
	if ext {
		flags |= flagExtended
	}
	dst = binary.BigEndian.AppendUint64(dst, a.Seq)
	dst = binary.BigEndian.AppendUint32(dst, flags)
	dst = append(dst, a.MasterKey[:]...)
	dst = binary.BigEndian.AppendUint64(dst, a.Native)
	dst = binary.BigEndian.AppendUint16(dst, uint16(len(a.Issued)))
	for i := range a.Issued {
		b := &a.Issued[i]
		dst = append(dst, b.Asset.Code[:]...)
		dst = append(dst, b.Asset.Issuer[:]...)
		dst = binary.BigEndian.AppendUint64(dst, b.Amount)
		if ext {
			dst = binary.BigEndian.AppendUint64(dst, b.Limit)
			dst = binary.BigEndian.AppendUint32(dst, b.Flags)
			dst = binary.BigEndian.AppendUint64(dst, b.Escrowed)
			dst = b.Limits.appendBinary(dst)
		}
	}
	if !ext {
		return dst
	}
	x := a.Extended()
	dst = binary.BigEndian.AppendUint64(dst, x.NativeEscrowed)
	dst = x.NativeLimits.appendBinary(dst)
	dst = append(dst, x.RegularKey[:]...)
	dst = binary.BigEndian.AppendUint32(dst, x.Quorum)
	dst = append(dst, byte(len(x.Signers)))
	for _, s := range x.Signers {
		dst = append(dst, s.PublicKey[:]...)
		dst = binary.BigEndian.AppendUint16(dst, s.Weight)
	}
	return binary.BigEndian.AppendUint16(dst, x.EscrowCount)
}

func (lim *Limits) appendBinary(dst []byte) []byte {
	dst = binary.BigEndian.AppendUint64(dst, lim.PerTxMax)
	dst = binary.BigEndian.AppendUint64(dst, lim.WindowMax)
	dst = binary.BigEndian.AppendUint32(dst, lim.WindowBlocks)
	dst = binary.BigEndian.AppendUint64(dst, lim.WindowIndex)
	dst = binary.BigEndian.AppendUint64(dst, lim.WindowUsed)
	return binary.BigEndian.AppendUint64(dst, lim.PrevUsed)
}

func decodeLimits(b []byte) Limits {
	return Limits{PerTxMax: binary.BigEndian.Uint64(b), WindowMax: binary.BigEndian.Uint64(b[8:]),
		WindowBlocks: binary.BigEndian.Uint32(b[16:]), WindowIndex: binary.BigEndian.Uint64(b[20:]),
		WindowUsed: binary.BigEndian.Uint64(b[28:]), PrevUsed: binary.BigEndian.Uint64(b[36:])}
}

// DecodeAccount parses an account encoding produced by AppendBinary.
func DecodeAccount(id txn.AccountID, b []byte) (*Account, error) {
	if len(b) < accountFixedLen {
		return nil, fmt.Errorf("account %s: record is %d bytes, want at least %d", id, len(b), accountFixedLen)
	}
	a := &Account{ID: id}
	a.Seq = binary.BigEndian.Uint64(b)
	a.Flags = binary.BigEndian.Uint32(b[8:])
	ext := a.Flags&flagExtended != 0
	a.Flags &^= flagExtended
	copy(a.MasterKey[:], b[12:44])
	a.Native = binary.BigEndian.Uint64(b[44:])
	n := int(binary.BigEndian.Uint16(b[52:]))
	rest := b[accountFixedLen:]
	entry := assetLen + 8
	if ext {
		entry += lineExtLen
	}
	if !ext && len(rest) != n*entry || ext && len(rest) < n*entry {
		return nil, fmt.Errorf("account %s: %d issued balances need %d bytes, have %d", id, n, n*entry, len(rest))
	}
	for i := 0; i < n; i++ {
		var bal Balance
		copy(bal.Asset.Code[:], rest)
		copy(bal.Asset.Issuer[:], rest[3:])
		bal.Amount = binary.BigEndian.Uint64(rest[assetLen:])
		if ext {
			e := rest[assetLen+8:]
			bal.Limit = binary.BigEndian.Uint64(e)
			bal.Flags = binary.BigEndian.Uint32(e[8:])
			bal.Escrowed = binary.BigEndian.Uint64(e[12:])
			bal.Limits = decodeLimits(e[20:])
		}
		a.Issued = append(a.Issued, bal)
		rest = rest[entry:]
	}
	if !ext {
		return a, nil
	}
	const tailFixed = 8 + limitsLen + txn.PublicKeySize + 4 + 1
	if len(rest) < tailFixed {
		return nil, fmt.Errorf("account %s: extended record truncated", id)
	}
	x := &AccountExt{}
	x.NativeEscrowed = binary.BigEndian.Uint64(rest)
	x.NativeLimits = decodeLimits(rest[8:])
	copy(x.RegularKey[:], rest[8+limitsLen:])
	x.Quorum = binary.BigEndian.Uint32(rest[8+limitsLen+txn.PublicKeySize:])
	k := int(rest[tailFixed-1])
	rest = rest[tailFixed:]
	if k > txn.SignerCountMax || len(rest) != k*(txn.PublicKeySize+2)+2 {
		return nil, fmt.Errorf("account %s: %d signers do not fit the %d bytes left", id, k, len(rest))
	}
	for i := 0; i < k; i++ {
		var s txn.SignerEntry
		copy(s.PublicKey[:], rest)
		s.Weight = binary.BigEndian.Uint16(rest[txn.PublicKeySize:])
		x.Signers = append(x.Signers, s)
		rest = rest[txn.PublicKeySize+2:]
	}
	x.EscrowCount = binary.BigEndian.Uint16(rest)
	a.Ext = x
	a.compact()
	return a, nil
}

// AssetInfo is the ledger's record of an issued asset.
type AssetInfo struct {
	Asset       txn.Asset
	Outstanding uint64 // units in existence: INVARIANT: equals the sum of holder balances plus holders' escrowed amounts
	Flags       uint32 // txn.AssetFlag*
}

// AppendBinary appends outstanding u64 | flags u32.
func (a *AssetInfo) AppendBinary(dst []byte) []byte {
	dst = binary.BigEndian.AppendUint64(dst, a.Outstanding)
	return binary.BigEndian.AppendUint32(dst, a.Flags)
}

// DecodeAssetInfo parses an AssetInfo encoding.
func DecodeAssetInfo(as txn.Asset, b []byte) (*AssetInfo, error) {
	if len(b) != 12 {
		return nil, fmt.Errorf("asset %s: record is %d bytes, want 12", as, len(b))
	}
	return &AssetInfo{Asset: as, Outstanding: binary.BigEndian.Uint64(b), Flags: binary.BigEndian.Uint32(b[8:])}, nil
}

// AssetKey is the 23-byte key form of an asset: code | issuer.
func AssetKey(as txn.Asset) [assetLen]byte {
	var k [assetLen]byte
	copy(k[:], as.Code[:])
	copy(k[3:], as.Issuer[:])
	return k
}

// AssetFromKey is the inverse of AssetKey.
func AssetFromKey(k []byte) (txn.Asset, error) {
	if len(k) != assetLen {
		return txn.Asset{}, fmt.Errorf("asset key is %d bytes, want %d", len(k), assetLen)
	}
	var as txn.Asset
	copy(as.Code[:], k)
	copy(as.Issuer[:], k[3:])
	return as, as.Valid()
}
