package txn

import (
	"fmt"
	"strings"
)

// NativeCode is the text form of the native asset, used for fees.
const NativeCode = "STL"

// Asset is the native asset (zero value) or an issued asset: a three-character
// currency code (A-Z, 0-9) and the issuing account.
type Asset struct {
	Code   [3]byte
	Issuer AccountID
}

// Native is the native asset.
var Native = Asset{}

// IsNative reports whether a is the native asset.
func (a Asset) IsNative() bool { return a == Asset{} }

// Valid checks the canonical form: native is all zero; an issued asset has a
// three-character upper-case alphanumeric code other than STL and a non-zero issuer.
func (a Asset) Valid() error {
	if a.IsNative() {
		return nil
	}
	for _, c := range a.Code {
		if !(c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			// string(...) rather than a.Code[:]: a slice of a would make every
			// Valid call move a to the heap, on the decode hot path.
			return fmt.Errorf("currency code %q must be three characters A-Z or 0-9", string(a.Code[:]))
		}
	}
	if string(a.Code[:]) == NativeCode {
		return fmt.Errorf("currency code %s is reserved for the native asset", NativeCode)
	}
	if a.Issuer.IsZero() {
		return fmt.Errorf("issued asset %s needs an issuer", string(a.Code[:]))
	}
	return nil
}

// String returns "STL" for the native asset and "USD/stl…" for an issued one.
func (a Asset) String() string {
	if a.IsNative() {
		return NativeCode
	}
	return string(a.Code[:]) + "/" + a.Issuer.String()
}

// MarshalText implements encoding.TextMarshaler.
func (a Asset) MarshalText() ([]byte, error) { return []byte(a.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (a *Asset) UnmarshalText(b []byte) error {
	v, err := ParseAsset(string(b))
	if err != nil {
		return err
	}
	*a = v
	return nil
}

// ParseAsset reads "STL" or "CUR/address".
func ParseAsset(s string) (Asset, error) {
	if s == NativeCode {
		return Native, nil
	}
	code, issuer, ok := strings.Cut(s, "/")
	if !ok || len(code) != 3 {
		return Asset{}, fmt.Errorf("asset %q: want %q or CODE/issuer-address", s, NativeCode)
	}
	id, err := ParseAddress(issuer)
	if err != nil {
		return Asset{}, fmt.Errorf("asset %q: %w", s, err)
	}
	var a Asset
	copy(a.Code[:], code)
	a.Issuer = id
	if err := a.Valid(); err != nil {
		return Asset{}, fmt.Errorf("asset %q: %w", s, err)
	}
	return a, nil
}
