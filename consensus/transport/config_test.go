package transport

import (
	"errors"
	"testing"
)

func TestConfigValidation(t *testing.T) {
	k0, k1 := testKey(0), testKey(1)
	good := func() Config {
		return Config{
			ChainID:    testChainID,
			Self:       1,
			Key:        k1,
			ListenAddr: "127.0.0.1:0",
			Peers: []Peer{
				{Index: 0, PublicKey: pub(k0)},
				{Index: 1, PublicKey: pub(k1)},
				{Index: 2, PublicKey: pub(testKey(2)), Addr: "127.0.0.1:9"},
			},
		}
	}
	smallOrder := append([]byte{1}, make([]byte, 31)...)
	tests := []struct {
		name   string
		mutate func(c *Config)
		ok     bool
	}{
		{"good", func(c *Config) {}, true},
		{"no chain id", func(c *Config) { c.ChainID = "" }, false},
		{"no key", func(c *Config) { c.Key = nil }, false},
		{"signer without key", func(c *Config) { c.Key = nil; c.Sign = func([]byte) []byte { return nil } }, false},
		{"self entry with other key", func(c *Config) { c.Peers[1].PublicKey = pub(testKey(5)) }, false},
		{"peer with own key", func(c *Config) { c.Peers[0].PublicKey = pub(k1) }, false},
		{"repeated index", func(c *Config) { c.Peers[2].Index = 0 }, false},
		{"weak peer key", func(c *Config) { c.Peers[0].PublicKey = smallOrder }, false},
		{"short peer key", func(c *Config) { c.Peers[0].PublicKey = []byte{1} }, false},
		{"higher peer without addr", func(c *Config) { c.Peers[2].Addr = "" }, false},
		{"lower peers but no listener", func(c *Config) { c.ListenAddr = "" }, false},
		{"frame max too large", func(c *Config) { c.FrameBytesMax = FrameBytesMaxLimit + 1 }, false},
		{"backoff inverted", func(c *Config) { c.DialBackoffMin = 10; c.DialBackoffMax = 5 }, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := good()
			tc.mutate(&cfg)
			tr, err := New(cfg)
			if tc.ok != (err == nil) {
				t.Fatalf("New error = %v, want ok=%v", err, tc.ok)
			}
			if err != nil && !errors.Is(err, ErrConfig) {
				t.Fatalf("error %v does not wrap ErrConfig", err)
			}
			if tr != nil {
				tr.Close()
			}
		})
	}
}
