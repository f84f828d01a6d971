package node

import (
	"context"
	"runtime"
	"syscall"
	"testing"
	"time"

	"settle/engine/devnet"
	"settle/engine/sigverify"
	"settle/engine/txn"
	"settle/internal/testpay"
)

// BenchmarkPipeline runs the whole per-transaction path of one validator,
// in process: decoding the signed bytes, admission (batch verification,
// mempool), block assembly, execution and the synced Pebble commit, then the
// mempool's commit. It reports the process's CPU time and heap allocations
// per committed payment, and verify-share: the CPU one batch verification of
// a signature costs, calibrated in the same run on one core, over that CPU
// time (docs/performance.md's CPU efficiency, without HTTP).
//
//	go test ./engine/node -run '^$' -bench BenchmarkPipeline -benchtime 200000x -count 3
func BenchmarkPipeline(b *testing.B) {
	const (
		accounts = 10_000
		batchTxs = 1000
	)
	o := devnet.DefaultOptions()
	o.Accounts = accounts
	g := devnet.Genesis(o)
	cfg := DefaultConfig(b.TempDir(), g)
	n, err := New(cfg, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer n.Close()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- n.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			b.Error(err)
		}
	}()
	for !n.Ready() {
		time.Sleep(time.Millisecond)
	}
	raws := make([][]byte, b.N)
	for i := range raws {
		from := i % (accounts / 2)
		raws[i] = testpay.Payment(b, from, from+accounts/2, uint64(1+i/(accounts/2)), 1).Bytes()
	}
	verifyUs := calibrateVerify(b, raws)

	txs := make([]*txn.Tx, 0, batchTxs)
	errs := make([]error, batchTxs)
	var ms0, ms1 runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms0)
	cpu0 := processCPU()
	b.ResetTimer()
	for i := 0; i < b.N; i += batchTxs {
		txs = txs[:0]
		for _, raw := range raws[i:min(i+batchTxs, b.N)] {
			tx, err := txn.Decode(raw)
			if err != nil {
				b.Fatal(err)
			}
			txs = append(txs, tx)
		}
		n.Submit(ctx, txs, errs[:len(txs)])
		for k := range txs {
			if errs[k] != nil {
				b.Fatalf("tx %d: %v", i+k, errs[k])
			}
		}
	}
	for n.Ledger().Meta().TxCount < uint64(b.N) {
		time.Sleep(100 * time.Microsecond)
	}
	b.StopTimer()
	cpuUs := float64((processCPU() - cpu0).Microseconds()) / float64(b.N)
	runtime.ReadMemStats(&ms1)
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "tx/s")
	b.ReportMetric(cpuUs, "cpu-µs/tx")
	b.ReportMetric(float64(ms1.Mallocs-ms0.Mallocs)/float64(b.N), "allocs/tx")
	b.ReportMetric(float64(ms1.TotalAlloc-ms0.TotalAlloc)/float64(b.N), "B/tx")
	b.ReportMetric(verifyUs, "verify-µs/tx")
	b.ReportMetric(100*verifyUs/cpuUs, "verify-share-%")
}

// calibrateVerify is one core's batch-verification cost per signature, over
// the benchmark's own transactions.
func calibrateVerify(b *testing.B, raws [][]byte) float64 {
	const batch = 128 // as bench calibrate
	count := min(len(raws), 8192)
	items := make([]sigverify.Item, 0, count)
	for _, raw := range raws[:count] {
		tx, err := txn.Decode(raw)
		if err != nil {
			b.Fatal(err)
		}
		sg := &tx.Sigs[0]
		items = append(items, sigverify.Item{Pub: sg.PublicKey[:], Msg: tx.SigningMessage(), Sig: sg.Signature[:]})
	}
	ok := make([]bool, batch)
	best := time.Duration(1 << 62)
	for range 3 { // the fastest of three: the machine is shared
		t0 := time.Now()
		for i := 0; i+batch <= len(items); i += batch {
			if !sigverify.VerifyBatch(items[i:i+batch], ok) {
				b.Fatal("calibration batch does not verify")
			}
		}
		best = min(best, time.Since(t0))
	}
	return float64(best.Microseconds()) / float64(len(items)/batch*batch)
}

func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
