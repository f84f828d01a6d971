package loadgen

import (
	"encoding/binary"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"settle/engine/txn"
)

// chunkTxs is the number of transactions signed, stored and cached as one unit. A
// chunk is a complete batch in the wire format (header and frames), so the cache file
// is the chunks back to back.
const chunkTxs = 4096

// TxSet is a run's signed transactions in send order. Raw bytes live in per-chunk
// arenas (no per-transaction allocation); hashes and senders are flat arrays.
type TxSet struct {
	chunks  []txChunk
	hashes  []txn.Hash
	senders []uint32 // account index of each transaction's signer
}

type txChunk struct {
	batch []byte   // a whole batch: txn batch header followed by the frames
	off   []uint32 // off[j] is frame j's start in batch; len(off) = frames+1
}

// Len is the number of transactions.
func (s *TxSet) Len() int { return len(s.hashes) }

// Frame returns transaction i as a batch frame: u16 length then the signed bytes.
func (s *TxSet) Frame(i int) []byte {
	c := &s.chunks[i/chunkTxs]
	j := i % chunkTxs
	return c.batch[c.off[j]:c.off[j+1]]
}

// Raw returns transaction i's signed encoding.
func (s *TxSet) Raw(i int) []byte { return s.Frame(i)[2:] }

// Hash returns transaction i's hash.
func (s *TxSet) Hash(i int) txn.Hash { return s.hashes[i] }

// Sender returns the account index of transaction i's signer.
func (s *TxSet) Sender(i int) int { return int(s.senders[i]) }

// SignProgress reports signing progress: done of total transactions.
type SignProgress func(done, total int, elapsed time.Duration)

type signJob struct {
	chunk   int
	txs     []txn.Tx
	signers []int
	co      [][]int // co[j]: transaction j's co-signers (nil for most; nil slice when the workload has none)
}

// BuildTxSet generates count transactions from w and signs them on all cores.
// Generation is sequential (it is deterministic and cheap); signing is parallel by
// chunk. When w is a CoSigner, each transaction is signed by its signer and by
// every co-signer it names. progress, if not nil, is called about once a second
// and once at the end.
func BuildTxSet(w Workload, keys []txn.Key, count int, progress SignProgress) (*TxSet, error) {
	set := &TxSet{
		chunks:  make([]txChunk, (count+chunkTxs-1)/chunkTxs),
		hashes:  make([]txn.Hash, count),
		senders: make([]uint32, count),
	}
	workers := runtime.GOMAXPROCS(0)
	jobs := make(chan signJob, workers)
	var done atomic.Int64
	var firstErr error
	var errOnce sync.Once
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for job := range jobs {
				if err := set.signChunk(job, keys); err != nil {
					errOnce.Do(func() { firstErr = err })
				}
				done.Add(int64(len(job.txs)))
			}
		}()
	}
	stop := startProgress(progress, &done, count)
	cs, _ := w.(CoSigner)
	for c := range set.chunks {
		m := min(chunkTxs, count-c*chunkTxs)
		job := signJob{chunk: c, txs: make([]txn.Tx, m), signers: make([]int, m)}
		for j := range m {
			job.signers[j] = w.Next(&job.txs[j])
			if cs == nil {
				continue
			}
			if co := cs.CoSigners(); len(co) > 0 {
				if job.co == nil {
					job.co = make([][]int, m)
				}
				// The workload may reuse its slice on the next call: copy it.
				job.co[j] = append([]int(nil), co...)
			}
		}
		jobs <- job
	}
	close(jobs)
	wg.Wait()
	stop()
	if firstErr != nil {
		return nil, firstErr
	}
	return set, nil
}

func (s *TxSet) signChunk(job signJob, keys []txn.Key) error {
	base := job.chunk * chunkTxs
	batch := txn.AppendBatchHeader(make([]byte, 0, txn.BatchHeader+len(job.txs)*256), len(job.txs))
	off := make([]uint32, 0, len(job.txs)+1)
	var signWith []txn.Key
	for j := range job.txs {
		tx := &job.txs[j]
		signer := job.signers[j]
		if signer < 0 || signer >= len(keys) {
			return fmt.Errorf("workload chose signer %d of %d accounts", signer, len(keys))
		}
		signWith = append(signWith[:0], keys[signer])
		if job.co != nil {
			for _, c := range job.co[j] {
				if c < 0 || c >= len(keys) {
					return fmt.Errorf("workload chose co-signer %d of %d accounts for transaction %d", c, len(keys), base+j)
				}
				if c != signer {
					signWith = append(signWith, keys[c])
				}
			}
		}
		if err := txn.Sign(tx, signWith...); err != nil {
			return fmt.Errorf("signing transaction %d: %w", base+j, err)
		}
		off = append(off, uint32(len(batch)))
		batch = txn.AppendBatchTx(batch, tx.Bytes())
		s.hashes[base+j] = tx.Hash()
		s.senders[base+j] = uint32(signer)
	}
	off = append(off, uint32(len(batch)))
	s.chunks[job.chunk] = txChunk{batch: batch, off: off}
	return nil
}

// frameOffsets indexes the frames of a batch whose framing is already checked.
func frameOffsets(batch []byte, count int) []uint32 {
	off := make([]uint32, 0, count+1)
	p := txn.BatchHeader
	for range count {
		off = append(off, uint32(p))
		p += 2 + int(binary.BigEndian.Uint16(batch[p:]))
	}
	return append(off, uint32(p))
}

// startProgress calls progress once a second until the returned stop is called,
// which makes a final call.
func startProgress(progress SignProgress, done *atomic.Int64, total int) (stop func()) {
	if progress == nil {
		return func() {}
	}
	start := time.Now()
	quit := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-quit:
				return
			case <-t.C:
				progress(int(done.Load()), total, time.Since(start))
			}
		}
	}()
	return func() {
		close(quit)
		wg.Wait()
		progress(int(done.Load()), total, time.Since(start))
	}
}
