package bench

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"

	toxiproxy "github.com/Shopify/toxiproxy/v2"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
)

// WANSpec is the network a scenario puts between its local validators: every
// validator-to-validator link runs through a Toxiproxy proxy that adds half the
// pair's round-trip time in each direction (with jitter) and caps the link's
// bandwidth in each direction. The load generator's links to the validators'
// APIs are not shaped: a client talks to its own bank's validator.
type WANSpec struct {
	// RTTMs is every pair's round-trip time; RTTMatrixMs, when given, is a
	// symmetric n × n matrix (zero diagonal) that replaces it per pair.
	RTTMs       float64     `json:"rtt_ms,omitempty"`
	RTTMatrixMs [][]float64 `json:"rtt_matrix_ms,omitempty"`
	// JitterMs is added to or taken from each direction's delay, uniformly per
	// chunk of data (Toxiproxy's latency jitter).
	JitterMs float64 `json:"jitter_ms,omitempty"`
	// BandwidthMbit caps each link in each direction (megabits per second, 10^6);
	// 0 leaves it unlimited.
	BandwidthMbit float64 `json:"bandwidth_mbit,omitempty"`
}

// Limits on WAN values; beyond them a scenario is almost certainly a typo.
const (
	wanRTTMsMax         = 2000
	wanBandwidthMbitMin = 0.1
	wanBandwidthMbitMax = 100_000
)

func (w *WANSpec) validate(validators int) error {
	switch {
	case w.RTTMs < 0 || w.RTTMs > wanRTTMsMax:
		return fmt.Errorf("wan.rtt_ms must be 0 to %d, got %g", wanRTTMsMax, w.RTTMs)
	case w.JitterMs < 0:
		return fmt.Errorf("wan.jitter_ms must not be negative, got %g", w.JitterMs)
	case w.BandwidthMbit != 0 && (w.BandwidthMbit < wanBandwidthMbitMin || w.BandwidthMbit > wanBandwidthMbitMax):
		return fmt.Errorf("wan.bandwidth_mbit must be 0 (unlimited) or %g to %d, got %g", wanBandwidthMbitMin, wanBandwidthMbitMax, w.BandwidthMbit)
	case validators < 2:
		return errors.New("a wan section needs at least two validators")
	}
	if w.RTTMatrixMs == nil {
		if 2*w.JitterMs > w.RTTMs {
			return fmt.Errorf("wan.jitter_ms (%g) must not exceed half of rtt_ms (%g), or delays would go negative", w.JitterMs, w.RTTMs)
		}
		return nil
	}
	if len(w.RTTMatrixMs) != validators {
		return fmt.Errorf("wan.rtt_matrix_ms has %d rows for %d validators", len(w.RTTMatrixMs), validators)
	}
	for i, row := range w.RTTMatrixMs {
		if len(row) != validators {
			return fmt.Errorf("wan.rtt_matrix_ms row %d has %d entries for %d validators", i, len(row), validators)
		}
		for j, v := range row {
			switch {
			case i == j && v != 0:
				return fmt.Errorf("wan.rtt_matrix_ms[%d][%d] is a validator's link to itself and must be 0, got %g", i, j, v)
			case v < 0 || v > wanRTTMsMax:
				return fmt.Errorf("wan.rtt_matrix_ms[%d][%d] must be 0 to %d, got %g", i, j, wanRTTMsMax, v)
			case v != w.RTTMatrixMs[j][i]:
				return fmt.Errorf("wan.rtt_matrix_ms is not symmetric: [%d][%d] = %g but [%d][%d] = %g", i, j, v, j, i, w.RTTMatrixMs[j][i])
			case i != j && 2*w.JitterMs > v:
				return fmt.Errorf("wan.jitter_ms (%g) must not exceed half of the smallest round-trip time (%g between %d and %d)", w.JitterMs, v, i, j)
			}
		}
	}
	return nil
}

// RTT is the round-trip time between validators i and j, in milliseconds.
func (w *WANSpec) RTT(i, j int) float64 {
	if i == j {
		return 0
	}
	if w.RTTMatrixMs != nil {
		return w.RTTMatrixMs[i][j]
	}
	return w.RTTMs
}

// Describe is the WAN in words, for reports.
func (w *WANSpec) Describe() string {
	if w == nil {
		return "loopback, unshaped"
	}
	var parts []string
	if w.RTTMatrixMs != nil {
		lo, hi := math.Inf(1), 0.0
		for i := range w.RTTMatrixMs {
			for j := range w.RTTMatrixMs[i] {
				if i != j {
					lo, hi = math.Min(lo, w.RTTMatrixMs[i][j]), math.Max(hi, w.RTTMatrixMs[i][j])
				}
			}
		}
		parts = append(parts, fmt.Sprintf("RTT matrix %g–%g ms", lo, hi))
	} else {
		parts = append(parts, fmt.Sprintf("RTT %g ms", w.RTTMs))
	}
	if w.JitterMs > 0 {
		parts = append(parts, fmt.Sprintf("jitter ±%g ms", w.JitterMs))
	}
	if w.BandwidthMbit > 0 {
		parts = append(parts, fmt.Sprintf("%g Mbit/s per link and direction", w.BandwidthMbit))
	} else {
		parts = append(parts, "bandwidth unlimited")
	}
	return strings.Join(parts, ", ") + " (Toxiproxy on every validator link)"
}

