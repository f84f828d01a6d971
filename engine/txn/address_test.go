package txn

import (
	"crypto/sha256"
	"encoding/base32"
	"strings"
	"testing"
)

const addrAlphabet = "abcdefghijklmnopqrstuvwxyz234567"

// testIDs returns n deterministic account ids (plus the all-zero and all-0xff ids).
func testIDs(n int) []AccountID {
	ids := []AccountID{{}, func() (a AccountID) {
		for i := range a {
			a[i] = 0xff
		}
		return a
	}()}
	for i := 0; i < n; i++ {
		sum := sha256.Sum256([]byte{byte(i)})
		var id AccountID
		copy(id[:], sum[:])
		ids = append(ids, id)
	}
	return ids
}

func TestAddressDerivation(t *testing.T) {
	pub := make([]byte, 32)
	for i := range pub {
		pub[i] = byte(i)
	}
	sum := sha256.Sum256(append([]byte("settle/account/v1"), pub...))
	id := AccountIDFromPublicKey(pub)
	if string(id[:]) != string(sum[:20]) {
		t.Fatal("account id is not SHA-256(\"settle/account/v1\"||pub)[:20]")
	}
	check := sha256.Sum256(append([]byte("settle/address/v1"), id[:]...))
	want := "stl" + strings.ToLower(strings.TrimRight(base32.StdEncoding.EncodeToString(append(id[:], check[:4]...)), "="))
	if id.String() != want {
		t.Fatalf("address %s, want %s", id, want)
	}
	if AddressLen != 42 || len(want) != AddressLen {
		t.Fatalf("AddressLen %d, len %d; want 42", AddressLen, len(want))
	}
}

func TestAddressRoundTrip(t *testing.T) {
	for _, id := range testIDs(50) {
		s := id.String()
		got, err := ParseAddress(s)
		if err != nil || got != id {
			t.Fatalf("ParseAddress(%s) = %x, %v; want %x", s, got, err, id)
		}
		text, _ := id.MarshalText()
		var back AccountID
		if err := back.UnmarshalText(text); err != nil || back != id {
			t.Fatalf("text round trip of %x: %v", id, err)
		}
	}
}

// Every single-character change of an address is rejected: in the prefix, in the
// id, in the checksum, and in the final character's padding bits.
func TestAddressSingleCharChange(t *testing.T) {
	for _, id := range testIDs(20) {
		s := []byte(id.String())
		for i := range s {
			orig := s[i]
			for _, c := range []byte(addrAlphabet + "ABCXYZ018_ ") {
				if c == orig {
					continue
				}
				s[i] = c
				if got, err := ParseAddress(string(s)); err == nil {
					t.Fatalf("ParseAddress(%s) accepted a change at %d of %s: %x", s, i, id, got)
				}
			}
			s[i] = orig
		}
	}
}

func TestParseAddressRejects(t *testing.T) {
	good := testIDs(1)[2].String()
	for name, s := range map[string]string{
		"empty":         "",
		"prefix only":   "stl",
		"one short":     good[:len(good)-1],
		"one long":      good + "a",
		"no prefix":     good[3:] + "aaa",
		"upper case":    strings.ToUpper(good),
		"upper prefix":  "STL" + good[3:],
		"other prefix":  "stm" + good[3:],
		"padding":       good[:len(good)-1] + "=",
		"transposition": good[:5] + good[6:7] + good[5:6] + good[7:],
		"hex id":        "stl" + strings.Repeat("0", 39),
		"non-ascii":     good[:len(good)-2] + "é",
	} {
		if _, err := ParseAddress(s); err == nil && s != good {
			t.Errorf("%s: ParseAddress(%q) accepted", name, s)
		}
	}
	var a AccountID
	if err := a.UnmarshalText([]byte("nope")); err == nil {
		t.Error("UnmarshalText accepted garbage")
	}
}

func TestAssetText(t *testing.T) {
	issuer := testIDs(1)[2]
	usd := Asset{Code: [3]byte{'U', 'S', 'D'}, Issuer: issuer}
	for _, a := range []Asset{Native, usd} {
		got, err := ParseAsset(a.String())
		if err != nil || got != a {
			t.Errorf("ParseAsset(%s) = %v, %v", a, got, err)
		}
	}
	for _, s := range []string{"", "stl", "XRP", "USD", "USD/", "USD/x", "STL/" + issuer.String(), "usd/" + issuer.String(), "US/" + issuer.String(), "USDX/" + issuer.String(), "USD/" + AccountID{}.String()} {
		if _, err := ParseAsset(s); err == nil {
			t.Errorf("ParseAsset(%q) accepted", s)
		}
	}
}

func TestParseHash(t *testing.T) {
	h := sha256.Sum256([]byte("x"))
	if got, err := ParseHash(Hash(h).String()); err != nil || got != Hash(h) {
		t.Fatalf("ParseHash round trip: %v", err)
	}
	for _, s := range []string{"", "00", strings.Repeat("g", 64), strings.Repeat("0", 65)} {
		if _, err := ParseHash(s); err == nil {
			t.Errorf("ParseHash(%q) accepted", s)
		}
	}
}
