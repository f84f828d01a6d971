package sigverify

import (
	"compress/gzip"
	"crypto/ed25519"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

// vectorCase is one test vector from any of the vector files.
type vectorCase struct {
	name string
	pub  []byte
	msg  []byte
	sig  []byte
}

func (c vectorCase) item() Item { return Item{Pub: c.pub, Msg: c.msg, Sig: c.sig} }

// loadGzipJSON decodes testdata/name (gzip-compressed JSON) into out.
func loadGzipJSON(t testing.TB, name string, out any) {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", name))
	if err != nil {
		t.Fatalf("open %s: %v", name, err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatalf("gunzip %s: %v", name, err)
	}
	if err := json.NewDecoder(zr).Decode(out); err != nil {
		t.Fatalf("decode %s: %v", name, err)
	}
}

func mustHex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatalf("bad hex %q: %v", s, err)
	}
	return b
}

// testKey derives a deterministic key pair from a small integer.
func testKey(n uint64) ed25519.PrivateKey {
	var seed [ed25519.SeedSize]byte
	binary.LittleEndian.PutUint64(seed[:], n+1)
	return ed25519.NewKeyFromSeed(seed[:])
}

// signedItems returns count valid items, each by its own key over a
// transaction-sized message. crypto/ed25519 signatures are valid under
// ZIP-215 (a canonical, strict signature satisfies every rule).
func signedItems(count int, seed uint64) []Item {
	items := make([]Item, count)
	for i := range items {
		key := testKey(seed*1_000_003 + uint64(i))
		msg := make([]byte, 120)
		binary.LittleEndian.PutUint64(msg, seed)
		binary.LittleEndian.PutUint64(msg[8:], uint64(i))
		items[i] = Item{
			Pub: key.Public().(ed25519.PublicKey),
			Msg: msg,
			Sig: ed25519.Sign(key, msg),
		}
	}
	return items
}

// corrupt makes it invalid with a well-formed signature (so it reaches the
// batch equation rather than the cheap pre-checks): it flips a message bit.
func corrupt(it Item) Item {
	msg := append([]byte(nil), it.Msg...)
	msg[len(msg)-1] ^= 1
	return Item{Pub: it.Pub, Msg: msg, Sig: it.Sig}
}
