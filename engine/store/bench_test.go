package store

import (
	"syscall"
	"testing"
	"time"

	"settle/engine/codes"
	"settle/engine/devnet"
	"settle/engine/txn"
)

const (
	benchAccounts = 10_000
	benchBlockTxs = 2000
)

// BenchmarkCommitBlock measures CommitBlock: one synced Pebble batch holding a
// 2000-transaction block (block record, tx records, history, accounts, totals).
// Signing and executing each block happen with the timer stopped.
//
//	go test ./engine/store -run '^$' -bench BenchmarkCommitBlock -benchtime 150x -count 4
func BenchmarkCommitBlock(b *testing.B) {
	benchCommit(b, Options{CacheBytes: 8 << 20, MemTableBytes: 4 << 20})
}

// BenchmarkPebbleOptions runs the same workload under each Pebble setting that
// docs/storage.md chose by measurement, long enough for flushes and compactions
// to weigh in (the blocks are signed once and shared by the variants):
//
//	go test ./engine/store -run '^$' -bench BenchmarkPebbleOptions -benchtime 500x -count 2
func BenchmarkPebbleOptions(b *testing.B) {
	for _, v := range []struct {
		name string
		o    Options
	}{
		{"defaults", Options{}},
		{"memtable-32MiB", Options{MemTableBytes: 32 << 20}},
		{"memtable-128MiB", Options{MemTableBytes: 128 << 20}},
		{"l0-compact-8", Options{L0CompactionFiles: 8}},
		{"lbase-256MiB", Options{LBaseMaxBytes: 256 << 20}},
		{"l0-files-8MiB", Options{L0TargetFileBytes: 8 << 20}},
		{"memtable-128MiB+l0-compact-8", Options{MemTableBytes: 128 << 20, L0CompactionFiles: 8}},
	} {
		b.Run(v.name, func(b *testing.B) { benchCommit(b, v.o) })
	}
}

// signedBlocks holds the benchmark's blocks, signed once for every variant.
var signedBlocks struct {
	keys   []txn.Key
	blocks [][]*txn.Tx
}

func benchBlocks(b *testing.B, n int) [][]*txn.Tx {
	if signedBlocks.keys == nil {
		signedBlocks.keys = make([]txn.Key, benchAccounts)
		for i := range signedBlocks.keys {
			signedBlocks.keys[i] = devnet.DemoKey(devnet.ChainID, i)
		}
	}
	keys := signedBlocks.keys
	for i := len(signedBlocks.blocks); i < n; i++ {
		txs := make([]*txn.Tx, benchBlockTxs)
		for j := range txs {
			n := i*benchBlockTxs + j
			from := n % benchAccounts
			tx := &txn.Tx{Type: txn.TypePayment, ChainID: devnet.ChainID, Sender: keys[from].AccountID(),
				Seq: uint64(1 + n/benchAccounts), Fee: testFee, LastValid: 1 << 40,
				Dest: keys[(from+1)%benchAccounts].AccountID(), Amount: 1}
			if err := txn.Sign(tx, keys[from]); err != nil {
				b.Fatal(err)
			}
			txs[j] = tx
		}
		signedBlocks.blocks = append(signedBlocks.blocks, txs)
	}
	return signedBlocks.blocks[:n]
}

func benchCommit(b *testing.B, so Options) {
	o := devnet.DefaultOptions()
	o.Accounts, o.BaseFee = benchAccounts, testFee
	g := devnet.Genesis(o)
	s, err := Open(b.TempDir(), g, so)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	l, err := s.Load(g)
	if err != nil {
		b.Fatal(err)
	}
	// Every block is signed before the clock starts: signing would otherwise
	// share the cores with Pebble's background work and blur the figure.
	blocks := benchBlocks(b, b.N)
	cpu0 := cpuTime()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		txs := blocks[i]
		h := uint64(i + 1)
		res := l.Execute(h, txs)
		if res.Receipts[0].Result != codes.Success {
			b.Fatalf("block %d: %s", h, res.Receipts[0].Result)
		}
		rec := &BlockRecord{Height: h, Hash: blockHash(h), Parent: blockHash(h - 1), StateHash: res.Meta.StateHash,
			Receipts: res.Receipts}
		b.StartTimer()
		if err := s.CommitBlock(rec, txs, res); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		l.Apply(res)
		b.StartTimer()
	}
	b.StopTimer()
	txs := float64(b.N * benchBlockTxs)
	b.ReportMetric(txs/b.Elapsed().Seconds(), "tx/s")
	// The process's CPU time per transaction (execution and Pebble's background
	// work included): steadier than the wall clock on a shared machine.
	b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/txs, "cpu-µs/tx")
	w := s.Written()
	b.ReportMetric(float64(w.Keys)/float64(w.Txs), "keys/tx")
	b.ReportMetric(float64(w.Bytes)/float64(w.Txs), "batch-B/tx")
	e := s.Engine()
	b.ReportMetric(float64(e.FlushedBytes+e.CompactedBytes)/txs, "sst-B/tx")
	if m, err := s.Meta(); err != nil || m != l.Meta() {
		b.Fatalf("stored meta %+v, %v", m, err)
	}
}

// cpuTime is the process's user plus system CPU time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkBlockPayload measures rebuilding a committed block's payload (what
// a cluster's driver checks before it keeps an executed block without one),
// for blocks of 2000 payments in a store that just committed them.
func BenchmarkBlockPayload(b *testing.B) {
	o := devnet.DefaultOptions()
	o.Accounts, o.BaseFee = benchAccounts, testFee
	g := devnet.Genesis(o)
	s, err := Open(b.TempDir(), g, Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	l, err := s.Load(g)
	if err != nil {
		b.Fatal(err)
	}
	const blocks = 20
	for i, txs := range benchBlocks(b, blocks) {
		h := uint64(i + 1)
		res := l.Execute(h, txs)
		rec := &BlockRecord{Height: h, Hash: blockHash(h), Parent: blockHash(h - 1), StateHash: res.Meta.StateHash, Receipts: res.Receipts}
		if err := s.CommitBlock(rec, txs, res); err != nil {
			b.Fatal(err)
		}
		l.Apply(res)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := s.BlockPayload(uint64(1 + i%blocks)); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N*benchBlockTxs), "µs/tx")
}
