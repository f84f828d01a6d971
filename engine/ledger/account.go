package ledger

import (
	"encoding/binary"
	"fmt"
	"sort"

	"settle/engine/txn"
)

// Account is one account's state. The zero Seq is never valid: a new account's
// next sequence is 1.
type Account struct {
	ID        txn.AccountID
	Seq       uint64 // next sequence number the account must use
	Flags     uint32
	MasterKey [txn.PublicKeySize]byte // set by genesis or by the account's first signed transaction
	Native    uint64                  // native balance in minor units
	Issued    []Balance               // issued-asset balances, sorted by asset, no zero entries
}

// Balance is an amount of one issued asset.
type Balance struct {
	Asset  txn.Asset
	Amount uint64
}

// Account flags.
const (
	// FlagMasterKeySet marks MasterKey as known (checked not weak) and binding.
	FlagMasterKeySet uint32 = 1 << 0
)

// Balance returns the account's balance of asset a.
func (a *Account) Balance(as txn.Asset) uint64 {
	if as.IsNative() {
		return a.Native
	}
	i := a.issuedIndex(as)
	if i < len(a.Issued) && a.Issued[i].Asset == as {
		return a.Issued[i].Amount
	}
	return 0
}

func (a *Account) issuedIndex(as txn.Asset) int {
	return sort.Search(len(a.Issued), func(i int) bool { return !assetLess(a.Issued[i].Asset, as) })
}

// setBalance stores an amount, keeping Issued sorted and free of zero entries.
func (a *Account) setBalance(as txn.Asset, v uint64) {
	if as.IsNative() {
		a.Native = v
		return
	}
	i := a.issuedIndex(as)
	found := i < len(a.Issued) && a.Issued[i].Asset == as
	switch {
	case found && v == 0:
		a.Issued = append(a.Issued[:i], a.Issued[i+1:]...)
	case found:
		a.Issued[i].Amount = v
	case v != 0:
		a.Issued = append(a.Issued, Balance{})
		copy(a.Issued[i+1:], a.Issued[i:])
		a.Issued[i] = Balance{Asset: as, Amount: v}
	}
}

func assetLess(x, y txn.Asset) bool {
	if x.Code != y.Code {
		return string(x.Code[:]) < string(y.Code[:])
	}
	return string(x.Issuer[:]) < string(y.Issuer[:])
}

// clone returns a deep copy (Issued is not shared).
func (a *Account) clone() *Account {
	c := *a
	c.Issued = append([]Balance(nil), a.Issued...)
	return &c
}

const accountFixedLen = 8 + 4 + txn.PublicKeySize + 8 + 2
const assetLen = 3 + txn.AccountIDSize

// AppendBinary appends the account's canonical encoding (without its id, which is
// the storage key): seq u64 | flags u32 | master key [32] | native u64 |
// issued count u16 | count × (code [3] | issuer [20] | amount u64), big-endian.
func (a *Account) AppendBinary(dst []byte) []byte {
	dst = binary.BigEndian.AppendUint64(dst, a.Seq)
	dst = binary.BigEndian.AppendUint32(dst, a.Flags)
	dst = append(dst, a.MasterKey[:]...)
	dst = binary.BigEndian.AppendUint64(dst, a.Native)
	dst = binary.BigEndian.AppendUint16(dst, uint16(len(a.Issued)))
	for _, b := range a.Issued {
		dst = append(dst, b.Asset.Code[:]...)
		dst = append(dst, b.Asset.Issuer[:]...)
		dst = binary.BigEndian.AppendUint64(dst, b.Amount)
	}
	return dst
}

// DecodeAccount parses an account encoding produced by AppendBinary.
func DecodeAccount(id txn.AccountID, b []byte) (*Account, error) {
	if len(b) < accountFixedLen {
		return nil, fmt.Errorf("account %s: record is %d bytes, want at least %d", id, len(b), accountFixedLen)
	}
	a := &Account{ID: id}
	a.Seq = binary.BigEndian.Uint64(b)
	a.Flags = binary.BigEndian.Uint32(b[8:])
	copy(a.MasterKey[:], b[12:44])
	a.Native = binary.BigEndian.Uint64(b[44:])
	n := int(binary.BigEndian.Uint16(b[52:]))
	rest := b[accountFixedLen:]
	if len(rest) != n*(assetLen+8) {
		return nil, fmt.Errorf("account %s: %d issued balances need %d bytes, have %d", id, n, n*(assetLen+8), len(rest))
	}
	for i := 0; i < n; i++ {
		var bal Balance
		copy(bal.Asset.Code[:], rest)
		copy(bal.Asset.Issuer[:], rest[3:])
		bal.Amount = binary.BigEndian.Uint64(rest[assetLen:])
		a.Issued = append(a.Issued, bal)
		rest = rest[assetLen+8:]
	}
	return a, nil
}

// AssetInfo is the ledger's record of an issued asset.
type AssetInfo struct {
	Asset       txn.Asset
	Outstanding uint64 // total held by non-issuers; INVARIANT: equals the sum of holder balances
	Flags       uint32
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
