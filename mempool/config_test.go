package mempool

import (
	"strings"
	"testing"
)

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name   string
		modify func(*Config)
		want   string // substring of the error; "" for valid
	}{
		{"default", func(*Config) {}, ""},
		{"shards not power of two", func(c *Config) { c.Shards = 3 }, "power of two"},
		{"zero shards", func(c *Config) { c.Shards = 0 }, "power of two"},
		{"zero tx count", func(c *Config) { c.TxCountMax = 0 }, "TxCountMax"},
		{"zero bytes", func(c *Config) { c.BytesMax = 0 }, "BytesMax"},
		{"tx bytes above pool", func(c *Config) { c.TxBytesMax = c.BytesMax + 1 }, "TxBytesMax"},
		{"account above pool", func(c *Config) { c.AccountTxMax = c.TxCountMax + 1 }, "AccountTxMax"},
		{"zero base fee", func(c *Config) { c.BaseFee = 0 }, "BaseFee"},
		{"start at full", func(c *Config) { c.EscalationStartPermille = 1000 }, "EscalationStartPermille"},
		{"zero factor", func(c *Config) { c.EscalationFactorMax = 0 }, "EscalationFactorMax"},
		{"fee overflow", func(c *Config) { c.BaseFee = 1 << 40; c.EscalationFactorMax = 1 << 30 }, "overflows"},
		{"zero sweep", func(c *Config) { c.ExpirySweepMax = 0 }, "ExpirySweepMax"},
		{"recent below shards", func(c *Config) { c.RecentSendersMax = 1 }, "RecentSendersMax"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := DefaultConfig()
			tt.modify(&cfg)
			err := cfg.Validate()
			if tt.want == "" {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Validate = %v, want an error mentioning %q", err, tt.want)
			}
			if _, err := New[int](cfg); err == nil {
				t.Fatal("New accepted an invalid config")
			}
		})
	}
}

func TestMinFeeAtCurve(t *testing.T) {
	cfg := testConfig() // base 10, start 50%, factor 100
	tests := []struct {
		fillPpm uint64
		want    uint64
	}{
		{0, 10},
		{500_000, 10},         // start of escalation
		{750_000, 10 + 990/4}, // x = 1/2: base + 990 * 1/4
		{1_000_000, 1000},     // full: base * factor
		{2_000_000, 1000},     // clamped
		{500_001, 10 + 0},     // tiny excess rounds down
		{900_000, 10 + 990*16/25},
	}
	for _, tt := range tests {
		if got := cfg.MinFeeAt(tt.fillPpm); got != tt.want {
			t.Errorf("MinFeeAt(%d) = %d, want %d", tt.fillPpm, got, tt.want)
		}
	}
	for _, start := range []int{0, 1, 500, 999} {
		c := cfg
		c.EscalationStartPermille = start
		prev := uint64(0)
		for f := uint64(0); f <= 1_000_000; f += 997 {
			got := c.MinFeeAt(f)
			if got < prev {
				t.Fatalf("start %d: MinFeeAt(%d) = %d below MinFeeAt of a lower fill (%d)", start, f, got, prev)
			}
			prev = got
		}
		if got := c.MinFeeAt(1_000_000); got != c.BaseFee*c.EscalationFactorMax {
			t.Fatalf("start %d: full pool fee %d", start, got)
		}
	}
	huge := cfg
	huge.BaseFee, huge.EscalationFactorMax = 1<<32, 1<<31
	if got := huge.MinFeeAt(1_000_000); got != 1<<63 {
		t.Fatalf("large fees: %d", got)
	}
}

func TestFeeBump(t *testing.T) {
	cfg := testConfig()
	tests := []struct {
		old, new uint64
		ok       bool
	}{
		{100, 125, true},
		{100, 124, false},
		{0, 0, false},
		{0, 1, true},
		{3, 4, true}, // 4*100 >= 3*125
		{4, 4, false},
		{1 << 63, 1<<63 + 1<<61, true},
		{1 << 63, 1<<63 + 1<<60, false},
	}
	for _, tt := range tests {
		if got := cfg.feeBumpOK(tt.old, tt.new); got != tt.ok {
			t.Errorf("feeBumpOK(%d, %d) = %v, want %v", tt.old, tt.new, got, tt.ok)
		}
	}
}
