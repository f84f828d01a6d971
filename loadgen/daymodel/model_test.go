package daymodel

import (
	"math"
	"math/rand/v2"
	"reflect"
	"sort"
	"testing"
)

func smallParams(seed uint64) Params { return SmallParams(seed) }

func generate(t *testing.T, p Params) *Day {
	t.Helper()
	d, err := Generate(p)
	if err != nil {
		t.Fatalf("generate: %v", err)
	}
	if err := d.Validate(); err != nil {
		t.Fatalf("generated day: %v", err)
	}
	return d
}

func TestGenerateDeterministic(t *testing.T) {
	a, b := generate(t, smallParams(7)), generate(t, smallParams(7))
	if !reflect.DeepEqual(a, b) {
		t.Fatal("two days of seed 7 differ")
	}
	if c := generate(t, smallParams(8)); reflect.DeepEqual(a.Payments, c.Payments) {
		t.Fatal("seeds 7 and 8 give the same payments")
	}
	// The network has a stream of its own: more payments keep the network.
	more := smallParams(7)
	more.PaymentsPerDay *= 2
	if d := generate(t, more); !reflect.DeepEqual(a.Network, d.Network) {
		t.Fatal("changing the payment count changed the network")
	}
}

// TestDegreeHeavyTailed checks the preferential attachment: Barabási–Albert
// with m links gives P(degree ≥ k) ≈ m²/k², so with m = 2 about 1% of banks
// reach degree 20 (ten times the minimum), where a random graph of the same
// mean degree (4) would have next to none (Poisson: ~1e-8).
func TestDegreeHeavyTailed(t *testing.T) {
	const n, m = 3_000, 2
	_, degree := barabasiAlbert(rand.New(rand.NewPCG(1, 2)), n, m)
	total, hubs := 0, 0
	for _, k := range degree {
		total += k
		if k < m {
			t.Fatalf("a bank has degree %d < m = %d", k, m)
		}
		if k >= 10*m {
			hubs++
		}
	}
	if want := 2 * (m*(m+1)/2 + (n-m-1)*m); total != want {
		t.Fatalf("degree sum %d, want twice the edges, %d", total, want)
	}
	if share := float64(hubs) / n; share < 0.004 || share > 0.03 {
		t.Fatalf("%.4f of banks have degree ≥ %d, want about 0.01 (a power-law tail)", share, 10*m)
	}
	sort.Ints(degree)
	if max, med := degree[n-1], degree[n/2]; max < 20*med {
		t.Fatalf("largest degree %d is not far above the median %d", max, med)
	}
}

// TestDayProperties checks the default-shaped day's statistics against its
// parameters: value lognormal with the stated μ and σ, the urgent share, the
// expected count, the two peaks, and value concentrated on a few banks.
func TestDayProperties(t *testing.T) {
	p := Params{Banks: 50, Blocks: 1_000, PaymentsPerDay: 20_000, Seed: 3, UrgentShare: -1, LinkWeightSigma: -1}
	d := generate(t, p)
	s := Summarize(d)
	n := float64(s.Payments)
	p = d.Params
	if sd := math.Sqrt(float64(p.PaymentsPerDay)); math.Abs(n-float64(p.PaymentsPerDay)) > 5*sd {
		t.Errorf("%d payments, expected %d ± %.0f", s.Payments, p.PaymentsPerDay, 5*sd)
	}
	mu := math.Log(p.ValueMedianMinor)
	if se := p.ValueSigma / math.Sqrt(n); math.Abs(s.LogValueMean-mu) > 5*se {
		t.Errorf("mean of ln(value) %.4f, want μ = %.4f ± %.4f", s.LogValueMean, mu, 5*se)
	}
	if math.Abs(s.LogValueSD-p.ValueSigma) > 0.03 {
		t.Errorf("sd of ln(value) %.4f, want σ = %.2f", s.LogValueSD, p.ValueSigma)
	}
	// A lognormal's mean is e^(σ²/2) times its median.
	if r := s.ValueMeanMinor / s.ValueMedianMinor; r < 0.6*math.Exp(p.ValueSigma*p.ValueSigma/2) {
		t.Errorf("mean/median %.2f, a lognormal of σ %.1f has %.2f", r, p.ValueSigma, math.Exp(p.ValueSigma*p.ValueSigma/2))
	}
	if se := math.Sqrt(p.UrgentShare * (1 - p.UrgentShare) / n); math.Abs(s.UrgentShare-p.UrgentShare) > 5*se {
		t.Errorf("urgent share %.4f, want %.2f ± %.4f", s.UrgentShare, p.UrgentShare, 5*se)
	}
	if s.TopTenthValueShare < 0.3 {
		t.Errorf("the top tenth of banks send %.2f of the value; a scale-free network concentrates it", s.TopTenthValueShare)
	}
	counts := make([]int, 10) // arrivals per tenth of the day
	for _, pay := range d.Payments {
		counts[pay.Block*10/p.Blocks]++
	}
	if counts[2] < 2*counts[0] || counts[7] < 2*counts[0] || counts[7] < 2*counts[4] {
		t.Errorf("arrivals per tenth of the day %v: want peaks in the third and eighth tenths", counts)
	}
}

func TestUniformProfile(t *testing.T) {
	p := smallParams(1)
	p.Profile = ProfileUniform
	for b, lam := range intensity(p.WithDefaults()) {
		if math.Abs(lam-5) > 1e-9 {
			t.Fatalf("block %d expects %g arrivals, want 1000/200 = 5", b, lam)
		}
	}
}

func TestParamsValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(*Params)
	}{
		{"too few banks", func(p *Params) { p.Banks = 2 }},
		{"bad profile", func(p *Params) { p.Profile = "flat" }},
		{"urgent share above 1", func(p *Params) { p.UrgentShare = 1.5 }},
		{"negative sigma", func(p *Params) { p.ValueSigma = -1 }},
		{"median below 1", func(p *Params) { p.ValueMedianMinor = 0.5 }},
	} {
		p := DefaultParams()
		tc.edit(&p)
		if _, err := Generate(p); err == nil {
			t.Errorf("%s: Generate accepted %+v", tc.name, p)
		}
	}
}

func TestPoissonMean(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for _, lam := range []float64{0.3, 5, 75} {
		const draws = 20_000
		total := 0
		for range draws {
			total += poisson(rng, lam)
		}
		if mean, se := float64(total)/draws, math.Sqrt(lam/draws); math.Abs(mean-lam) > 5*se {
			t.Errorf("Poisson(%g): mean %.3f over %d draws", lam, mean, draws)
		}
	}
}
