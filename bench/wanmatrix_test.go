package bench

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestWANMatrixValidate(t *testing.T) {
	closed, err := ParseScenario([]byte(`{"name":"c","validators":4,"slo_p99_ms":1000,"closed_k":64,"duration":"5s"}`))
	if err != nil {
		t.Fatal(err)
	}
	open, err := ParseScenario([]byte(`{"name":"o","validators":4,"slo_p99_ms":1000,"schedule":"constant:10@5s"}`))
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name    string
		o       WANMatrixOptions
		wantErr string
	}{
		{"ok", WANMatrixOptions{Run: Options{Scenario: closed}, Validators: []int{4, 7}, RTTMs: []float64{0, 228}, BandwidthMbit: []float64{0, 100}}, ""},
		{"no scenario", WANMatrixOptions{Validators: []int{4}, RTTMs: []float64{0}}, "no scenario"},
		{"open loop", WANMatrixOptions{Run: Options{Scenario: open}, Validators: []int{4}, RTTMs: []float64{0}}, "closed loop"},
		{"no rtt 0", WANMatrixOptions{Run: Options{Scenario: closed}, Validators: []int{4}, RTTMs: []float64{12}}, "RTT 0"},
		{"one validator", WANMatrixOptions{Run: Options{Scenario: closed}, Validators: []int{1}, RTTMs: []float64{0}}, "2 to 64 validators"},
		{"bad rtt", WANMatrixOptions{Run: Options{Scenario: closed}, Validators: []int{4}, RTTMs: []float64{0, 9000}}, "rtt_ms must be"},
		{"bad bandwidth", WANMatrixOptions{Run: Options{Scenario: closed}, Validators: []int{4}, RTTMs: []float64{0}, BandwidthMbit: []float64{0.001}}, "bandwidth_mbit"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.o.Validate()
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Fatalf("error %v, want one containing %q", err, tc.wantErr)
			}
		})
	}
}

// TestWANMatrixReport writes a report from figures alone: the table marks the
// missed targets, and the plots are drawn.
func TestWANMatrixReport(t *testing.T) {
	sc, err := LoadScenario("wan-sat")
	if err != nil {
		t.Fatal(err)
	}
	r := &WANMatrixResult{Scenario: sc, Passes: 1, Dir: t.TempDir(), Points: []WANPoint{
		{Validators: 4, RTTMs: 0, SatPerS: 5000, SatSamples: []float64{5000}, P50Ms: 60, P99Ms: 200, P50TargetMs: 150},
		{Validators: 4, RTTMs: 228, SatPerS: 3500, SatSamples: []float64{3500}, SatRatio: 0.7, P50Ms: 900, P99Ms: 1500, P50TargetMs: 834},
		{Validators: 4, RTTMs: 12, BandwidthMbit: 100, SatPerS: 4800, SatSamples: []float64{4800}, SatRatio: 0.96, P50Ms: 100, P99Ms: 300, P50TargetMs: 186},
	}}
	if err := r.Write(); err != nil {
		t.Fatal(err)
	}
	md, err := os.ReadFile(filepath.Join(r.Dir, FileReport))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"| 4 | unlimited | 228 | 3500 | **0.70** |", "| **900** | 834 |", "| 4 | 100 Mbit/s | 12 | 4800 | 0.96 |"} {
		if !strings.Contains(string(md), want) {
			t.Errorf("report lacks %q:\n%s", want, md)
		}
	}
	for _, f := range []string{FileResult, PlotWANThroughput, PlotWANLatency} {
		if st, err := os.Stat(filepath.Join(r.Dir, f)); err != nil || st.Size() == 0 {
			t.Errorf("%s not written: %v", f, err)
		}
	}
}
