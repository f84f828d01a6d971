package bench

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestSiteSetMatrixIsItsMethod: the built-in site set's round trips are
// exactly what its stated method gives from its coordinates, so the file
// says truthfully where its numbers come from; and the anchors it quotes
// come out as it says.
func TestSiteSetMatrixIsItsMethod(t *testing.T) {
	s, err := LoadSiteSet("financial10")
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Sites) != 10 || !strings.HasPrefix(s.Method, "ESTIMATES") {
		t.Fatalf("%d sites, method %q", len(s.Sites), s.Method)
	}
	for i, a := range s.Sites {
		for j, b := range s.Sites {
			if i == j {
				continue
			}
			want := math.Round(EstimateRTTMs(a, b, s.PathStretch, s.FibreKmPerMs, s.FixedMs)*10) / 10
			if math.Abs(s.RTTMs[i][j]-want) > 0.051 {
				t.Errorf("%s–%s: file says %g ms, the method gives %g", a.Name, b.Name, s.RTTMs[i][j], want)
			}
		}
	}
	frankfurt, rome := Site{"Frankfurt", 50.1109, 8.6821}, Site{"Rome", 41.9028, 12.4964}
	tokyo, osaka := Site{"Tokyo", 35.6762, 139.6503}, Site{"Osaka", 34.6937, 135.5023}
	for _, tc := range []struct {
		a, b  Site
		quote float64 // what the file's method text says
	}{{frankfurt, rome, 16.4}, {tokyo, osaka, 7.9}, {frankfurt, tokyo, 142}} {
		got := EstimateRTTMs(tc.a, tc.b, s.PathStretch, s.FibreKmPerMs, s.FixedMs)
		if math.Abs(got-tc.quote) > 0.5 {
			t.Errorf("%s–%s estimates %.1f ms, the file quotes %g", tc.a.Name, tc.b.Name, got, tc.quote)
		}
	}
}

func TestSiteSetRefused(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name, json, want string
	}{
		{"no method", `{"name":"x","sites":[{"name":"a"}],"rtt_ms":[[0]]}`, "method"},
		{"size", `{"name":"x","method":"m","sites":[{"name":"a"},{"name":"b"}],"rtt_ms":[[0,1]]}`, "1 rows for 2 sites"},
		{"asymmetric", `{"name":"x","method":"m","sites":[{"name":"a"},{"name":"b"}],"rtt_ms":[[0,1],[2,0]]}`, "not symmetric"},
		{"diagonal", `{"name":"x","method":"m","sites":[{"name":"a"},{"name":"b"}],"rtt_ms":[[1,1],[1,0]]}`, "to itself"},
		{"unknown field", `{"name":"x","method":"m","rtts":[]}`, "unknown field"},
		{"negative", `{"name":"x","method":"m","sites":[{"name":"a"},{"name":"b"}],"rtt_ms":[[0,-1],[-1,0]]}`, "must be 0 to"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(dir, tc.name+".json")
			if err := os.WriteFile(path, []byte(tc.json), 0o644); err != nil {
				t.Fatal(err)
			}
			if _, err := LoadSiteSet(path); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want %q", err, tc.want)
			}
		})
	}
	if _, err := LoadSiteSet("atlantis"); err == nil || !strings.Contains(err.Error(), "neither built in") {
		t.Errorf("unknown site set: %v", err)
	}
}

func TestValidatorsRoundRobinOverSites(t *testing.T) {
	s := &SiteSet{Method: "m", SameSiteRTTMs: 0.5, Sites: []Site{{Name: "a"}, {Name: "b"}, {Name: "c"}},
		RTTMs: [][]float64{{0, 10, 20}, {10, 0, 30}, {20, 30, 0}}}
	m := s.ValidatorRTTMs(5, 2) // validators at a, b, c, a, b; every RTT doubled
	for _, tc := range []struct {
		i, j int
		want float64
	}{{0, 1, 20}, {1, 2, 60}, {0, 3, 1}, {1, 4, 1}, {2, 3, 40}, {4, 4, 0}} {
		if m[tc.i][tc.j] != tc.want || m[tc.j][tc.i] != tc.want {
			t.Errorf("RTT(%d,%d) = %g, want %g", tc.i, tc.j, m[tc.i][tc.j], tc.want)
		}
	}
}

