package merkle

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// update rewrites the known-answer files in testdata/ from the current
// implementation. Use it only after a deliberate change of the byte
// definitions, and review the diff: those files are what a verifier in
// another language is checked against.
var update = flag.Bool("update", false, "rewrite testdata/*_vectors.json from the implementation")

// hexHash is a Hash that reads and writes itself as lowercase hex in JSON.
type hexHash Hash

func (h hexHash) MarshalText() ([]byte, error) {
	return []byte(hex.EncodeToString(h[:])), nil
}

func (h *hexHash) UnmarshalText(text []byte) error {
	b, err := hex.DecodeString(string(text))
	if err != nil {
		return fmt.Errorf("hash %q: %w", text, err)
	}
	if len(b) != len(h) {
		return fmt.Errorf("hash %q has %d bytes, want %d", text, len(b), len(h))
	}
	copy(h[:], b)
	return nil
}

func toHex(hs []Hash) []hexHash {
	out := make([]hexHash, len(hs))
	for i, h := range hs {
		out[i] = hexHash(h)
	}
	return out
}

func mustHash(t testing.TB, s string) Hash {
	t.Helper()
	var h hexHash
	if err := h.UnmarshalText([]byte(s)); err != nil {
		t.Fatal(err)
	}
	return Hash(h)
}

// checkVectors compares got with the JSON file testdata/name, or rewrites
// the file with got under -update.
func checkVectors(t *testing.T, name string, got any) {
	t.Helper()
	path := filepath.Join("testdata", name)
	data, err := json.MarshalIndent(got, "", "  ")
	if err != nil {
		t.Fatalf("encoding %s: %v", path, err)
	}
	data = append(data, '\n')
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatalf("writing %s: %v", path, err)
		}
		t.Logf("wrote %s", path)
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("reading %s (run the test with -update to create it): %v", path, err)
	}
	if !bytes.Equal(data, want) {
		t.Errorf("%s differs from what the implementation computes now; if the change of the byte definitions is deliberate, rerun with -update and review the diff.\ncomputed:\n%s", path, data)
	}
}

// TestPrimitives pins the three hash functions to their byte definitions.
func TestPrimitives(t *testing.T) {
	a := sha256.Sum256([]byte("a"))
	b := sha256.Sum256([]byte("b"))
	cat := func(parts ...[]byte) Hash { return sha256.Sum256(bytes.Join(parts, nil)) }
	long := bytes.Repeat([]byte{0xab}, 10_000)
	tests := []struct {
		name      string
		got, want Hash
	}{
		{"LeafHash(empty)", LeafHash(nil), cat([]byte{0})},
		{"LeafHash(abc)", LeafHash([]byte("abc")), cat([]byte{0}, []byte("abc"))},
		{"LeafHash(10000 bytes)", LeafHash(long), cat([]byte{0}, long)},
		{"NodeHash(a,b)", NodeHash(a, b), cat([]byte{1}, a[:], b[:])},
		{"NodeHash(b,a)", NodeHash(b, a), cat([]byte{1}, b[:], a[:])},
		{"StateLeafHash(a,b)", StateLeafHash(a, b), cat([]byte{0}, a[:], b[:])},
		{"EmptyHash", EmptyHash, Hash{}},
		// The RFC 6962 leaf hash of the empty leaf, as published with the
		// Certificate Transparency test vectors.
		{"LeafHash(empty) published", LeafHash(nil), mustHash(t, "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d")},
	}
	for _, tc := range tests {
		if tc.got != tc.want {
			t.Errorf("%s = %x, want %x", tc.name, tc.got, tc.want)
		}
	}
}

// requireProofError fails unless err is a rejection that wraps ErrProof.
func requireProofError(t *testing.T, what string, err error) {
	t.Helper()
	if err == nil {
		t.Errorf("%s: accepted, want an error wrapping ErrProof", what)
		return
	}
	if !errors.Is(err, ErrProof) {
		t.Errorf("%s: error %q does not wrap ErrProof", what, err)
	}
}
