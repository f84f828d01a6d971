package bench

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

// TestPatchConfigReplicaTLS: a scenario's replica_tls reaches the cluster
// section of every validator config, and a single validator's config (which has
// none) is left without one.
func TestPatchConfigReplicaTLS(t *testing.T) {
	off := false
	for _, tc := range []struct {
		name, config string
		replicaTLS   *bool
		want         any // cluster.replica_tls after patching; nil: absent
	}{
		{"cluster, off", `{"api_addr":"x","cluster":{"index":1,"key_file":"v1.key"}}`, &off, false},
		{"cluster, default", `{"api_addr":"x","cluster":{"index":1}}`, nil, nil},
		{"single validator", `{"api_addr":"x"}`, &off, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "v.json")
			if err := os.WriteFile(path, []byte(tc.config), 0o600); err != nil {
				t.Fatal(err)
			}
			if err := patchConfig(path, BlockLimits{TxMax: 7}, tc.replicaTLS, nil); err != nil {
				t.Fatal(err)
			}
			raw, _ := os.ReadFile(path)
			var m struct {
				BlockTxMax int            `json:"block_tx_max"`
				Cluster    map[string]any `json:"cluster"`
			}
			if err := json.Unmarshal(raw, &m); err != nil {
				t.Fatal(err)
			}
			if got := m.Cluster["replica_tls"]; got != tc.want || m.BlockTxMax != 7 {
				t.Fatalf("replica_tls %v, block_tx_max %d; want %v, 7:\n%s", got, m.BlockTxMax, tc.want, raw)
			}
		})
	}
	s, err := ParseScenario([]byte(`{"name":"x","validators":4,"accounts":10,"schedule":"constant:10@1s","slo_p99_ms":100,"replica_tls":false}`))
	if err != nil || s.ReplicaTLS == nil || *s.ReplicaTLS || s.ReplicaLinks() != "plaintext (replica_tls false)" {
		t.Fatalf("scenario %+v, %v", s, err)
	}
}
