package sigverify

import (
	"context"
	"fmt"
	"runtime"
	"testing"
)

func reportSigsPerSec(b *testing.B, sigsPerOp int) {
	b.ReportMetric(float64(b.N)*float64(sigsPerOp)/b.Elapsed().Seconds(), "sigs/s")
}

func BenchmarkVerifySingle(b *testing.B) {
	items := signedItems(64, 20)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		it := items[i%len(items)]
		if !Verify(it.Pub, it.Msg, it.Sig) {
			b.Fatal("valid signature rejected")
		}
	}
	reportSigsPerSec(b, 1)
}

func BenchmarkVerifyBatch(b *testing.B) {
	for _, size := range []int{16, 64, 128, 256} {
		b.Run(fmt.Sprintf("size=%d", size), func(b *testing.B) {
			items := signedItems(size, 21)
			ok := make([]bool, size)
			v := NewVerifier(size)
			b.ReportAllocs()
			for b.Loop() {
				if !v.VerifyBatch(items, ok) {
					b.Fatal("valid batch rejected")
				}
			}
			reportSigsPerSec(b, size)
		})
	}
}

// BenchmarkBatchOneBad measures a batch of 128 with one bad signature
// salted in, the attack bisection is for.
func BenchmarkBatchOneBad(b *testing.B) {
	const size = 128
	items := signedItems(size, 22)
	items[size/3] = corrupt(items[size/3])
	ok := make([]bool, size)
	v := NewVerifier(size)
	b.ReportAllocs()
	for b.Loop() {
		if v.VerifyBatch(items, ok) {
			b.Fatal("bad batch accepted")
		}
	}
	reportSigsPerSec(b, size)
	c := v.Counters()
	b.ReportMetric(float64(c.BatchChecks+c.SingleChecks)/float64(b.N), "checks/op")
}

// BenchmarkPool verifies requests of 1024 signatures on all cores.
func BenchmarkPool(b *testing.B) {
	const size = 1024
	items := signedItems(size, 23)
	ok := make([]bool, size)
	p := NewPool(0, 0)
	defer p.Close()
	b.ReportMetric(float64(runtime.GOMAXPROCS(0)), "workers")
	for b.Loop() {
		allOK, err := p.Verify(context.Background(), items, ok)
		if err != nil || !allOK {
			b.Fatalf("Verify: %v %v", allOK, err)
		}
	}
	reportSigsPerSec(b, size)
}
