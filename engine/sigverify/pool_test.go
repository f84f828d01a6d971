package sigverify

import (
	"context"
	"errors"
	"math/rand/v2"
	"sync"
	"testing"
)

func TestPoolConcurrent(t *testing.T) {
	p := NewPool(4, 8)
	defer p.Close()
	valid := signedItems(300, 8)
	const callers = 8
	var wg sync.WaitGroup
	var totalItems, totalBad uint64
	var mu sync.Mutex
	for c := range callers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(c), 9))
			for round := range 3 {
				n := 1 + rng.IntN(len(valid))
				items := append([]Item(nil), valid[:n]...)
				want := make([]bool, n)
				bad := 0
				for i := range items {
					want[i] = true
					if rng.IntN(50) == 0 {
						items[i] = corrupt(items[i])
						want[i] = false
						bad++
					}
				}
				ok := make([]bool, n)
				allOK, err := p.Verify(context.Background(), items, ok)
				if err != nil {
					t.Errorf("caller %d round %d: %v", c, round, err)
					return
				}
				if allOK != (bad == 0) {
					t.Errorf("caller %d round %d: allOK = %v with %d bad", c, round, allOK, bad)
				}
				for i := range ok {
					if ok[i] != want[i] {
						t.Errorf("caller %d round %d: item %d verdict %v, want %v", c, round, i, ok[i], want[i])
					}
				}
				mu.Lock()
				totalItems += uint64(n)
				totalBad += uint64(bad)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	s := p.Stats()
	if s.Verified != totalItems || s.Invalid != totalBad {
		t.Errorf("stats %+v, want Verified %d Invalid %d", s, totalItems, totalBad)
	}
	if totalBad > 0 && s.BatchFailures == 0 {
		t.Errorf("stats %+v: no batch failures despite %d bad items", s, totalBad)
	}
}

func TestPoolEmptyAndPrecancelled(t *testing.T) {
	p := NewPool(1, 1)
	defer p.Close()
	allOK, err := p.Verify(context.Background(), nil, nil)
	if !allOK || err != nil {
		t.Errorf("empty: got (%v, %v), want (true, nil)", allOK, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	items := signedItems(4, 10)
	allOK, err = p.Verify(ctx, items, make([]bool, len(items)))
	if allOK || !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: got (%v, %v), want (false, context.Canceled)", allOK, err)
	}
}

// TestPoolCancelMidway cancels a request while its chunks are queued: Verify
// returns the context's error, and no worker writes to ok afterwards (the
// race detector would flag the writes below otherwise).
func TestPoolCancelMidway(t *testing.T) {
	p := NewPool(1, 1)
	defer p.Close()
	items := signedItems(32, 11)
	many := make([]Item, 0, 32*chunkCountMax)
	for len(many) < cap(many) {
		many = append(many, items...)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ok := make([]bool, len(many))
	done := make(chan error, 1)
	go func() {
		_, err := p.Verify(ctx, many, ok)
		done <- err
	}()
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("Verify after cancel: %v, want context.Canceled", err)
	}
	for i := range ok {
		ok[i] = false
	}
	// The pool still serves new requests.
	ok2 := make([]bool, len(items))
	if allOK, err := p.Verify(context.Background(), items, ok2); !allOK || err != nil {
		t.Errorf("after cancel: got (%v, %v)", allOK, err)
	}
}

func TestPoolClose(t *testing.T) {
	p := NewPool(2, 2)
	items := signedItems(200, 12)
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ok := make([]bool, len(items))
			allOK, err := p.Verify(context.Background(), items, ok)
			// Racing Close: either verified in full or refused.
			if err != nil && !errors.Is(err, ErrClosed) {
				t.Errorf("Verify racing Close: %v", err)
			}
			if err == nil && !allOK {
				t.Error("Verify racing Close: allOK = false for valid items")
			}
		}()
	}
	p.Close()
	wg.Wait()
	p.Close() // idempotent
	if _, err := p.Verify(context.Background(), items, make([]bool, len(items))); !errors.Is(err, ErrClosed) {
		t.Errorf("Verify after Close: %v, want ErrClosed", err)
	}
}

func TestChunkSize(t *testing.T) {
	tests := []struct{ items, workers, want int }{
		{1, 4, 1},
		{32, 4, 32},
		{100, 2, 50},
		{256, 2, 128},
		{300, 2, 100},
		{1000, 16, 63},
		{10000, 2, 127},
	}
	for _, tt := range tests {
		got := chunkSize(tt.items, tt.workers)
		if got != tt.want {
			t.Errorf("chunkSize(%d, %d) = %d, want %d", tt.items, tt.workers, got, tt.want)
		}
		if got > chunkCountMax {
			t.Errorf("chunkSize(%d, %d) = %d > chunkCountMax", tt.items, tt.workers, got)
		}
	}
}