func TestModelOptionsRefused(t *testing.T) {
	sites, err := LoadSiteSet("financial10")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		o    ModelOptions
		want string
	}{
		{"no n", ModelOptions{}, "at least one validator count"},
		{"one validator", ModelOptions{Validators: []int{1}}, "2 to 200"},
		{"both networks", ModelOptions{Validators: []int{4}, RTTMs: 10, Sites: sites}, "not both"},
		{"negative RTT", ModelOptions{Validators: []int{4}, RTTMs: -1}, "round trip"},
		{"both cores", ModelOptions{Validators: []int{4}, CoresPerValidator: 2, MachineCores: 2}, "either cores"},
		{"shared without machine", ModelOptions{Validators: []int{4}, SharedCPU: true}, "machine cores"},
		{"negative bandwidth", ModelOptions{Validators: []int{4}, BandwidthMbit: -5}, "≥ 0"},
		{"big blocks", ModelOptions{Validators: []int{4}, BlockTxMax: 10000}, "block tx max"},
		{"short timeout", ModelOptions{Validators: []int{4}, ViewTimeoutMs: 5}, "view timeout"},
		{"load fraction", ModelOptions{Validators: []int{4}, LoadFraction: 2}, "load fraction"},
		{"short run", ModelOptions{Validators: []int{4}, DurationS: 3}, "duration"},
		{"nan rate", ModelOptions{Validators: []int{4}, RatePerS: math.NaN()}, "rate"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := Model(tc.o); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

// smallModel is a fast prediction: four validators sharing 2 cores at RTT
// 12 ms, short virtual runs.
func smallModel() ModelOptions {
	return ModelOptions{Validators: []int{4}, RTTMs: 12, MachineCores: 2, DurationS: 4, WarmupS: 1, P99MaxMs: 1500, ClosedK: 8192, SatSeeds: 1}
}

func TestModelPredictsAndIsDeterministic(t *testing.T) {
	a, err := Model(smallModel())
	if err != nil {
		t.Fatal(err)
	}
	p := a.Points[0]
	if p.SaturationPerS < 1000 || p.MaxSustainablePerS < 500 || p.MaxSustainablePerS > 1.3*p.SaturationPerS ||
		!strings.HasPrefix(p.BoundBy, "CPU") || !p.Sustainable || p.AtLoad == nil || p.AtLoad.P50Ms < 20 {
		t.Fatalf("implausible prediction: saturation %.0f, max sustainable %.0f, bound by %q, sustainable %v, at load %+v",
			p.SaturationPerS, p.MaxSustainablePerS, p.BoundBy, p.Sustainable, p.AtLoad)
	}
	o := smallModel()
	o.NoSearch = true // the saturation run and the one at load are enough to compare
	a, err = Model(o)
	if err != nil {
		t.Fatal(err)
	}
	b, err := Model(o)
	if err != nil {
		t.Fatal(err)
	}
	a.TookS, b.TookS = 0, 0
	a.Points[0].RealS, b.Points[0].RealS = 0, 0
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	if string(ja) != string(jb) {
		t.Error("the same options gave different predictions")
	}
}

func TestModelBandwidthBound(t *testing.T) {
	// Free CPU (16 cores each), a slow link: halving it lowers the predicted
	// saturation, and the network is named as the bound.
	// 32,768 in flight: fewer would let Little's law (in flight = rate ×
	// latency) bound the closed loop before the links do.
	o := ModelOptions{Validators: []int{4}, RTTMs: 50, CoresPerValidator: 16, DurationS: 5, WarmupS: 1, P99MaxMs: 2000,
		ClosedK: 32768, NoSearch: true, SatSeeds: 1}
	run := func(mbit float64) ModelPoint {
		o.BandwidthMbit = mbit
		r, err := Model(o)
		if err != nil {
			t.Fatal(err)
		}
		return r.Points[0]
	}
	fast, slow := run(20), run(10)
	if !(slow.SaturationPerS < 0.8*fast.SaturationPerS) || !strings.HasPrefix(fast.BoundBy, "link bandwidth") {
		t.Errorf("20 Mbit/s: %.0f tx/s (%s); 10 Mbit/s: %.0f tx/s (%s)", fast.SaturationPerS, fast.BoundBy, slow.SaturationPerS, slow.BoundBy)
	}
}

func TestCostsFromCalibration(t *testing.T) {
	ref := ReferenceCosts()
	c := CostsFromCalibration(&Calibration{VerifyBatchPerCorePerS: 2 * refVerifyBatchPerCorePerS, VerifySinglePerCorePerS: 50_000,
		FsyncP50Ms: 2, PebbleRecordsPerS: 1e6})
	for _, tc := range []struct {
		name      string
		got, want float64
	}{
		{"verify", c.VerifyTxUs, ref.VerifyTxUs / 2},
		{"exec", c.ExecTxUs, ref.ExecTxUs / 2},
		{"frame", c.FrameUs, ref.FrameUs / 2},
		{"sig", c.SigUs, 20},
		{"fsync", c.FsyncMs, 2},
		{"disk", c.DiskBytesPerS, 250e6},
	} {
		if math.Abs(tc.got-tc.want) > 1e-9*math.Max(1, tc.want) {
			t.Errorf("%s: %g, want %g", tc.name, tc.got, tc.want)
		}
	}
}

func TestLoadCalibrationAndCosts(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return path
	}
	if c, err := LoadCalibration(write("c.json", `{"verify_batch_per_core_per_s": 40000, "fsync_p50_ms": 1}`)); err != nil || c.VerifyBatchPerCorePerS != 40000 {
		t.Errorf("calibration: %+v, %v", c, err)
	}
	if c, err := LoadCalibration(write("s.json", `{"calibration": {"verify_batch_per_core_per_s": 30000}}`)); err != nil || c.VerifyBatchPerCorePerS != 30000 {
		t.Errorf("calibration inside a summary: %+v, %v", c, err)
	}
	if _, err := LoadCalibration(write("x.json", `{"cores": 2}`)); err == nil {
		t.Error("a file without verification rates was taken for a calibration")
	}
	if c, err := LoadCosts(write("costs.json", `{"exec_tx_us": 7}`)); err != nil || c.ExecTxUs != 7 || c.VerifyTxUs != ReferenceCosts().VerifyTxUs {
		t.Errorf("costs: %+v, %v", c, err)
	}
	if _, err := LoadCosts(write("bad.json", `{"exec_tx_us": -7}`)); err == nil {
		t.Error("negative cost accepted")
	}
}

func TestWriteModel(t *testing.T) {
	o := smallModel()
	o.RatePerS = 1000 // one run: the report's shape, not the search
	r, err := Model(o)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := WriteModel(dir, r); err != nil {
		t.Fatal(err)
	}
	md, err := os.ReadFile(filepath.Join(dir, FileModelReport))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"| 4 | 0.5 |", "Validation against measured runs: see results/", "CPU contention"} {
		if !strings.Contains(string(md), want) {
			t.Errorf("model.md lacks %q", want)
		}
	}
	for _, f := range []string{FileModelJSON, PlotModelLatency} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
	if !strings.Contains(r.Text(), "1000") {
		t.Errorf("text:\n%s", r.Text())
	}
}