// WAN is a running set of Toxiproxy proxies, one per ordered pair of
// validators: validator i reaches validator j through proxy (i, j). A pair shares
// one TCP connection, dialled by the lower index (or dialled back by the higher
// one), so the proxy of whichever end dials shapes both directions of the pair's
// traffic, and a validator that dials back is shaped the same way.
type WAN struct {
	Spec    WANSpec
	proxies [][]*toxiproxy.Proxy // [from][to]; nil on the diagonal
}

// StartWAN starts the proxies for validators whose replica addresses are addrs
// (host:port, index order). listenHost is where the proxies listen: an address
// every validator can reach ("127.0.0.1" on one host).
//
// The proxies listen on ports the system picks, which may be ports a
// validator was configured with but has not bound yet: reserved lists those
// (host:port), and a proxy that lands on one moves.
func StartWAN(spec WANSpec, addrs []string, listenHost string, reserved ...string) (w *WAN, err error) {
	if err := spec.validate(len(addrs)); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrScenario, err)
	}
	// Toxiproxy logs every connection and toxic through zerolog; its proxies'
	// failures surface as the validators' own connection errors, so keep it quiet.
	server := toxiproxy.NewServer(toxiproxy.NewMetricsContainer(prometheus.NewRegistry()), zerolog.Nop())
	w = &WAN{Spec: spec, proxies: make([][]*toxiproxy.Proxy, len(addrs))}
	defer func() {
		if err != nil {
			w.Close()
		}
	}()
	for i := range addrs {
		w.proxies[i] = make([]*toxiproxy.Proxy, len(addrs))
		for j, to := range addrs {
			if i == j {
				continue
			}
			p, err := startProxy(server, fmt.Sprintf("v%d-v%d", i, j), listenHost, to, append(reserved, addrs...))
			if err != nil {
				return w, fmt.Errorf("start the proxy from validator %d to %d: %w", i, j, err)
			}
			w.proxies[i][j] = p
			if err := addToxics(p, spec, spec.RTT(i, j)); err != nil {
				return w, fmt.Errorf("shape the link from validator %d to %d: %w", i, j, err)
			}
		}
	}
	return w, nil
}

// startProxy starts a proxy on a free port of host that is none of reserved.
func startProxy(server *toxiproxy.ApiServer, name, host, upstream string, reserved []string) (*toxiproxy.Proxy, error) {
	const attempts = 20
	for range attempts {
		p := toxiproxy.NewProxy(server, name, host+":0", upstream)
		if err := p.Start(); err != nil {
			return nil, err
		}
		if !slices.Contains(reserved, p.Listen) {
			return p, nil
		}
		p.Stop()
	}
	return nil, fmt.Errorf("no free port on %s outside the validators' own after %d attempts", host, attempts)
}

// addToxics puts half the round trip in each direction, then the bandwidth cap.
// Toxiproxy's latency toxic delays each chunk to its arrival time plus the delay,
// so back-to-back chunks keep their spacing (it is a propagation delay, not a
// per-chunk one), and its bandwidth toxic paces chunks at Rate kB/s.
func addToxics(p *toxiproxy.Proxy, spec WANSpec, rttMs float64) error {
	for _, stream := range []string{"upstream", "downstream"} {
		if rttMs > 0 {
			if err := addToxic(p, stream+"-latency", "latency", stream, map[string]int64{
				"latency": int64(math.Round(rttMs / 2)), "jitter": int64(math.Round(spec.JitterMs))}); err != nil {
				return err
			}
		}
		if spec.BandwidthMbit > 0 {
			rateKBps := int64(math.Round(spec.BandwidthMbit * 1e6 / 8 / 1000))
			if err := addToxic(p, stream+"-bandwidth", "bandwidth", stream, map[string]int64{"rate": rateKBps}); err != nil {
				return err
			}
		}
	}
	return nil
}

func addToxic(p *toxiproxy.Proxy, name, kind, stream string, attrs map[string]int64) error {
	b, err := json.Marshal(map[string]any{"name": name, "type": kind, "stream": stream, "toxicity": 1.0, "attributes": attrs})
	if err != nil {
		return err
	}
	_, err = p.Toxics.AddToxicJson(strings.NewReader(string(b)))
	return err
}

