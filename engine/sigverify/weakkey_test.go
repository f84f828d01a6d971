package sigverify

import (
	"encoding/hex"
	"testing"

	"github.com/oasisprotocol/curve25519-voi/curve"
)

// smallOrderCanonical are the canonical encodings of the 8 points of E[8].
var smallOrderCanonical = []string{
	"0100000000000000000000000000000000000000000000000000000000000000", // identity
	"ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f", // (0, -1), order 2
	"0000000000000000000000000000000000000000000000000000000000000000", // order 4
	"0000000000000000000000000000000000000000000000000000000000000080", // order 4
	"26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05", // order 8
	"26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85", // order 8
	"c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a", // order 8
	"c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa", // order 8
}

func TestWeakKeySmallOrder(t *testing.T) {
	for _, s := range smallOrderCanonical {
		if !WeakKey(mustHex(t, s)) {
			t.Errorf("WeakKey(%s) = false, want true (small order)", s)
		}
	}
	// zip215.json uses every encoding of every small-order point, canonical
	// or not, as A: 8 canonical and 6 non-canonical encodings.
	seen := map[string]bool{}
	for _, c := range loadZIP215(t) {
		seen[hex.EncodeToString(c.pub)] = true
	}
	if len(seen) != 14 {
		t.Fatalf("zip215.json has %d distinct public keys, want 14", len(seen))
	}
	for s := range seen {
		if !WeakKey(mustHex(t, s)) {
			t.Errorf("WeakKey(%s) = false, want true (small order)", s)
		}
	}
}

// TestWeakKeyNonCanonical checks every encoding with y >= p (y = p..p+18,
// both signs of x) that decodes to a point: each is weak, whatever its order.
func TestWeakKeyNonCanonical(t *testing.T) {
	decoded := 0
	for delta := range 19 {
		for _, sign := range []byte{0, 0x80} {
			// p = 2^255 - 19, little-endian: ed ff .. ff 7f.
			enc := make([]byte, 32)
			for i := range enc {
				enc[i] = 0xff
			}
			enc[0] = 0xed + byte(delta)
			enc[31] = 0x7f | sign
			var c curve.CompressedEdwardsY
			var p curve.EdwardsPoint
			if _, err := c.SetBytes(enc); err != nil {
				t.Fatal(err)
			}
			if _, err := p.SetCompressedY(&c); err == nil {
				decoded++
			}
			if !WeakKey(enc) {
				t.Errorf("WeakKey(%x) = false, want true (y >= p)", enc)
			}
		}
	}
	if decoded == 0 {
		t.Fatal("no non-canonical encoding decoded; the test covers nothing")
	}
}

func TestWeakKeyTable(t *testing.T) {
	spec := loadSpeccheck(t)
	tests := []struct {
		name string
		pub  []byte
		weak bool
	}{
		{"normal key", signedItems(1, 1)[0].Pub, false},
		{"another normal key", signedItems(1, 2)[0].Pub, false},
		{"mixed-order key (speccheck 2)", spec[2].pub, false},
		{"small-order key (speccheck 0)", spec[0].pub, true},
		{"non-canonical small-order key (speccheck 10)", spec[10].pub, true},
		{"not on the curve", mustHex(t, "0200000000000000000000000000000000000000000000000000000000000000"), true},
		{"empty", nil, true},
		{"31 bytes", make([]byte, 31), true},
		{"33 bytes", append(signedItems(1, 1)[0].Pub, 0), true},
	}
	for _, tt := range tests {
		if got := WeakKey(tt.pub); got != tt.weak {
			t.Errorf("%s: WeakKey = %v, want %v", tt.name, got, tt.weak)
		}
	}
}
