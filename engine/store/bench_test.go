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
	o := devnet.DefaultOptions()
	o.Accounts, o.BaseFee = benchAccounts, testFee
	g := devnet.Genesis(o)
	s := openStore(b, b.TempDir(), g)
	defer s.Close()
	l, err := s.Load(g)
	if err != nil {
		b.Fatal(err)
	}
	keys := make([]txn.Key, benchAccounts)
	for i := range keys {
		keys[i] = devnet.DemoKey(devnet.ChainID, i)
	}
	// Every block is signed before the clock starts: signing would otherwise
	// share the cores with Pebble's background work and blur the figure.
	blocks := make([][]*txn.Tx, b.N)
	for i := range blocks {
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
		blocks[i] = txs
	}
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
	b.ReportMetric(float64(b.N*benchBlockTxs)/b.Elapsed().Seconds(), "tx/s")
	// The process's CPU time per transaction (execution and Pebble's background
	// work included): steadier than the wall clock on a shared machine.
	b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/float64(b.N*benchBlockTxs), "cpu-µs/tx")
	w := s.Written()
	b.ReportMetric(float64(w.Keys)/float64(w.Txs), "keys/tx")
	b.ReportMetric(float64(w.Bytes)/float64(w.Txs), "batch-B/tx")
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