// ShapeLinks starts a WAN for the validators whose configs are given (index
// order, one network) and points every validator's "cluster.peers" at its
// proxies. The caller closes the WAN after the validators.
func ShapeLinks(spec WANSpec, configs []string, listenHost string) (*WAN, error) {
	vals, err := readGenesisValidators(configs[0])
	if err != nil {
		return nil, err
	}
	if len(vals) != len(configs) {
		return nil, fmt.Errorf("the genesis names %d validators for %d configs", len(vals), len(configs))
	}
	addrs := make([]string, len(vals))
	var reserved []string
	for i, v := range vals {
		addrs[i] = v.Address
		reserved = append(reserved, v.APIAddress)
	}
	for _, cfg := range configs {
		if a, err := configAPIAddr(cfg); err == nil {
			reserved = append(reserved, a)
		}
	}
	w, err := StartWAN(spec, addrs, listenHost, reserved...)
	if err != nil {
		return nil, err
	}
	for i, cfg := range configs {
		if err := setPeers(cfg, i, vals, func(from, to int, _ string) string { return w.PeerAddr(from, to) }); err != nil {
			w.Close()
			return nil, err
		}
	}
	return w, nil
}

// Cut silences every link of validator i, both ways, as a host that lost power
// or its network would: the connections stay open (no reset reaches anyone), and
// every byte sent on them is dropped until Heal. Its peers can only find out
// from their own timeouts.
func (w *WAN) Cut(i int) error {
	for _, p := range w.linksOf(i) {
		for _, stream := range []string{"upstream", "downstream"} {
			if err := addToxic(p, stream+"-cut", "timeout", stream, map[string]int64{"timeout": 0}); err != nil {
				return fmt.Errorf("cut %s: %w", p.Name, err)
			}
		}
	}
	return nil
}

// Heal undoes Cut: what is sent from now on arrives (what was dropped is gone).
func (w *WAN) Heal(i int) error {
	var errs []error
	for _, p := range w.linksOf(i) {
		for _, stream := range []string{"upstream", "downstream"} {
			if err := p.Toxics.RemoveToxic(context.Background(), stream+"-cut"); err != nil {
				errs = append(errs, fmt.Errorf("heal %s: %w", p.Name, err))
			}
		}
	}
	return errors.Join(errs...)
}

// linksOf is every proxy that carries validator i's traffic.
func (w *WAN) linksOf(i int) []*toxiproxy.Proxy {
	var out []*toxiproxy.Proxy
	for j := range w.proxies {
		if j != i {
			out = append(out, w.proxies[i][j], w.proxies[j][i])
		}
	}
	return out
}

// PeerAddr is the address validator from uses to reach validator to.
func (w *WAN) PeerAddr(from, to int) string { return w.proxies[from][to].Listen }

// Close stops every proxy, cutting the links they carry.
func (w *WAN) Close() {
	if w == nil {
		return
	}
	for _, row := range w.proxies {
		for _, p := range row {
			if p != nil {
				p.Stop()
			}
		}
	}
}

// genesisValidator is what the WAN needs of a genesis validator entry.
type genesisValidator struct {
	Name       string `json:"name"`
	Address    string `json:"address"`
	APIAddress string `json:"api_address"`
}

// readGenesisValidators reads the validators of the genesis a validator config
// names (relative to the config's directory).
func readGenesisValidators(cfgPath string) ([]genesisValidator, error) {
	raw, err := os.ReadFile(cfgPath)
	if err != nil {
		return nil, fmt.Errorf("read validator config: %w", err)
	}
	var fc struct {
		GenesisFile string `json:"genesis_file"`
	}
	if err := json.Unmarshal(raw, &fc); err != nil || fc.GenesisFile == "" {
		return nil, fmt.Errorf("validator config %s names no genesis_file", cfgPath)
	}
	gp := fc.GenesisFile
	if !filepath.IsAbs(gp) {
		gp = filepath.Join(filepath.Dir(cfgPath), gp)
	}
	graw, err := os.ReadFile(gp)
	if err != nil {
		return nil, fmt.Errorf("read genesis: %w", err)
	}
	var g struct {
		Validators []genesisValidator `json:"validators"`
	}
	if err := json.Unmarshal(graw, &g); err != nil {
		return nil, fmt.Errorf("parse genesis %s: %w", gp, err)
	}
	return g.Validators, nil
}

// setPeers writes validator from's "cluster.peers": the address it reaches
// each other validator at, as peerAddr says.
func setPeers(cfgPath string, from int, vals []genesisValidator, peerAddr func(from, to int, addr string) string) error {
	peers := map[string]any{}
	for to, v := range vals {
		if to != from {
			peers[v.Name] = peerAddr(from, to, v.Address)
		}
	}
	return editConfig(cfgPath, func(m map[string]any) error {
		cl, ok := m["cluster"].(map[string]any)
		if !ok {
			return fmt.Errorf("validator config %s has no cluster section to put peers in", cfgPath)
		}
		cl["peers"] = peers
		return nil
	})
}

// editConfig rewrites a validator config file through edit, keeping every field
// edit leaves alone.
func editConfig(path string, edit func(m map[string]any) error) error {
	raw, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("read validator config: %w", err)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		return fmt.Errorf("parse validator config %s: %w", path, err)
	}
	if err := edit(m); err != nil {
		return err
	}
	out, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(out, '\n'), 0o600)
}
