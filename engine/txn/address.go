package txn

import (
	"crypto/sha256"
	"encoding/base32"
	"encoding/hex"
	"fmt"
	"strings"
)

// AccountIDSize is the width of an account identifier in bytes.
const AccountIDSize = 20

// AccountID identifies an account: the first 20 bytes of
// SHA-256("settle/account/v1" || ed25519 public key) of the key that created it.
type AccountID [AccountIDSize]byte

// Hash is a SHA-256 digest (transaction, block and state hashes).
type Hash [32]byte

func (h Hash) String() string { return hex.EncodeToString(h[:]) }

// ParseHash reads a 64-character hex hash.
func ParseHash(s string) (Hash, error) {
	var h Hash
	if len(s) != 64 {
		return h, fmt.Errorf("hash must be 64 hex characters, got %d", len(s))
	}
	if _, err := hex.Decode(h[:], []byte(s)); err != nil {
		return h, fmt.Errorf("hash is not hex: %w", err)
	}
	return h, nil
}

const (
	accountContext  = "settle/account/v1"
	addressContext  = "settle/address/v1"
	addressPrefix   = "stl"
	addressChecksum = 4
)

// AddressLen is the length of an address's text form.
var AddressLen = len(addressPrefix) + addrEncoding.EncodedLen(AccountIDSize+addressChecksum)

var addrEncoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// AccountIDFromPublicKey derives the account id of an Ed25519 public key.
func AccountIDFromPublicKey(pub []byte) AccountID {
	h := sha256.New()
	h.Write([]byte(accountContext))
	h.Write(pub)
	var sum [32]byte
	h.Sum(sum[:0])
	var id AccountID
	copy(id[:], sum[:AccountIDSize])
	return id
}

func addressSum(id AccountID) [addressChecksum]byte {
	h := sha256.New()
	h.Write([]byte(addressContext))
	h.Write(id[:])
	var sum [32]byte
	h.Sum(sum[:0])
	var c [addressChecksum]byte
	copy(c[:], sum[:addressChecksum])
	return c
}

// String returns the human-friendly address: "stl" followed by lowercase base32 of
// the id and a 4-byte checksum, so that a mistyped character is caught.
func (a AccountID) String() string {
	var buf [AccountIDSize + addressChecksum]byte
	copy(buf[:], a[:])
	sum := addressSum(a)
	copy(buf[AccountIDSize:], sum[:])
	return addressPrefix + addrEncoding.EncodeToString(buf[:])
}

// IsZero reports whether a is the all-zero id (no account).
func (a AccountID) IsZero() bool { return a == AccountID{} }

// MarshalText implements encoding.TextMarshaler.
func (a AccountID) MarshalText() ([]byte, error) { return []byte(a.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (a *AccountID) UnmarshalText(b []byte) error {
	id, err := ParseAddress(string(b))
	if err != nil {
		return err
	}
	*a = id
	return nil
}

// ParseAddress decodes and checks a text address.
func ParseAddress(s string) (AccountID, error) {
	var id AccountID
	if len(s) != AddressLen || !strings.HasPrefix(s, addressPrefix) {
		return id, fmt.Errorf("address %q: want %d characters starting with %q", s, AddressLen, addressPrefix)
	}
	var buf [AccountIDSize + addressChecksum]byte
	n, err := addrEncoding.Decode(buf[:], []byte(s[len(addressPrefix):]))
	if err != nil || n != len(buf) {
		return id, fmt.Errorf("address %q: not base32", s)
	}
	copy(id[:], buf[:AccountIDSize])
	// Re-encoding rejects non-canonical trailing bits as well as a bad checksum.
	if id.String() != s {
		return AccountID{}, fmt.Errorf("address %q: checksum mismatch", s)
	}
	return id, nil
}
