package ledger_test

import (
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"settle/engine/ledger"
	"settle/engine/txn"
)

func TestAccountRoundTrip(t *testing.T) {
	eur := usd()
	copy(eur.Code[:], "EUR")
	tests := []ledger.Account{
		{ID: id(1), Seq: 1},
		{ID: id(2), Seq: 42, Flags: ledger.FlagMasterKeySet, MasterKey: key(2).PublicKey(), Native: txn.AmountMax},
		{ID: id(3), Seq: 7, Flags: ledger.FlagMasterKeySet, MasterKey: key(3).PublicKey(), Native: 5,
			Issued: []ledger.Balance{{Asset: eur, Amount: 1}, {Asset: usd(), Amount: txn.AmountMax}}},
	}
	for _, a := range tests {
		b := a.AppendBinary(nil)
		if want := 8 + 4 + 32 + 8 + 2 + len(a.Issued)*(3+20+8); len(b) != want {
			t.Errorf("account %s encodes to %d bytes, want %d", a.ID, len(b), want)
		}
		got, err := ledger.DecodeAccount(a.ID, b)
		if err != nil {
			t.Fatalf("decode: %v", err)
		}
		if !reflect.DeepEqual(*got, a) {
			t.Errorf("round trip:\n got %+v\nwant %+v", *got, a)
		}
	}
}

// TestAccountEncodingLayout pins the byte layout: account records feed the state
// hash, so a change here is a consensus change.
func TestAccountEncodingLayout(t *testing.T) {
	a := ledger.Account{ID: id(1), Seq: 0x0102, Flags: 1, MasterKey: key(1).PublicKey(), Native: 0x0a0b,
		Issued: []ledger.Balance{{Asset: usd(), Amount: 3}}}
	pub := key(1).PublicKey()
	issuer := id(0)
	want := "0000000000000102" + "00000001" + hex.EncodeToString(pub[:]) + "0000000000000a0b" + "0001" +
		hex.EncodeToString([]byte("USD")) + hex.EncodeToString(issuer[:]) + "0000000000000003"
	if got := hex.EncodeToString(a.AppendBinary(nil)); got != want {
		t.Errorf("encoding\n got %s\nwant %s", got, want)
	}
}

func TestDecodeAccountErrors(t *testing.T) {
	good := (&ledger.Account{ID: id(1), Seq: 1, Issued: []ledger.Balance{{Asset: usd(), Amount: 3}}}).AppendBinary(nil)
	tests := []struct {
		name string
		b    []byte
		want string
	}{
		{"empty", nil, "record is 0 bytes, want at least 54"},
		{"short header", good[:53], "record is 53 bytes"},
		{"truncated balance", good[:len(good)-1], "1 issued balances need 31 bytes, have 30"},
		{"trailing bytes", append(append([]byte(nil), good...), 0), "1 issued balances need 31 bytes, have 32"},
	}
	for _, tc := range tests {
		if _, err := ledger.DecodeAccount(id(1), tc.b); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want %q", tc.name, err, tc.want)
		}
	}
}

func TestAssetInfoRoundTrip(t *testing.T) {
	info := ledger.AssetInfo{Asset: usd(), Outstanding: txn.AmountMax, Flags: 3}
	b := info.AppendBinary(nil)
	got, err := ledger.DecodeAssetInfo(usd(), b)
	if err != nil || *got != info {
		t.Fatalf("round trip %+v, %v; want %+v", got, err, info)
	}
	if _, err := ledger.DecodeAssetInfo(usd(), b[:11]); err == nil || !strings.Contains(err.Error(), "record is 11 bytes, want 12") {
		t.Errorf("short record: %v", err)
	}
	k := ledger.AssetKey(usd())
	as, err := ledger.AssetFromKey(k[:])
	if err != nil || as != usd() {
		t.Errorf("asset key round trip %v, %v", as, err)
	}
	if _, err := ledger.AssetFromKey(k[:22]); err == nil {
		t.Error("a 22-byte asset key decoded")
	}
	bad := k
	copy(bad[:], "us$")
	if _, err := ledger.AssetFromKey(bad[:]); err == nil {
		t.Error("an asset key with a bad code decoded")
	}
}

