package node

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"

	"github.com/oasisprotocol/curve25519-voi/primitives/ed25519"
)

// ClusterFileConfig is the "cluster" section of a validator's config file, needed
// when the genesis names more than one validator. Zero values take the cluster
// package's defaults.
type ClusterFileConfig struct {
	Index      int    `json:"index"`                 // this validator's position in the genesis list
	KeyFile    string `json:"key_file"`              // validator key (0600; never logged)
	ListenAddr string `json:"listen_addr,omitempty"` // replica listen address; default: the genesis address
	// Peers maps validator names to their replica addresses (host:port),
	// overriding the genesis: a validator is its key, and where it is found
	// is configuration (docs/operations.md, "Moving a validator").
	Peers               map[string]string `json:"peers,omitempty"`
	TickMs              int               `json:"tick_ms,omitempty"`
	ViewTimeoutTicks    int               `json:"view_timeout_ticks,omitempty"`
	ViewTimeoutTicksMax int               `json:"view_timeout_ticks_max,omitempty"`
	EmptyBlockDelayMs   int               `json:"empty_block_delay_ms,omitempty"`
	GossipIntervalMs    int               `json:"gossip_interval_ms,omitempty"`
	GossipFrameTxMax    int               `json:"gossip_frame_tx_max,omitempty"`
	GossipBufferTxMax   int               `json:"gossip_buffer_tx_max,omitempty"`
	// ReplicaTLS: replica links run TLS 1.3 bound to the validator keys unless
	// this is false (plaintext, for measured comparisons; all validators must agree).
	ReplicaTLS *bool `json:"replica_tls,omitempty"`
}

// ValidatorKeyFile is the JSON form of a validator key file.
type ValidatorKeyFile struct {
	PublicKey string `json:"public_key"` // hex
	Seed      string `json:"seed"`       // hex Ed25519 seed: the secret
}

// WriteValidatorKey writes a key file with 0600 permissions.
func WriteValidatorKey(path string, key ed25519.PrivateKey) error {
	kf := ValidatorKeyFile{PublicKey: hex.EncodeToString(key.Public().(ed25519.PublicKey)), Seed: hex.EncodeToString(key.Seed())}
	return WriteJSON(path, kf, 0o600)
}

// LoadValidatorKey reads a key file, refusing one that group or others may read.
// Errors never include the key.
func LoadValidatorKey(path string) (ed25519.PrivateKey, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("validator key: %w", err)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("validator key %s has permissions %o: it must be readable by its owner only (chmod 600)", path, fi.Mode().Perm())
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("validator key: %w", err)
	}
	var kf ValidatorKeyFile
	if err := json.Unmarshal(b, &kf); err != nil {
		return nil, fmt.Errorf("validator key %s: not a key file", path)
	}
	seed, err := hex.DecodeString(kf.Seed)
	if err != nil || len(seed) != ed25519.SeedSize {
		return nil, fmt.Errorf("validator key %s: the seed must be %d bytes of hex", path, ed25519.SeedSize)
	}
	return ed25519.NewKeyFromSeed(seed), nil
}
