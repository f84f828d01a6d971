package sigverify

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
)

// speccheckWant is the ZIP-215 verdict for each case of "Taming the many
// EdDSAs" (Chalkias, Garillot, Nikolaenko), in file order. ZIP-215 accepts
// small-order and non-canonical A and R, decodes them as sent and hashes the
// bytes as sent, and uses the cofactored equation; it still requires S < L.
var speccheckWant = []struct {
	valid bool
	why   string
}{
	{true, "0: small-order A, small-order R"},
	{true, "1: small-order A, mixed-order R"},
	{true, "2: mixed-order A, small-order R"},
	{true, "3: mixed-order A, mixed-order R"},
	{true, "4: passes the cofactored equation only"},
	{true, "5: cofactored verify computes 8(hA), not (8h mod L)A"},
	{false, "6: non-canonical S (S > L)"},
	{false, "7: non-canonical S (S >> L)"},
	{false, "8: non-canonical small-order R, valid only if R is reduced before hashing"},
	{true, "9: non-canonical small-order R, valid if R is hashed as sent"},
	{true, "10: non-canonical small-order A, cofactored"},
	{true, "11: non-canonical small-order A, hashed as sent"},
}

func loadSpeccheck(t testing.TB) []vectorCase {
	var raw []struct {
		Message   string `json:"message"`
		PublicKey string `json:"pub_key"`
		Signature string `json:"signature"`
	}
	loadGzipJSON(t, "speccheck_cases.json.gz", &raw)
	cases := make([]vectorCase, len(raw))
	for i, r := range raw {
		cases[i] = vectorCase{
			name: fmt.Sprintf("speccheck/%d", i),
			pub:  mustHex(t, r.PublicKey),
			msg:  mustHex(t, r.Message),
			sig:  mustHex(t, r.Signature),
		}
	}
	return cases
}

// wycheproofCase carries Wycheproof's own (strict RFC 8032) verdict.
type wycheproofCase struct {
	vectorCase
	tcID    int
	comment string
	strict  bool // Wycheproof's "valid"
}

// wycheproofZIP215Differs lists the Wycheproof cases whose ZIP-215 verdict
// differs from Wycheproof's strict RFC 8032 verdict (case name -> ZIP-215
// verdict). The 145 cases of eddsa_test.json agree: its invalid cases are
// wrong lengths, S >= L, points off the curve or a wrong equation, which
// ZIP-215 rejects too. Case 151 of testvectors_v1 differs: its R is (0, 1)
// encoded with the sign bit of x set, a non-canonical encoding of the
// identity that RFC 8032 refuses to decode and ZIP-215 decodes as the
// identity, hashing R as sent; the equation then holds. The test fails on any
// deviation not listed, so a library or vector update cannot change a
// verdict unnoticed.
var wycheproofZIP215Differs = map[string]bool{
	"wycheproof-v1/151": true,
}

func loadWycheproof(t testing.TB) []wycheproofCase {
	var raw struct {
		TestGroups []struct {
			Key struct {
				PK string `json:"pk"`
			} `json:"key"`
			Tests []struct {
				TcID    int    `json:"tcId"`
				Comment string `json:"comment"`
				Msg     string `json:"msg"`
				Sig     string `json:"sig"`
				Result  string `json:"result"`
			} `json:"tests"`
		} `json:"testGroups"`
	}
	loadGzipJSON(t, "eddsa_test.json.gz", &raw)
	var cases []wycheproofCase
	for _, g := range raw.TestGroups {
		pub := mustHex(t, g.Key.PK)
		for _, tc := range g.Tests {
			if tc.Result != "valid" && tc.Result != "invalid" {
				t.Fatalf("wycheproof tcId %d: unexpected result %q", tc.TcID, tc.Result)
			}
			cases = append(cases, wycheproofCase{
				vectorCase: vectorCase{
					name: fmt.Sprintf("wycheproof/%d", tc.TcID),
					pub:  pub,
					msg:  mustHex(t, tc.Msg),
					sig:  mustHex(t, tc.Sig),
				},
				tcID:    tc.TcID,
				comment: tc.Comment,
				strict:  tc.Result == "valid",
			})
		}
	}
	if len(cases) != 145 {
		t.Fatalf("wycheproof: %d cases, want 145", len(cases))
	}
	return append(cases, loadWycheproofV1Extra(t)...)
}

// loadWycheproofV1Extra loads the cases of Wycheproof's testvectors_v1 that
// the older eddsa_test.json lacks and that matter for ZIP-215 (see
// testdata/README.md).
func loadWycheproofV1Extra(t testing.TB) []wycheproofCase {
	f, err := os.ReadFile(filepath.Join("testdata", "wycheproof_v1_extra.json"))
	if err != nil {
		t.Fatalf("read wycheproof_v1_extra.json: %v", err)
	}
	var raw struct {
		Tests []struct {
			TcID    int    `json:"tcId"`
			Comment string `json:"comment"`
			PK      string `json:"pk"`
			Msg     string `json:"msg"`
			Sig     string `json:"sig"`
			Result  string `json:"result"`
		} `json:"tests"`
	}
	if err := json.Unmarshal(f, &raw); err != nil {
		t.Fatalf("decode wycheproof_v1_extra.json: %v", err)
	}
	cases := make([]wycheproofCase, len(raw.Tests))
	for i, tc := range raw.Tests {
		cases[i] = wycheproofCase{
			vectorCase: vectorCase{
				name: fmt.Sprintf("wycheproof-v1/%d", tc.TcID),
				pub:  mustHex(t, tc.PK),
				msg:  mustHex(t, tc.Msg),
				sig:  mustHex(t, tc.Sig),
			},
			tcID:    tc.TcID,
			comment: tc.Comment,
			strict:  tc.Result == "valid",
		}
	}
	return cases
}

