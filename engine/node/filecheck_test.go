package node

import (
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"settle/engine/devnet"
	"settle/engine/ledger"
)

// writeGeneses writes one.json (one validator) and four.json (four) into dir.
func writeGeneses(t *testing.T, dir string) {
	t.Helper()
	o := devnet.DefaultOptions()
	o.Accounts = 2
	if err := WriteJSON(filepath.Join(dir, "one.json"), devnet.Genesis(o), 0o644); err != nil {
		t.Fatal(err)
	}
	for i := range 4 {
		pub := devnet.ValidatorKey(o.ChainID, i).PublicKey()
		o.Validators = append(o.Validators, ledger.GenesisValidator{Name: fmt.Sprintf("v%d", i),
			PublicKey: hex.EncodeToString(pub[:]), Address: fmt.Sprintf("127.0.0.1:%d", 7750+i)})
	}
	if err := WriteJSON(filepath.Join(dir, "four.json"), devnet.Genesis(o), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestLoadFileConfigRefusesBadSettings: typos, out-of-range numbers, wrong types
// and unparsable addresses are refused with a sentence that names the file and
// the field; zero keeps meaning "the default".
func TestLoadFileConfigRefusesBadSettings(t *testing.T) {
	dir := t.TempDir()
	writeGeneses(t, dir)
	const one = `"node_id": "v0", "data_dir": "db", "genesis_file": "one.json", "api_addr": "127.0.0.1:7700"`
	const four = `"node_id": "v0", "data_dir": "db", "genesis_file": "four.json", "api_addr": "127.0.0.1:7700"`
	const cluster = `"cluster": {"index": 0, "key_file": "v0.key"`
	for _, tc := range []struct {
		name, json, want string // want "": accepted
	}{
		{"minimal", `{` + one + `}`, ""},
		{"zeros are defaults", `{` + one + `, "block_tx_max": 0, "verify_workers": 0, "mempool_tx_max": 0}`, ""},
		{"limits", `{` + one + `, "block_tx_max": 8192, "block_bytes_max": 4194304, "block_delay_ms": 10000, "mempool_tx_max": 64, "verify_workers": 1024}`, ""},
		{"cluster", `{` + four + `, ` + cluster + `, "tick_ms": 20, "listen_addr": ":7750"}}`, ""},

		{"typo", `{` + one + `, "blok_tx_max": 5}`, `unknown field "blok_tx_max" (did you mean "block_tx_max"?)`},
		{"unknown", `{` + one + `, "colour": "blue"}`, `unknown field "colour"`},
		{"negative", `{` + one + `, "block_tx_max": -1}`, "block_tx_max must be 1 to 8192, not -1"},
		{"above a batch", `{` + one + `, "block_tx_max": 8193}`, "block_tx_max must be 1 to 8192, not 8193"},
		{"absurd workers", `{` + one + `, "verify_workers": 100000}`, "verify_workers must be 1 to 1024, not 100000"},
		{"tiny block", `{` + one + `, "block_bytes_max": 1000}`, "block_bytes_max must be 65536 to 4194304, not 1000"},
		{"negative delay", `{` + one + `, "block_delay_ms": -5}`, "block_delay_ms must be 1 to 10000, not -5"},
		{"tiny mempool", `{` + one + `, "mempool_tx_max": 10}`, "mempool_tx_max must be 64 to 1000000, not 10"},
		{"string number", `{` + one + `, "block_tx_max": "5"}`, "block_tx_max must be an integer, not a string"},
		{"fraction", `{` + one + `, "block_tx_max": 1.5}`, "block_tx_max must be an integer, not 1.5"},
		{"syntax", "{\n" + one + ",\n}", "line 3: not valid JSON: invalid character '}' looking for beginning of object key string"},
		{"trailing data", `{` + one + "}\n{}", "line 2: more data after the configuration object"},
		{"empty", ``, "the file is empty"},
		{"node id a path", `{"node_id": "../x", "data_dir": "db", "genesis_file": "one.json", "api_addr": "127.0.0.1:7700"}`, `node_id "../x" must be 1 to 64 letters, digits`},
		{"no data dir", `{"genesis_file": "one.json", "api_addr": "127.0.0.1:7700"}`, "data_dir is required"},
		{"no api", `{"data_dir": "db", "genesis_file": "one.json"}`, "api_addr is required (host:port)"},
		{"api no port", `{"data_dir": "db", "genesis_file": "one.json", "api_addr": "localhost"}`, `api_addr "localhost" is not host:port`},
		{"api bad port", `{"data_dir": "db", "genesis_file": "one.json", "api_addr": "127.0.0.1:99999"}`, `api_addr "127.0.0.1:99999": the port must be a number 0 to 65535`},
		{"short token", `{` + one + `, "admin_token": "tok"}`, "admin_token must be 16 to 256 characters (settled init writes 32 random hex digits), not 3"},
		{"missing genesis", `{"data_dir": "db", "genesis_file": "nope.json", "api_addr": "127.0.0.1:7700"}`, "read genesis: open"},

		{"cluster on one", `{` + one + `, ` + cluster + `}}`, `the genesis names one validator, so the "cluster" section does not apply`},
		{"no cluster", `{` + four + `}`, `the genesis names 4 validators: the config needs a "cluster" section`},
		{"cluster typo", `{` + four + `, ` + cluster + `, "tick_msx": 5}}`, `unknown field "tick_msx" in the "cluster" section (did you mean "tick_ms"?)`},
		{"cluster index", `{` + four + `, "cluster": {"index": 4, "key_file": "v0.key"}}`, "cluster.index must be 0 to 3 (the genesis names 4 validators), not 4"},
		{"cluster tick", `{` + four + `, ` + cluster + `, "tick_ms": -1}}`, "cluster.tick_ms must be 1 to 1000, not -1"},
		{"cluster gossip", `{` + four + `, ` + cluster + `, "gossip_frame_tx_max": 9000}}`, "cluster.gossip_frame_tx_max must be 1 to 8192, not 9000"},
		{"cluster no key", `{` + four + `, "cluster": {"index": 1}}`, "cluster.key_file is required"},
		{"cluster listen", `{` + four + `, ` + cluster + `, "listen_addr": "7750"}}`, `cluster.listen_addr "7750" is not host:port`},
		{"cluster not an object", `{` + four + `, "cluster": 5}`, "cluster must be an object, not a number"},
		{"cluster string index", `{` + four + `, "cluster": {"index": "0"}}`, "cluster.index must be an integer, not a string"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(dir, "v0.json")
			if err := os.WriteFile(path, []byte(tc.json), 0o600); err != nil {
				t.Fatal(err)
			}
			_, _, err := LoadFileConfig(path)
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tc.want == "":
			case err == nil:
				t.Fatalf("accepted; want %q", tc.want)
			case !strings.HasPrefix(err.Error(), "config "+path+": ") || !strings.Contains(err.Error(), tc.want):
				t.Fatalf("error %q\nwant  config %s: ...%s...", err, path, tc.want)
			}
		})
	}
}

