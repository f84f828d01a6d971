package bench

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestWANSpecValidate(t *testing.T) {
	cases := []struct {
		name       string
		spec       WANSpec
		validators int
		wantErr    string
	}{
		{"uniform", WANSpec{RTTMs: 228, JitterMs: 10, BandwidthMbit: 100}, 4, ""},
		{"no delay", WANSpec{}, 2, ""},
		{"matrix", WANSpec{RTTMatrixMs: [][]float64{{0, 12, 228}, {12, 0, 200}, {228, 200, 0}}}, 3, ""},
		{"negative rtt", WANSpec{RTTMs: -1}, 4, "rtt_ms must be 0 to 2000"},
		{"huge rtt", WANSpec{RTTMs: 5000}, 4, "rtt_ms must be 0 to 2000"},
		{"jitter beyond half", WANSpec{RTTMs: 10, JitterMs: 6}, 4, "must not exceed half of rtt_ms"},
		{"tiny bandwidth", WANSpec{BandwidthMbit: 0.01}, 4, "bandwidth_mbit must be 0 (unlimited) or 0.1"},
		{"one validator", WANSpec{RTTMs: 10}, 1, "at least two validators"},
		{"matrix rows", WANSpec{RTTMatrixMs: [][]float64{{0, 1}, {1, 0}}}, 3, "has 2 rows for 3 validators"},
		{"matrix row length", WANSpec{RTTMatrixMs: [][]float64{{0, 1}, {1}}}, 2, "row 1 has 1 entries"},
		{"matrix diagonal", WANSpec{RTTMatrixMs: [][]float64{{1, 1}, {1, 0}}}, 2, "link to itself"},
		{"matrix asymmetric", WANSpec{RTTMatrixMs: [][]float64{{0, 1}, {2, 0}}}, 2, "not symmetric"},
		{"matrix jitter", WANSpec{JitterMs: 5, RTTMatrixMs: [][]float64{{0, 8}, {8, 0}}}, 2, "smallest round-trip time"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.spec.validate(tc.validators)
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("refused a valid WAN: %v", err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Fatalf("error %v, want one containing %q", err, tc.wantErr)
			}
		})
	}
}

func TestScenarioWithWAN(t *testing.T) {
	sc, err := ParseScenario([]byte(`{"name":"wan","validators":4,"slo_p99_ms":1000,"schedule":"constant:100@5s",
		"wan":{"rtt_ms":228,"bandwidth_mbit":100},"view_timeout_ms":2000}`))
	if err != nil {
		t.Fatal(err)
	}
	if sc.WAN.RTT(0, 3) != 228 || sc.WAN.RTT(2, 2) != 0 || sc.ViewTimeoutMs != 2000 {
		t.Fatalf("parsed %+v", sc)
	}
	if got := sc.WAN.Describe(); !strings.Contains(got, "RTT 228 ms") || !strings.Contains(got, "100 Mbit/s") {
		t.Errorf("Describe: %q", got)
	}
	if _, err := ParseScenario([]byte(`{"name":"wan","validators":1,"slo_p99_ms":1000,"schedule":"constant:100@5s","wan":{"rtt_ms":2}}`)); err == nil {
		t.Error("a WAN with one validator was accepted")
	}
}

// echoServer answers every byte it reads.
func echoServer(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				io.Copy(c, c)
			}()
		}
	}()
	return ln.Addr().String()
}

// TestWANDelaysAndCaps measures a real link through the proxies: a round trip
// takes at least the RTT, and a transfer at least its size over the cap. Only
// lower bounds are asserted: a busy machine makes things slower, never faster.
func TestWANDelaysAndCaps(t *testing.T) {
	echo := echoServer(t)
	w, err := StartWAN(WANSpec{RTTMatrixMs: [][]float64{{0, 80}, {80, 0}}, BandwidthMbit: 8}, []string{echo, echo}, "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	for _, pair := range [][2]int{{0, 1}, {1, 0}} {
		c, err := net.Dial("tcp", w.PeerAddr(pair[0], pair[1]))
		if err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 1)
		start := time.Now()
		if _, err := c.Write([]byte{7}); err != nil {
			t.Fatal(err)
		}
		if _, err := io.ReadFull(c, buf); err != nil {
			t.Fatal(err)
		}
		if rtt := time.Since(start); rtt < 80*time.Millisecond {
			t.Errorf("link %v: a round trip took %v, below the 80 ms RTT", pair, rtt)
		}
		// 200 kB at 8 Mbit/s (1 MB/s) in each direction: at least 0.2 s.
		const size = 200_000
		start = time.Now()
		go c.Write(make([]byte, size))
		if _, err := io.ReadFull(c, make([]byte, size)); err != nil {
			t.Fatal(err)
		}
		if d := time.Since(start); d < 200*time.Millisecond {
			t.Errorf("link %v: %d bytes came back in %v, faster than the 8 Mbit/s cap allows", pair, size, d)
		}
		c.Close()
	}
	w.Close()
	if _, err := net.DialTimeout("tcp", w.PeerAddr(0, 1), time.Second); err == nil {
		t.Error("a proxy still accepts connections after Close")
	}
}