// loadZIP215 loads the ZIP-215 conformance vectors: every combination of
// small-order A and R encodings (canonical and not), signed over "Zcash".
// ZIP-215 accepts all of them.
func loadZIP215(t testing.TB) []vectorCase {
	var raw [][2]string
	loadGzipJSON(t, "zip215.json.gz", &raw)
	cases := make([]vectorCase, len(raw))
	for i, r := range raw {
		cases[i] = vectorCase{
			name: fmt.Sprintf("zip215/%d", i),
			pub:  mustHex(t, r[0]),
			msg:  []byte("Zcash"),
			sig:  mustHex(t, r[1]),
		}
	}
	return cases
}

// assertAgreement checks that the batch paths agree with Verify on c: the
// raw batch equation over c (alone and with valid fillers), and VerifyBatch.
func assertAgreement(t *testing.T, c vectorCase, single bool) {
	t.Helper()
	fillers := signedItems(3, 99)
	v := NewVerifier(8)
	groups := map[string][]Item{
		"repeated":    {c.item(), c.item(), c.item(), c.item()},
		"withFillers": append([]Item{c.item()}, fillers...),
	}
	for name, items := range groups {
		idx := make([]int, len(items))
		for i := range idx {
			idx[i] = i
		}
		if got := v.check(items, idx); got != single {
			t.Errorf("%s: batch equation (%s) = %v, single = %v", c.name, name, got, single)
		}
		ok := make([]bool, len(items))
		v.VerifyBatch(items, ok)
		if ok[0] != single {
			t.Errorf("%s: VerifyBatch (%s) verdict = %v, single = %v", c.name, name, ok[0], single)
		}
	}
}

func TestSpeccheck(t *testing.T) {
	cases := loadSpeccheck(t)
	if len(cases) != len(speccheckWant) {
		t.Fatalf("%d speccheck cases, want %d", len(cases), len(speccheckWant))
	}
	for i, c := range cases {
		single := Verify(c.pub, c.msg, c.sig)
		if single != speccheckWant[i].valid {
			t.Errorf("case %s: Verify = %v, want %v", speccheckWant[i].why, single, speccheckWant[i].valid)
		}
		assertAgreement(t, c, single)
	}
}

func TestWycheproof(t *testing.T) {
	for _, c := range loadWycheproof(t) {
		want := c.strict
		if zip, ok := wycheproofZIP215Differs[c.name]; ok {
			want = zip
		}
		single := Verify(c.pub, c.msg, c.sig)
		if single != want {
			t.Errorf("%s (%q): Verify = %v, want %v (strict RFC 8032: %v)",
				c.name, c.comment, single, want, c.strict)
		}
		assertAgreement(t, c.vectorCase, single)
	}
}

func TestZIP215Vectors(t *testing.T) {
	for _, c := range loadZIP215(t) {
		single := Verify(c.pub, c.msg, c.sig)
		if !single {
			t.Errorf("%s: Verify = false, ZIP-215 accepts every case", c.name)
		}
		assertAgreement(t, c, single)
	}
}

// TestMixedBatches puts every vector case and some valid signatures into
// shuffled batches of several sizes: each per-item verdict must equal the
// single verdict, whatever the company an item keeps in its batch.
func TestMixedBatches(t *testing.T) {
	var all []vectorCase
	all = append(all, loadSpeccheck(t)...)
	for _, c := range loadWycheproof(t) {
		all = append(all, c.vectorCase)
	}
	all = append(all, loadZIP215(t)...)
	items := make([]Item, 0, len(all)+64)
	for _, c := range all {
		items = append(items, c.item())
	}
	items = append(items, signedItems(64, 7)...)
	want := make([]bool, len(items))
	for i, it := range items {
		want[i] = Verify(it.Pub, it.Msg, it.Sig)
	}

	rng := rand.New(rand.NewPCG(1, 2))
	for _, size := range []int{len(items), 256, 64, 16, 3} {
		perm := rng.Perm(len(items))
		for start := 0; start < len(perm); start += size {
			end := min(start+size, len(perm))
			batch := make([]Item, 0, end-start)
			for _, p := range perm[start:end] {
				batch = append(batch, items[p])
			}
			ok := make([]bool, len(batch))
			allOK := VerifyBatch(batch, ok)
			wantAll := true
			for i, p := range perm[start:end] {
				wantAll = wantAll && want[p]
				if ok[i] != want[p] {
					t.Errorf("size %d: item %d: batch verdict %v, single %v", size, p, ok[i], want[p])
				}
			}
			if allOK != wantAll {
				t.Errorf("size %d: allOK = %v, want %v", size, allOK, wantAll)
			}
		}
	}
}
