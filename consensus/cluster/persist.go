package cluster

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/cockroachdb/pebble/v2"

	"settle/consensus/hotstuff"
)

// Pebble layout, every key under "c/":
//
//	c/safety                      hotstuff.EncodeSafetyState
//	c/b/<block hash>              hotstuff.EncodeBlock, kept to serve block sync
//	c/s/<block hash>              the same without its payload, once the block
//	                              is executed: the ledger's block at that height
//	                              holds the transactions (Config.Payloads), and
//	                              loading rebuilds the block and checks its hash
//	c/u/<height u64><block hash>  empty: a stored block above the executed height,
//	                              reloaded into the core on restart
//	c/h/<height u64>              the hash of the block committed at that height,
//	                              to serve range sync (written without sync: a
//	                              later synced write, or re-committing the block
//	                              after a restart, makes it durable)
var (
	keySafety    = []byte("c/safety")
	prefixBlock  = []byte("c/b/")
	prefixSlim   = []byte("c/s/")
	prefixUp     = []byte("c/u/")
	prefixHeight = []byte("c/h/")
)

func heightKey(height uint64) []byte {
	return binary.BigEndian.AppendUint64(append([]byte(nil), prefixHeight...), height)
}

func blockKey(h hotstuff.Hash) []byte { return append(append([]byte(nil), prefixBlock...), h[:]...) }

func slimKey(h hotstuff.Hash) []byte { return append(append([]byte(nil), prefixSlim...), h[:]...) }

func upKey(height uint64, h hotstuff.Hash) []byte {
	k := binary.BigEndian.AppendUint64(append([]byte(nil), prefixUp...), height)
	return append(k, h[:]...)
}

// store is the driver's view of Pebble. It is also the core's BlockReader.
type store struct {
	db       *pebble.DB
	payloads PayloadStore // nil: blocks are kept whole
}

var _ hotstuff.BlockReader = store{}

func (s store) get(key []byte) ([]byte, bool, error) {
	v, closer, err := s.db.Get(key)
	if errors.Is(err, pebble.ErrNotFound) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	out := append([]byte(nil), v...)
	closer.Close()
	return out, true, nil
}

// Block implements hotstuff.BlockReader (sync requests for pruned blocks).
func (s store) Block(h hotstuff.Hash) (*hotstuff.Block, bool) {
	b, err := s.loadBlock(h)
	return b, err == nil && b != nil
}

// BlockAt implements hotstuff.BlockReader (range sync of committed blocks).
func (s store) BlockAt(height uint64) (*hotstuff.Block, bool) {
	v, ok, err := s.get(heightKey(height))
	if err != nil || !ok || len(v) != len(hotstuff.Hash{}) {
		return nil, false
	}
	return s.Block(hotstuff.Hash(v))
}

// indexCommitted records the heights of committed blocks (no sync; see c/h/).
func (s store) indexCommitted(blocks []*hotstuff.Block) error {
	b := s.db.NewBatch()
	defer b.Close()
	for _, blk := range blocks {
		h := blk.Hash()
		if err := b.Set(heightKey(blk.Height), h[:], nil); err != nil {
			return err
		}
	}
	if err := b.Commit(pebble.NoSync); err != nil {
		return fmt.Errorf("cluster store: index committed blocks: %w", err)
	}
	return nil
}

func (s store) loadBlock(h hotstuff.Hash) (*hotstuff.Block, error) {
	v, ok, err := s.get(blockKey(h))
	if err != nil {
		return nil, err
	}
	if ok {
		return hotstuff.DecodeBlock(v)
	}
	if s.payloads == nil {
		return nil, nil
	}
	if v, ok, err = s.get(slimKey(h)); err != nil || !ok {
		return nil, err
	}
	b, err := hotstuff.DecodeBlock(v)
	if err != nil {
		return nil, err
	}
	if b.Payload, err = s.payloads.BlockPayload(b.Height); err != nil {
		return nil, fmt.Errorf("cluster store: payload of block %d: %w", b.Height, err)
	}
	// INVARIANT: a rebuilt block is the block that was certified.
	if got := b.Hash(); got != h {
		return nil, fmt.Errorf("cluster store: block %d rebuilt from the ledger hashes to %x, not %x", b.Height, got[:8], h[:8])
	}
	return b, nil
}

