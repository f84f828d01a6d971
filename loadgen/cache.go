package loadgen

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"

	"github.com/cespare/xxhash/v2"

	"settle/engine/txn"
)

// Cache file layout:
//
//	"SETTLELG" | u32 header length | header JSON | body
//
// The body is the set's chunks back to back, each a batch in the wire format
// (docs/api.md). The header names the cache key, the transaction count and an
// xxhash64 of the body; Load checks all three and decodes every transaction.
const (
	cacheMagic     = "SETTLELG"
	cacheVersion   = 1
	cacheHeaderMax = 1 << 20
)

// Cache errors.
var (
	ErrCacheMiss    = errors.New("loadgen: no cached transaction set")
	ErrCacheCorrupt = errors.New("loadgen: cached transaction set is corrupt")
)

// CacheParams is everything that shapes a signed transaction set. Its SHA-256 is the
// cache key, so changing any of them misses the cache.
type CacheParams struct {
	Version   int    `json:"version"`
	ChainID   string `json:"chain_id"`
	Workload  string `json:"workload"` // Workload.Key(): distribution, seed, amounts, fee…
	Count     int    `json:"count"`
	StartSeqs string `json:"start_seqs_sha256"`
}

// NewCacheParams fills CacheParams, hashing the starting sequences.
func NewCacheParams(chainID string, w Workload, count int, startSeqs []uint64) CacheParams {
	h := sha256.New()
	var b [8]byte
	for _, s := range startSeqs {
		binary.BigEndian.PutUint64(b[:], s)
		h.Write(b[:])
	}
	return CacheParams{
		Version:   cacheVersion,
		ChainID:   chainID,
		Workload:  w.Key(),
		Count:     count,
		StartSeqs: hex.EncodeToString(h.Sum(nil)),
	}
}

// Key is the hex SHA-256 of the canonical JSON of p.
func (p CacheParams) Key() string {
	b, err := json.Marshal(p)
	if err != nil {
		panic("loadgen: cache params do not marshal: " + err.Error()) // INVARIANT: plain fields
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

type cacheHeader struct {
	Version    int         `json:"version"`
	Key        string      `json:"key"`
	Count      int         `json:"count"`
	BodyBytes  int64       `json:"body_bytes"`
	BodyXXHash string      `json:"body_xxhash64"`
	Params     CacheParams `json:"params"`
}

// DefaultCacheDir is $XDG_CACHE_HOME/settle-loadgen, or ~/.cache/settle-loadgen.
func DefaultCacheDir() string {
	if d := os.Getenv("XDG_CACHE_HOME"); d != "" {
		return filepath.Join(d, "settle-loadgen")
	}
	if home, err := os.UserHomeDir(); err == nil {
		return filepath.Join(home, ".cache", "settle-loadgen")
	}
	return filepath.Join(os.TempDir(), "settle-loadgen")
}

// CachePath is the file that holds the set with this key.
func CachePath(dir, key string) string { return filepath.Join(dir, key+".lgc") }

// SaveCache writes set atomically (a temporary file renamed into place).
func SaveCache(dir string, p CacheParams, set *TxSet) (path string, err error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("cache dir: %w", err)
	}
	digest := xxhash.New()
	var bodyBytes int64
	for _, c := range set.chunks {
		digest.Write(c.batch)
		bodyBytes += int64(len(c.batch))
	}
	hdr, err := json.Marshal(cacheHeader{
		Version: cacheVersion, Key: p.Key(), Count: set.Len(), BodyBytes: bodyBytes,
		BodyXXHash: strconv.FormatUint(digest.Sum64(), 16), Params: p,
	})
	if err != nil {
		return "", fmt.Errorf("cache header: %w", err)
	}
	path = CachePath(dir, p.Key())
	f, err := os.CreateTemp(dir, ".tmp-*.lgc")
	if err != nil {
		return "", fmt.Errorf("cache file: %w", err)
	}
	defer os.Remove(f.Name()) // no-op after the rename
	pre := binary.BigEndian.AppendUint32([]byte(cacheMagic), uint32(len(hdr)))
	if _, err := f.Write(append(pre, hdr...)); err != nil {
		f.Close()
		return "", fmt.Errorf("cache write: %w", err)
	}
	for _, c := range set.chunks {
		if _, err := f.Write(c.batch); err != nil {
			f.Close()
			return "", fmt.Errorf("cache write: %w", err)
		}
	}
	if err := f.Close(); err != nil {
		return "", fmt.Errorf("cache write: %w", err)
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return "", fmt.Errorf("cache rename: %w", err)
	}
	return path, nil
}

// LoadCache reads the set with p's key from dir. It returns ErrCacheMiss when there
// is none and an error wrapping ErrCacheCorrupt when the file does not match its
// header, the key, the chain or the accounts.
func LoadCache(dir string, p CacheParams, accounts []txn.AccountID) (*TxSet, error) {
	data, err := os.ReadFile(CachePath(dir, p.Key()))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, ErrCacheMiss
	}
	if err != nil {
		return nil, fmt.Errorf("cache read: %w", err)
	}
	hdr, body, err := splitCacheFile(data)
	if err != nil {
		return nil, err
	}
	switch {
	case hdr.Version != cacheVersion || hdr.Key != p.Key() || hdr.Params != p:
		return nil, fmt.Errorf("%w: header key %.12s… does not match %.12s…", ErrCacheCorrupt, hdr.Key, p.Key())
	case hdr.Count != p.Count || hdr.BodyBytes != int64(len(body)):
		return nil, fmt.Errorf("%w: header says %d txs in %d bytes, file has %d body bytes", ErrCacheCorrupt, hdr.Count, hdr.BodyBytes, len(body))
	case hdr.BodyXXHash != strconv.FormatUint(xxhash.Sum64(body), 16):
		return nil, fmt.Errorf("%w: body checksum mismatch", ErrCacheCorrupt)
	}
	set, err := splitCacheBody(body, hdr.Count)
	if err != nil {
		return nil, err
	}
	if err := set.decodeAll(p.ChainID, accounts); err != nil {
		return nil, err
	}
	return set, nil
}

