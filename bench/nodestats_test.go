package bench

import (
	"math"
	"strings"
	"testing"
)

func TestParseProm(t *testing.T) {
	text := `# HELP x
settle_blocks_committed_total 42
settle_block_txs_bucket{vmrange="1.000e+00...1.136e+00"} 3
settle_block_txs_bucket{vmrange="8.799e+00...1.000e+01"} 4
settle_block_txs_sum 31
settle_block_txs_count 7
settle_txs_rejected_total{code="mempool_full"} 5
settle_txs_rejected_total{code="seq_past"} 2
process_resident_memory_bytes 1.048576e+08
garbage line
`
	m := parseProm(strings.NewReader(text))
	for name, want := range map[string]float64{
		"settle_blocks_committed_total": 42, "settle_block_txs_sum": 31, "settle_block_txs_count": 7,
		"settle_txs_rejected_total": 7, "process_resident_memory_bytes": 104857600, "settle_block_txs_bucket": 7,
	} {
		if m[name] != want {
			t.Errorf("%s = %g, want %g", name, m[name], want)
		}
	}
}

func TestSummariseNode(t *testing.T) {
	var samples []NodeSample
	for i := range 9 {
		f := float64(i)
		samples = append(samples, NodeSample{AtS: f, Node: 0, OK: true, CPUSeconds: 0.5 * f, RSSBytes: (100 + f) * (1 << 20),
			Height: 10 * f, Blocks: 10 * f, BlockTxsSum: 500 * f, BlockTxsCount: 10 * f, View: 10*f + 2*f, MempoolTxs: f})
	}
	samples = append(samples, NodeSample{AtS: 9, Node: 0}) // missed
	st := SummariseNodes(samples, []string{"a"})[0]
	if st.Missed != 1 || st.Samples != 10 {
		t.Errorf("samples %d missed %d", st.Samples, st.Missed)
	}
	if st.CPUCoresMean != 0.5 || st.BlocksPerS != 10 || st.BlockTxsMean != 50 || st.ViewChanges != 16 || st.MempoolTxsMax != 8 {
		t.Errorf("stats %+v", st)
	}
	if st.RSSMBMax != 108 || st.RSSGrowthPct <= 0 {
		t.Errorf("rss %+v", st)
	}
}

func TestLoadClusterFile(t *testing.T) {
	dir := t.TempDir()
	cases := []struct {
		name, body string
		want       int
		wantErr    string
	}{
		{"lines", "# comment\nhttp://10.0.0.1:7700/\n10.0.0.2:7700\n", 2, ""},
		{"json", `{"targets":["http://a:1","b:2","c:3"],"chain_id":"x"}`, 3, ""},
		{"empty", "\n# nothing\n", 0, "names no validators"},
		{"bad target", "http://a/path\n", 0, "not host:port"},
	}
	for _, tc := range cases {
		p := dir + "/" + strings.ReplaceAll(tc.name, " ", "_")
		if err := writeFile(p, tc.body); err != nil {
			t.Fatal(err)
		}
		c, err := LoadClusterFile(p)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("%s: error %v, want %q", tc.name, err, tc.wantErr)
			}
			continue
		}
		if err != nil || len(c.Targets) != tc.want || c.Local {
			t.Errorf("%s: %v %+v", tc.name, err, c)
		}
	}
}

// TestCPUFigures: the CPU-normalised efficiency is one batch verification's
// CPU over a validator's mean CPU per committed transaction.
func TestCPUFigures(t *testing.T) {
	for _, tc := range []struct {
		name          string
		nodes         []NodeStats
		batchPerCoreS float64
		wantUs, want  float64
	}{
		{"one validator", []NodeStats{{CPUSeconds: 2, TxsCommitted: 100_000}}, 100_000, 20, 0.5},
		{"four validators", []NodeStats{{CPUSeconds: 1, TxsCommitted: 50_000}, {CPUSeconds: 1, TxsCommitted: 50_000},
			{CPUSeconds: 1, TxsCommitted: 50_000}, {CPUSeconds: 1, TxsCommitted: 49_000}}, 100_000, 80, 0.5},
		{"no samples", nil, 100_000, 0, 0},
	} {
		r := &Result{Nodes: tc.nodes, Calibration: &Calibration{VerifyBatchPerCorePerS: tc.batchPerCoreS}}
		r.cpuFigures()
		if math.Abs(r.ValidatorCPUUsPerTx-tc.wantUs) > 1e-9 || math.Abs(r.CPUEfficiency-tc.want) > 1e-9 {
			t.Errorf("%s: %.3f µs/tx, efficiency %.3f; want %.3f, %.3f", tc.name, r.ValidatorCPUUsPerTx, r.CPUEfficiency, tc.wantUs, tc.want)
		}
	}
}
