package bench

import (
	"bytes"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path"
	"sort"
	"strings"
)

//go:embed models/*.json
var builtinSiteSets embed.FS

// SiteSet is a set of sites (data centres, cities) and the round-trip times
// between them, read from bench/models/*.json or any file. `bench model
// -sites` spreads validators over the sites round-robin: validator i sits at
// site i mod len(Sites).
type SiteSet struct {
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	// Method says where RTTMs came from: measured, or how it was estimated.
	Method string `json:"method"`
	// The estimate's parameters, when RTTMs is an estimate from the
	// coordinates (EstimateRTTMs); zero for measured matrices.
	PathStretch  float64 `json:"path_stretch,omitempty"`
	FibreKmPerMs float64 `json:"fibre_km_per_ms,omitempty"`
	FixedMs      float64 `json:"fixed_ms,omitempty"`
	// SameSiteRTTMs is the round trip between two validators at one site.
	SameSiteRTTMs float64     `json:"same_site_rtt_ms"`
	Sites         []Site      `json:"sites"`
	RTTMs         [][]float64 `json:"rtt_ms"` // [i][j] between Sites[i] and Sites[j]
}

// Site is one location.
type Site struct {
	Name string  `json:"name"`
	Lat  float64 `json:"lat"` // degrees north
	Lon  float64 `json:"lon"` // degrees east
}

// siteRTTMsMax bounds a round trip: beyond it a site file is a typo.
const siteRTTMsMax = 2000

// BuiltinSiteSets names the embedded site sets.
func BuiltinSiteSets() []string {
	entries, _ := builtinSiteSets.ReadDir("models")
	var names []string
	for _, e := range entries {
		names = append(names, strings.TrimSuffix(e.Name(), ".json"))
	}
	sort.Strings(names)
	return names
}

// LoadSiteSet reads a built-in site set by name, or a file.
func LoadSiteSet(nameOrPath string) (*SiteSet, error) {
	b, err := builtinSiteSets.ReadFile(path.Join("models", nameOrPath+".json"))
	if err != nil {
		if b, err = os.ReadFile(nameOrPath); err != nil {
			return nil, fmt.Errorf("site set %q is neither built in (%s) nor a readable file: %w",
				nameOrPath, strings.Join(BuiltinSiteSets(), ", "), err)
		}
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var s SiteSet
	if err := dec.Decode(&s); err != nil {
		return nil, fmt.Errorf("site set %s: %w", nameOrPath, err)
	}
	if err := s.Validate(); err != nil {
		return nil, fmt.Errorf("site set %s: %w", nameOrPath, err)
	}
	return &s, nil
}

// Validate checks the matrix: one row and column per site, symmetric, zero
// diagonal, plausible values.
func (s *SiteSet) Validate() error {
	k := len(s.Sites)
	switch {
	case k < 1:
		return errors.New("it lists no sites")
	case strings.TrimSpace(s.Method) == "":
		return errors.New(`it must say in "method" where its round-trip times come from`)
	case len(s.RTTMs) != k:
		return fmt.Errorf("rtt_ms has %d rows for %d sites", len(s.RTTMs), k)
	case s.SameSiteRTTMs < 0 || s.SameSiteRTTMs > siteRTTMsMax:
		return fmt.Errorf("same_site_rtt_ms must be 0 to %d, got %g", siteRTTMsMax, s.SameSiteRTTMs)
	}
	for i, row := range s.RTTMs {
		if len(row) != k {
			return fmt.Errorf("rtt_ms row %d (%s) has %d entries for %d sites", i, s.Sites[i].Name, len(row), k)
		}
		for j, v := range row {
			switch {
			case i == j && v != 0:
				return fmt.Errorf("rtt_ms[%d][%d] is %s to itself and must be 0, got %g", i, j, s.Sites[i].Name, v)
			case v < 0 || v > siteRTTMsMax || math.IsNaN(v):
				return fmt.Errorf("rtt_ms[%d][%d] must be 0 to %d ms, got %g", i, j, siteRTTMsMax, v)
			case v != s.RTTMs[j][i]:
				return fmt.Errorf("rtt_ms is not symmetric: %s→%s is %g but %s→%s is %g",
					s.Sites[i].Name, s.Sites[j].Name, v, s.Sites[j].Name, s.Sites[i].Name, s.RTTMs[j][i])
			}
		}
	}
	return nil
}

// earthRadiusKm is the mean Earth radius.
const earthRadiusKm = 6371.0

// GreatCircleKm is the haversine distance between two sites.
func GreatCircleKm(a, b Site) float64 {
	rad := math.Pi / 180
	dLat, dLon := (b.Lat-a.Lat)*rad, (b.Lon-a.Lon)*rad
	h := math.Sin(dLat/2)*math.Sin(dLat/2) + math.Cos(a.Lat*rad)*math.Cos(b.Lat*rad)*math.Sin(dLon/2)*math.Sin(dLon/2)
	return 2 * earthRadiusKm * math.Asin(math.Sqrt(h))
}

// EstimateRTTMs is a round trip estimated from distance: there and back
// along a path stretch times the great circle, at fibreKmPerMs (light in
// glass travels at about 2/3 c, 200 km/ms), plus a fixed cost for routing and
// equipment. An estimate: it knows nothing of where cables actually run.
func EstimateRTTMs(a, b Site, stretch, fibreKmPerMs, fixedMs float64) float64 {
	return 2*GreatCircleKm(a, b)*stretch/fibreKmPerMs + fixedMs
}

// ValidatorRTTMs is the n × n round-trip matrix of n validators spread over
// the sites round-robin, every pair scaled by scale.
func (s *SiteSet) ValidatorRTTMs(n int, scale float64) [][]float64 {
	m := make([][]float64, n)
	for i := range m {
		m[i] = make([]float64, n)
		for j := range m[i] {
			si, sj := i%len(s.Sites), j%len(s.Sites)
			switch {
			case i == j:
			case si == sj:
				m[i][j] = s.SameSiteRTTMs * scale
			default:
				m[i][j] = s.RTTMs[si][sj] * scale
			}
		}
	}
	return m
}
