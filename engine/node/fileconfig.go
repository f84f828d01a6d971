package node

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"settle/engine/ledger"
	"settle/engine/tlsfiles"
)

// FileConfig is the on-disk configuration of one validator (docs/operations.md).
// Relative paths are relative to the config file's directory.
type FileConfig struct {
	NodeID        string `json:"node_id"`
	DataDir       string `json:"data_dir"`
	GenesisFile   string `json:"genesis_file"`
	APIAddr       string `json:"api_addr"`
	AdminToken    string `json:"admin_token,omitempty"`
	BlockTxMax    int    `json:"block_tx_max,omitempty"`
	BlockBytesMax int    `json:"block_bytes_max,omitempty"`
	BlockDelayMs  int    `json:"block_delay_ms,omitempty"`
	MempoolTxMax  int    `json:"mempool_tx_max,omitempty"`
	VerifyWorkers int    `json:"verify_workers,omitempty"`
	// ProofHeightsKept: how many recent heights an account's state can be
	// proven at (docs/api.md, "Proofs").
	ProofHeightsKept int `json:"proof_heights_kept,omitempty"`
	// BenchStateRootOff: benchmarks only (Config.BenchStateRootOff).
	BenchStateRootOff bool `json:"bench_state_root_off,omitempty"`

	// API TLS (docs/operations.md, "TLS"): with a certificate and key (PEM, the
	// key 0600) the API speaks HTTPS only; with a client CA too, every client must
	// present a certificate that CA issued.
	APITLSCertFile     string `json:"api_tls_cert_file,omitempty"`
	APITLSKeyFile      string `json:"api_tls_key_file,omitempty"`
	APITLSClientCAFile string `json:"api_tls_client_ca_file,omitempty"`

	// Cluster is required when the genesis names more than one validator.
	Cluster *ClusterFileConfig `json:"cluster,omitempty"`
}

// LoadFileConfig reads a config file strictly (unknown fields and out-of-range
// values are refused, filecheck.go) and builds the node Config from it. Errors
// are sentences that start with "config PATH:" and name the field.
func LoadFileConfig(path string) (*FileConfig, Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, Config{}, fmt.Errorf("read config: %w", err)
	}
	fc, err := decodeFileConfig(b)
	if err == nil {
		err = fc.check()
	}
	if err != nil {
		return nil, Config{}, fmt.Errorf("config %s: %w", path, err)
	}
	base := filepath.Dir(path)
	fc.DataDir = resolve(base, fc.DataDir)
	fc.GenesisFile = resolve(base, fc.GenesisFile)
	fc.APITLSCertFile = resolve(base, fc.APITLSCertFile)
	fc.APITLSKeyFile = resolve(base, fc.APITLSKeyFile)
	fc.APITLSClientCAFile = resolve(base, fc.APITLSClientCAFile)
	if fc.Cluster != nil {
		fc.Cluster.KeyFile = resolve(base, fc.Cluster.KeyFile)
	}
	g, err := ledger.LoadGenesis(fc.GenesisFile)
	if err == nil {
		err = fc.checkGenesis(g)
	}
	if err != nil {
		return nil, Config{}, fmt.Errorf("config %s: %w", path, err)
	}
	cfg := fc.Apply(DefaultConfig(fc.DataDir, g))
	if err := cfg.Validate(); err != nil {
		return nil, Config{}, fmt.Errorf("config %s: %w", path, err)
	}
	return &fc, cfg, nil
}

// Apply overrides defaults with the file's non-zero settings.
func (fc *FileConfig) Apply(cfg Config) Config {
	if fc.NodeID != "" {
		cfg.NodeID = fc.NodeID
	}
	if fc.BlockTxMax > 0 {
		cfg.BlockTxMax = fc.BlockTxMax
	}
	if fc.BlockBytesMax > 0 {
		cfg.BlockBytesMax = fc.BlockBytesMax
	}
	if fc.BlockDelayMs > 0 {
		cfg.BlockDelayMax = time.Duration(fc.BlockDelayMs) * time.Millisecond
	}
	if fc.MempoolTxMax > 0 {
		cfg.Mempool.TxCountMax = fc.MempoolTxMax
	}
	cfg.VerifyWorkers = fc.VerifyWorkers
	if fc.ProofHeightsKept > 0 {
		cfg.ProofHeightsKept = fc.ProofHeightsKept
	}
	cfg.BenchStateRootOff = fc.BenchStateRootOff
	return cfg
}

// APITLS returns the API's TLS files (none set: plain HTTP).
func (fc *FileConfig) APITLS() tlsfiles.Server {
	return tlsfiles.Server{CertFile: fc.APITLSCertFile, KeyFile: fc.APITLSKeyFile, ClientCAFile: fc.APITLSClientCAFile}
}

func resolve(base, p string) string {
	if p == "" || filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(base, p)
}

// WriteJSON writes v as indented JSON with the given permissions.
func WriteJSON(path string, v any, perm os.FileMode) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(path, append(b, '\n'), perm); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
