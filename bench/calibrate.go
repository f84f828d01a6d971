package bench

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/oasisprotocol/curve25519-voi/primitives/ed25519"

	"settle/engine/sigverify"
)

// Calibration is this machine's raw limits, measured in the same run as the
// figures they judge (docs/performance.md).
type Calibration struct {
	Cores int `json:"cores"` // GOMAXPROCS of the harness

	VerifySinglePerCorePerS  float64 `json:"verify_single_per_core_per_s"`  // sigverify.Verify on one goroutine
	VerifySingleAllCoresPerS float64 `json:"verify_single_all_cores_per_s"` // one goroutine per core
	VerifyBatchPerCorePerS   float64 `json:"verify_batch_per_core_per_s"`   // Verifier.VerifyBatch of 128, one goroutine
	VerifyBatchAllCoresPerS  float64 `json:"verify_batch_all_cores_per_s"`  // sigverify.Pool, 1024 per request, all cores
	BatchSize                int     `json:"batch_size"`

	FsyncDir     string  `json:"fsync_dir"`
	FsyncSamples int     `json:"fsync_samples"`
	FsyncP50Ms   float64 `json:"fsync_p50_ms"`
	FsyncP99Ms   float64 `json:"fsync_p99_ms"`

	PebbleBatchRecords    int     `json:"pebble_batch_records"`      // records per synced batch (a block's worth)
	PebbleSyncedBatchPerS float64 `json:"pebble_synced_batch_per_s"` // Commit(pebble.Sync) per second
	PebbleRecordsPerS     float64 `json:"pebble_records_per_s"`

	TookS float64 `json:"took_s"`
}

// CalibrateOptions size the calibration.
type CalibrateOptions struct {
	Dir      string        // where fsync and Pebble are measured (the data dir's filesystem)
	PerTest  time.Duration // time per measurement; 0: 1 s
	SkipDisk bool          // verification only (tests)
}

const (
	calibBatchSize   = 128
	calibPoolRequest = 1024
	calibRecordCount = 1000 // records per Pebble batch: a 1000-transaction block
	calibRecordBytes = 250  // about a committed transaction record
)

// Calibrate measures signature verification, fsync latency and Pebble's synced
// write rate.
func Calibrate(ctx context.Context, o CalibrateOptions) (*Calibration, error) {
	if o.PerTest <= 0 {
		o.PerTest = time.Second
	}
	t0 := time.Now()
	c := &Calibration{Cores: runtime.GOMAXPROCS(0), BatchSize: calibBatchSize}
	items := signedItems(calibPoolRequest)
	c.VerifySinglePerCorePerS = rateOn(1, o.PerTest, func(i int) int {
		it := items[i%len(items)]
		if !sigverify.Verify(it.Pub, it.Msg, it.Sig) {
			panic("bench: calibration signature rejected") // INVARIANT: signedItems signs correctly
		}
		return 1
	})
	c.VerifySingleAllCoresPerS = rateOn(c.Cores, o.PerTest, func(i int) int {
		it := items[i%len(items)]
		sigverify.Verify(it.Pub, it.Msg, it.Sig)
		return 1
	})
	c.VerifyBatchPerCorePerS = batchRate(items[:calibBatchSize], o.PerTest)
	rate, err := poolRate(ctx, items, o.PerTest)
	if err != nil {
		return nil, err
	}
	c.VerifyBatchAllCoresPerS = rate
	if !o.SkipDisk {
		if err := c.measureDisk(ctx, o); err != nil {
			return nil, err
		}
	}
	c.TookS = time.Since(t0).Seconds()
	return c, nil
}

// signedItems signs n distinct messages with a few fixed keys.
func signedItems(n int) []sigverify.Item {
	items := make([]sigverify.Item, n)
	keys := make([]ed25519.PrivateKey, 16)
	for k := range keys {
		seed := sha256.Sum256([]byte(fmt.Sprintf("settle/bench/calibration/%d", k)))
		keys[k] = ed25519.NewKeyFromSeed(seed[:])
	}
	for i := range items {
		k := keys[i%len(keys)]
		msg := make([]byte, 180) // about a payment's signed bytes
		binary.LittleEndian.PutUint64(msg, uint64(i))
		items[i] = sigverify.Item{Pub: k.Public().(ed25519.PublicKey), Msg: msg, Sig: ed25519.Sign(k, msg)}
	}
	return items
}

// rateOn runs fn on goroutines for d and returns the work units per second.
func rateOn(goroutines int, d time.Duration, fn func(i int) int) float64 {
	var total atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	deadline := start.Add(d)
	for g := range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			n := 0
			for j := 0; ; j++ {
				n += fn(g + j*goroutines)
				if j%32 == 31 && time.Now().After(deadline) {
					break
				}
			}
			total.Add(int64(n))
		}()
	}
	wg.Wait()
	return float64(total.Load()) / time.Since(start).Seconds()
}

func batchRate(items []sigverify.Item, d time.Duration) float64 {
	v := sigverify.NewVerifier(len(items))
	ok := make([]bool, len(items))
	return rateOn(1, d/2, func(int) int {
		if !v.VerifyBatch(items, ok) {
			panic("bench: calibration batch rejected") // INVARIANT: signedItems signs correctly
		}
		return len(items)
	})
}