func TestMetaRoundTrip(t *testing.T) {
	m := ledger.Meta{Height: 9, StateHash: txn.Hash{1, 2, 3}, NativeSupply: 1 << 60, FeesBurned: 77, TxCount: 1234,
		StateRoot: txn.Hash{4}, TxRoot: txn.Hash{5}}
	b := m.AppendBinary(nil)
	if len(b) != 128 {
		t.Fatalf("meta encodes to %d bytes, want 128", len(b))
	}
	got, err := ledger.DecodeMeta(b)
	if err != nil || got != m {
		t.Fatalf("round trip %+v, %v; want %+v", got, err, m)
	}
	if _, err := ledger.DecodeMeta(append(b, 0)); err == nil || !strings.Contains(err.Error(), "129 bytes, want 128") {
		t.Errorf("long meta: %v", err)
	}
}

func TestLoadGenesis(t *testing.T) {
	g, err := ledger.LoadGenesis(filepath.Join("testdata", "genesis_valid.json"))
	if err != nil {
		t.Fatal(err)
	}
	l := newLedger(t, g)
	if l.ChainID() != "settle-test" || l.BaseFee() != 10 {
		t.Errorf("chain %q base fee %d", l.ChainID(), l.BaseFee())
	}
	m := l.Meta()
	if m.Height != 0 || m.NativeSupply != 3_000_000 || m.FeesBurned != 0 || m.StateHash == (txn.Hash{}) {
		t.Errorf("genesis meta %+v", m)
	}
	if a := account(t, l, id(1)); a.Seq != 1 || a.Native != 2_000_000 || a.Balance(usd()) != 500 || a.MasterKey != key(1).PublicKey() {
		t.Errorf("account 1 %+v", a)
	}
	if info, ok := l.Asset(usd()); !ok || info.Outstanding != 500 {
		t.Errorf("USD %+v %v", info, ok)
	}
	if err := l.CheckInvariants(); err != nil {
		t.Error(err)
	}
	// The hash identifies the genesis: stable for equal content, different otherwise.
	g2, _ := ledger.LoadGenesis(filepath.Join("testdata", "genesis_valid.json"))
	if g.Hash() != g2.Hash() {
		t.Error("equal genesis files hash differently")
	}
	g2.BaseFee++
	if g.Hash() == g2.Hash() {
		t.Error("different genesis files hash the same")
	}
	if _, err := ledger.LoadGenesis(filepath.Join("testdata", "missing.json")); err == nil {
		t.Error("a missing file loaded")
	}
}

func TestGenesisValidate(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("testdata", "genesis_invalid.json"))
	if err != nil {
		t.Fatal(err)
	}
	var cases []struct {
		Name    string          `json:"name"`
		Error   string          `json:"error"`
		Genesis json.RawMessage `json:"genesis"`
	}
	if err := json.Unmarshal(b, &cases); err != nil {
		t.Fatal(err)
	}
	for _, tc := range cases {
		t.Run(tc.Name, func(t *testing.T) {
			var g ledger.Genesis
			if err := json.Unmarshal(tc.Genesis, &g); err != nil {
				t.Fatalf("parse: %v", err)
			}
			err := g.Validate()
			if err == nil || !strings.Contains(err.Error(), tc.Error) {
				t.Fatalf("Validate: %v, want an error containing %q", err, tc.Error)
			}
			if _, ferr := ledger.FromGenesis(&g); ferr == nil && !strings.Contains(tc.Error, "chain_id") &&
				!strings.Contains(tc.Error, "base_fee") && !strings.Contains(tc.Error, "validator") {
				t.Errorf("FromGenesis accepted a genesis that Validate rejects")
			}
		})
	}
}

// TestGenesisHashIgnoresAddresses: a validator is its key; moving it (a new
// replica or API address) leaves the network's identity alone, while a new
// key does not.
func TestGenesisHashIgnoresAddresses(t *testing.T) {
	g := plainGenesis(2, 1000)
	g.Validators = []ledger.GenesisValidator{{Name: "v0", PublicKey: g.Validators[0].PublicKey, Address: "10.0.0.1:7800", APIAddr: "10.0.0.1:7700"}}
	h := g.Hash()
	moved := *g
	moved.Validators = []ledger.GenesisValidator{{Name: "v0", PublicKey: g.Validators[0].PublicKey, Address: "10.9.9.9:9999"}}
	if moved.Hash() != h {
		t.Fatal("moving a validator changed the genesis hash")
	}
	if g.Validators[0].Address != "10.0.0.1:7800" {
		t.Fatal("Hash changed the genesis it hashed")
	}
	rekeyed := *g
	pub := key(1).PublicKey()
	rekeyed.Validators = []ledger.GenesisValidator{{Name: "v0", PublicKey: hex.EncodeToString(pub[:]), Address: "10.0.0.1:7800"}}
	if rekeyed.Hash() == h {
		t.Fatal("another validator key left the genesis hash unchanged")
	}
}
