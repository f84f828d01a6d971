package ledger

import (
	"fmt"
	"os"
)

// LoadGenesis reads and validates a genesis file. It is the package's one I/O
// edge (see TestLedgerIsPure).
func LoadGenesis(path string) (*Genesis, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read genesis: %w", err)
	}
	return ParseGenesis(b, path)
}