func poolRate(ctx context.Context, items []sigverify.Item, d time.Duration) (float64, error) {
	p := sigverify.NewPool(0, 0)
	defer p.Close()
	ok := make([]bool, len(items))
	start := time.Now()
	n := 0
	for time.Since(start) < d {
		allOK, err := p.Verify(ctx, items, ok)
		if err != nil {
			return 0, fmt.Errorf("calibration: %w", err)
		}
		if !allOK {
			panic("bench: calibration pool rejected a valid signature") // INVARIANT: as above
		}
		n += len(items)
	}
	return float64(n) / time.Since(start).Seconds(), nil
}

func (c *Calibration) measureDisk(ctx context.Context, o CalibrateOptions) error {
	dir, err := os.MkdirTemp(o.Dir, "calibrate-")
	if err != nil {
		return fmt.Errorf("calibration dir: %w", err)
	}
	defer os.RemoveAll(dir)
	c.FsyncDir = o.Dir
	if c.FsyncDir == "" {
		c.FsyncDir = os.TempDir()
	}
	lat, err := fsyncLatencies(ctx, dir, o.PerTest)
	if err != nil {
		return err
	}
	c.FsyncSamples = len(lat)
	c.FsyncP50Ms, c.FsyncP99Ms = quantile(lat, 0.50), quantile(lat, 0.99)
	c.PebbleBatchRecords = calibRecordCount
	c.PebbleSyncedBatchPerS, err = pebbleRate(ctx, filepath.Join(dir, "pebble"), o.PerTest)
	c.PebbleRecordsPerS = c.PebbleSyncedBatchPerS * calibRecordCount
	return err
}

// fsyncSamplesMax bounds the fsync samples (a RAM disk can do millions a second).
const fsyncSamplesMax = 20_000

// fsyncLatencies writes 4 KiB and fsyncs, to a fresh file each time (a block's
// commit creates and syncs new data), and returns each write+fsync in ms.
func fsyncLatencies(ctx context.Context, dir string, d time.Duration) ([]float64, error) {
	buf := make([]byte, 4096)
	var out []float64
	start := time.Now()
	for i := 0; time.Since(start) < d && len(out) < fsyncSamplesMax && ctx.Err() == nil; i++ {
		path := filepath.Join(dir, fmt.Sprintf("f%d", i%8))
		t := time.Now()
		f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
		if err != nil {
			return nil, fmt.Errorf("fsync calibration: %w", err)
		}
		_, werr := f.Write(buf)
		serr := f.Sync()
		cerr := f.Close()
		if werr != nil || serr != nil || cerr != nil {
			return nil, fmt.Errorf("fsync calibration: %v %v %v", werr, serr, cerr)
		}
		out = append(out, float64(time.Since(t))/1e6)
	}
	return out, ctx.Err()
}

type silentLogger struct{}

func (silentLogger) Infof(string, ...any)  {}
func (silentLogger) Errorf(string, ...any) {}
func (silentLogger) Fatalf(f string, a ...any) {
	panic(fmt.Sprintf("pebble: "+f, a...))
}

// pebbleRate commits synced batches of calibRecordCount records for d and
// returns batches per second.
func pebbleRate(ctx context.Context, dir string, d time.Duration) (float64, error) {
	db, err := pebble.Open(dir, &pebble.Options{Logger: silentLogger{}})
	if err != nil {
		return 0, fmt.Errorf("pebble calibration: %w", err)
	}
	defer db.Close()
	val := make([]byte, calibRecordBytes)
	key := make([]byte, 34)
	start := time.Now()
	n := 0
	for time.Since(start) < d && ctx.Err() == nil {
		b := db.NewBatch()
		for r := range calibRecordCount {
			key[0] = 't'
			binary.BigEndian.PutUint64(key[1:], uint64(n*calibRecordCount+r))
			_ = b.Set(key, val, nil) // INVARIANT: Set on an open batch does not fail
		}
		if err := b.Commit(pebble.Sync); err != nil {
			return 0, fmt.Errorf("pebble calibration: %w", err)
		}
		b.Close()
		n++
	}
	return float64(n) / time.Since(start).Seconds(), ctx.Err()
}

// quantile returns the q-quantile (0..1) of xs (sorted in place), nearest rank.
func quantile(xs []float64, q float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	sort.Float64s(xs)
	i := int(q*float64(len(xs))+0.5) - 1
	i = max(0, min(i, len(xs)-1))
	return xs[i]
}

// Efficiency is committed tx/s over the verification ceiling: the all-core batch
// rate, divided by the validator count when every validator runs on this machine
// (each verifies every signature). docs/performance.md wants ≥ 0.5.
func (c *Calibration) Efficiency(committedPerS float64, localValidators int) float64 {
	if c == nil || c.VerifyBatchAllCoresPerS <= 0 {
		return 0
	}
	return committedPerS / (c.VerifyBatchAllCoresPerS / float64(max(1, localValidators)))
}