// slim replaces executed blocks by their payload-less form (see c/s/), in one
// unsynced batch: the ledger already holds their transactions durably, and a
// crash before this batch is durable only leaves the whole blocks in place.
// Pebble drops the whole block from the flush when the replacement meets it
// in the memtable, so its bytes reach the WAL once more but no table.
func (s store) slim(blocks []*hotstuff.Block) error {
	if s.payloads == nil || len(blocks) == 0 {
		return nil
	}
	b := s.db.NewBatch()
	defer b.Close()
	for _, blk := range blocks {
		h := blk.Hash()
		bare := *blk
		bare.Payload = nil
		if err := b.Set(slimKey(h), hotstuff.EncodeBlock(&bare), nil); err != nil {
			return err
		}
		if err := b.Delete(blockKey(h), nil); err != nil {
			return err
		}
	}
	if err := b.Commit(pebble.NoSync); err != nil {
		return fmt.Errorf("cluster store: slim executed blocks: %w", err)
	}
	return nil
}

func (s store) loadSafety() (*hotstuff.SafetyState, error) {
	v, ok, err := s.get(keySafety)
	if err != nil || !ok {
		return nil, err
	}
	return hotstuff.DecodeSafetyState(v)
}

// loadUp returns the stored blocks above the executed height.
func (s store) loadUp() ([]*hotstuff.Block, error) {
	upper := append(append([]byte(nil), prefixUp...), 0xff)
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: prefixUp, UpperBound: upper})
	if err != nil {
		return nil, err
	}
	defer it.Close()
	var out []*hotstuff.Block
	for it.First(); it.Valid(); it.Next() {
		k := it.Key()
		if len(k) != len(prefixUp)+8+32 {
			return nil, fmt.Errorf("cluster store: malformed key %x", k)
		}
		b, err := s.loadBlock(hotstuff.Hash(k[len(prefixUp)+8:]))
		if err != nil {
			return nil, err
		}
		if b != nil {
			out = append(out, b)
		}
	}
	return out, it.Error()
}

// persist writes the safety state and blocks of one Ready, plus the deletion of
// index entries at or below executedHeight, in one batch; synced when it holds
// safety state or blocks. INVARIANT: it returns only once they are durable.
func (s store) persist(safety *hotstuff.SafetyState, blocks []*hotstuff.Block, pruneBelow uint64) error {
	if safety == nil && len(blocks) == 0 && pruneBelow == 0 {
		return nil
	}
	b := s.db.NewBatch()
	defer b.Close()
	if safety != nil {
		if err := b.Set(keySafety, hotstuff.EncodeSafetyState(safety), nil); err != nil {
			return err
		}
	}
	for _, blk := range blocks {
		h := blk.Hash()
		if err := b.Set(blockKey(h), hotstuff.EncodeBlock(blk), nil); err != nil {
			return err
		}
		if err := b.Set(upKey(blk.Height, h), nil, nil); err != nil {
			return err
		}
	}
	if pruneBelow > 0 {
		end := binary.BigEndian.AppendUint64(append([]byte(nil), prefixUp...), pruneBelow)
		if err := b.DeleteRange(prefixUp, end, nil); err != nil {
			return err
		}
	}
	opts := pebble.NoSync
	if safety != nil || len(blocks) > 0 {
		opts = pebble.Sync
	}
	if err := b.Commit(opts); err != nil {
		return fmt.Errorf("cluster store: commit: %w", err)
	}
	return nil
}

// writeMarker records, next to the config, that this validator has persisted a
// safety state (see the wiped-disk rule in docs/consensus.md).
func writeMarker(path string) error {
	if _, err := os.Stat(path); err == nil {
		return nil
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("write marker %s: %w", path, err)
	}
	if _, err := f.WriteString("this validator has voted; see docs/consensus.md, wiped-disk rule\n"); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	d, err := os.Open(filepath.Dir(path))
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