// TestFileConfigZeroTakesDefaults: an absent or zero optional setting keeps the
// node's default.
func TestFileConfigZeroTakesDefaults(t *testing.T) {
	dir := t.TempDir()
	writeGeneses(t, dir)
	path := filepath.Join(dir, "v0.json")
	os.WriteFile(path, []byte(`{"data_dir": "db", "genesis_file": "one.json", "api_addr": ":7700", "block_tx_max": 0, "block_delay_ms": 7}`), 0o600)
	_, cfg, err := LoadFileConfig(path)
	if err != nil {
		t.Fatal(err)
	}
	def := DefaultConfig(cfg.DataDir, cfg.Genesis)
	if cfg.BlockTxMax != def.BlockTxMax || cfg.BlockBytesMax != def.BlockBytesMax || cfg.BlockDelayMax.Milliseconds() != 7 ||
		cfg.Mempool.TxCountMax != def.Mempool.TxCountMax || cfg.VerifyWorkers != 0 || cfg.NodeID != def.NodeID {
		t.Fatalf("got %+v", cfg)
	}
}

// TestOperationsDocListsEveryConfigField holds docs/operations.md's table of
// config fields to the code: every JSON field (cluster ones as cluster.NAME) has
// a row, and every numeric range the code enforces is the one documented.
func TestOperationsDocListsEveryConfigField(t *testing.T) {
	b, err := os.ReadFile("../../docs/operations.md")
	if err != nil {
		t.Fatal(err)
	}
	rows := map[string]string{} // field → its whole table row
	for _, line := range strings.Split(string(b), "\n") {
		cells := strings.Split(line, "|")
		if len(cells) > 2 && strings.HasPrefix(strings.TrimSpace(cells[1]), "`") {
			rows[strings.Trim(strings.TrimSpace(cells[1]), "`")] = line
		}
	}
	var fields []string
	for _, f := range jsonFields(reflect.TypeFor[FileConfig]()) {
		if st, ok := sectionType(f); ok {
			for _, sub := range jsonFields(st) {
				fields = append(fields, f+"."+sub)
			}
			continue
		}
		fields = append(fields, f)
	}
	for _, f := range fields {
		if rows[f] == "" {
			t.Errorf("docs/operations.md has no row for config field %s", f)
		}
	}
	fc := FileConfig{Cluster: &ClusterFileConfig{}}
	for _, r := range fc.intRanges() {
		if want := fmt.Sprintf("%d to %d", r.min, r.max); rows[r.field] != "" && !strings.Contains(rows[r.field], want) {
			t.Errorf("docs/operations.md gives %s another range than the code's %s:\n%s", r.field, want, rows[r.field])
		}
	}
}