func splitCacheFile(data []byte) (cacheHeader, []byte, error) {
	var hdr cacheHeader
	if len(data) < len(cacheMagic)+4 || string(data[:len(cacheMagic)]) != cacheMagic {
		return hdr, nil, fmt.Errorf("%w: bad magic", ErrCacheCorrupt)
	}
	n := int(binary.BigEndian.Uint32(data[len(cacheMagic):]))
	rest := data[len(cacheMagic)+4:]
	if n > cacheHeaderMax || n > len(rest) {
		return hdr, nil, fmt.Errorf("%w: header length %d", ErrCacheCorrupt, n)
	}
	if err := json.Unmarshal(rest[:n], &hdr); err != nil {
		return hdr, nil, fmt.Errorf("%w: header: %v", ErrCacheCorrupt, err)
	}
	return hdr, rest[n:], nil
}

// splitCacheBody cuts the body into chunks of chunkTxs transactions (the last may
// be shorter), checking the batch framing of each.
func splitCacheBody(body []byte, count int) (*TxSet, error) {
	set := &TxSet{
		chunks:  make([]txChunk, 0, (count+chunkTxs-1)/chunkTxs),
		hashes:  make([]txn.Hash, count),
		senders: make([]uint32, count),
	}
	var raws [][]byte
	for c := 0; len(body) > 0; c++ {
		m := min(chunkTxs, count-c*chunkTxs)
		if m <= 0 || len(body) < txn.BatchHeader {
			return nil, fmt.Errorf("%w: data beyond %d transactions", ErrCacheCorrupt, count)
		}
		if got := int(binary.BigEndian.Uint32(body[len(txn.BatchMagic):])); got != m {
			return nil, fmt.Errorf("%w: chunk %d holds %d transactions, want %d", ErrCacheCorrupt, c, got, m)
		}
		size := txn.BatchHeader
		for range m {
			if len(body) < size+2 {
				return nil, fmt.Errorf("%w: chunk %d truncated", ErrCacheCorrupt, c)
			}
			size += 2 + int(binary.BigEndian.Uint16(body[size:]))
		}
		if size > len(body) {
			return nil, fmt.Errorf("%w: chunk %d truncated", ErrCacheCorrupt, c)
		}
		var err error
		if raws, err = txn.SplitBatch(body[:size], raws[:0]); err != nil {
			return nil, fmt.Errorf("%w: chunk %d: %v", ErrCacheCorrupt, c, err)
		}
		set.chunks = append(set.chunks, txChunk{batch: body[:size:size], off: frameOffsets(body[:size], m)})
		body = body[size:]
	}
	if len(set.chunks) != cap(set.chunks) {
		return nil, fmt.Errorf("%w: %d chunks, want %d", ErrCacheCorrupt, len(set.chunks), cap(set.chunks))
	}
	return set, nil
}

// decodeAll decodes every transaction on all cores, filling hashes and senders and
// checking the chain and that every signer is one of accounts.
func (s *TxSet) decodeAll(chainID string, accounts []txn.AccountID) error {
	index := make(map[txn.AccountID]uint32, len(accounts))
	for i, a := range accounts {
		index[a] = uint32(i)
	}
	workers := runtime.GOMAXPROCS(0)
	errs := make([]error, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var tx txn.Tx
			for i := w; i < s.Len() && errs[w] == nil; i += workers {
				errs[w] = s.decodeOne(&tx, i, chainID, index)
			}
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

func (s *TxSet) decodeOne(tx *txn.Tx, i int, chainID string, index map[txn.AccountID]uint32) error {
	if err := txn.DecodeInto(tx, s.Raw(i)); err != nil {
		return fmt.Errorf("%w: transaction %d: %v", ErrCacheCorrupt, i, err)
	}
	sender, ok := index[tx.Sender]
	if tx.ChainID != chainID || !ok {
		return fmt.Errorf("%w: transaction %d is for another chain or account set", ErrCacheCorrupt, i)
	}
	s.hashes[i] = tx.Hash()
	s.senders[i] = sender
	return nil
}