// TestShapeLinksWritesPeers checks the config side: every validator reaches each
// other one through its own proxy, and the view timeout is written in ticks.
func TestShapeLinksWritesPeers(t *testing.T) {
	dir := t.TempDir()
	echo := echoServer(t)
	genesis := `{"validators":[{"name":"v0","address":"` + echo + `"},{"name":"v1","address":"` + echo + `"},{"name":"v2","address":"` + echo + `"}]}`
	if err := writeFile(filepath.Join(dir, "genesis.json"), genesis); err != nil {
		t.Fatal(err)
	}
	var configs []string
	for i := range 3 {
		p := filepath.Join(dir, fmt.Sprintf("v%d.json", i))
		if err := writeFile(p, fmt.Sprintf(`{"node_id":"v%d","genesis_file":"genesis.json","cluster":{"index":%d}}`, i, i)); err != nil {
			t.Fatal(err)
		}
		configs = append(configs, p)
	}
	c := &Cluster{logf: t.Logf}
	if err := c.shapeLinks(LocalOptions{WAN: &WANSpec{RTTMs: 30}, ViewTimeoutMs: 9000}, configs); err != nil {
		t.Fatal(err)
	}
	defer c.wan.Close()
	for i, p := range configs {
		raw, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		var cfg struct {
			NodeID  string `json:"node_id"`
			Cluster struct {
				Index               int               `json:"index"`
				Peers               map[string]string `json:"peers"`
				ViewTimeoutTicks    int               `json:"view_timeout_ticks"`
				ViewTimeoutTicksMax int               `json:"view_timeout_ticks_max"`
			} `json:"cluster"`
		}
		if err := json.Unmarshal(raw, &cfg); err != nil {
			t.Fatal(err)
		}
		if cfg.NodeID != fmt.Sprintf("v%d", i) || cfg.Cluster.Index != i {
			t.Errorf("%s lost its fields: %s", p, raw)
		}
		if cfg.Cluster.ViewTimeoutTicks != 450 || cfg.Cluster.ViewTimeoutTicksMax != 450 {
			t.Errorf("%s: view timeout %d ticks (max %d), want 450 and 450", p, cfg.Cluster.ViewTimeoutTicks, cfg.Cluster.ViewTimeoutTicksMax)
		}
		if len(cfg.Cluster.Peers) != 2 {
			t.Errorf("%s: peers %v, want the two others", p, cfg.Cluster.Peers)
		}
		for j := range 3 {
			if j == i {
				continue
			}
			if got, want := cfg.Cluster.Peers[fmt.Sprintf("v%d", j)], c.wan.PeerAddr(i, j); got != want {
				t.Errorf("%s reaches v%d at %s, want its proxy %s", p, j, got, want)
			}
		}
	}
}

// TestLocalClusterOverWAN runs a real four-validator round with every link at
// 150 ms RTT. Commits need at least a round trip after submission, so a median
// below the RTT would mean some link bypassed the proxies.
func TestLocalClusterOverWAN(t *testing.T) {
	bin := buildSettled(t)
	sc, err := ParseScenario([]byte(`{"name":"wan","validators":4,"accounts":50,"slo_p99_ms":10000,
		"schedule":"constant:40@3s","block":{"delay_ms":20},"wan":{"rtt_ms":150},"view_timeout_ms":2000}`))
	if err != nil {
		t.Fatal(err)
	}
	res, err := Run(t.Context(), Options{Scenario: sc, Settled: bin, OutDir: t.TempDir(), NoCalibrate: true, NoCache: true, Logf: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	r := res.Rounds[0]
	if r.Committed == 0 || r.Committed != r.Offered {
		t.Fatalf("over the WAN: offered %d, committed %d", r.Offered, r.Committed)
	}
	if r.Latency.P50Ms < 150 {
		t.Errorf("submit→commit p50 %.1f ms is below the 150 ms RTT: a link bypassed the WAN", r.Latency.P50Ms)
	}
	t.Logf("over 150 ms RTT: p50 %.0f ms, p99 %.0f ms", r.Latency.P50Ms, r.Latency.P99Ms)
}

// TestWANCutAndHeal: a cut link carries nothing, without closing; after Heal
// a new connection carries data again.
func TestWANCutAndHeal(t *testing.T) {
	echo := echoServer(t)
	w, err := StartWAN(WANSpec{}, []string{echo, echo, echo}, "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	roundTrip := func(from, to int, wait time.Duration) error {
		c, err := net.Dial("tcp", w.PeerAddr(from, to))
		if err != nil {
			return err
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(wait))
		if _, err := c.Write([]byte("ping")); err != nil {
			return err
		}
		_, err = io.ReadFull(c, make([]byte, 4))
		return err
	}
	if err := w.Cut(1); err != nil {
		t.Fatal(err)
	}
	for _, pair := range [][2]int{{0, 1}, {1, 2}, {2, 1}} {
		err := roundTrip(pair[0], pair[1], 300*time.Millisecond)
		var ne net.Error
		if !errors.As(err, &ne) || !ne.Timeout() {
			t.Errorf("link %v of a cut validator: %v, want a timeout (silence, not a reset)", pair, err)
		}
	}
	if err := roundTrip(0, 2, 5*time.Second); err != nil {
		t.Errorf("a link between two others stopped working: %v", err)
	}
	if err := w.Heal(1); err != nil {
		t.Fatal(err)
	}
	if err := roundTrip(0, 1, 5*time.Second); err != nil {
		t.Errorf("after Heal: %v", err)
	}
}
