package sigverify

import (
	"context"
	"errors"
	"runtime"
	"sync"
	"sync/atomic"
)

// ErrClosed is returned by Pool.Verify after Close.
var ErrClosed = errors.New("sigverify: pool closed")

const (
	// chunkCountMin and chunkCountMax bound the items per chunk handed to one
	// worker: big enough for the batch equation to pay (its gain flattens out
	// past about 64), small enough to spread one request over every core.
	chunkCountMin = 32
	chunkCountMax = 128

	// queuePerWorkerDefault sizes the chunk queue when NewPool is given none.
	queuePerWorkerDefault = 4
)

// Pool verifies requests on a fixed set of worker goroutines, one Verifier
// each, fed by a bounded queue of chunks. It is safe for concurrent use.
type Pool struct {
	jobs    chan job
	workers sync.WaitGroup

	mu struct {
		// RWMutex: Verify holds it shared while it queues chunks, Close
		// holds it exclusively to close the queue, so no chunk is ever sent
		// on a closed channel.
		sync.RWMutex
		closed bool
	}

	workerCount int

	verified      atomic.Uint64
	invalid       atomic.Uint64
	batchFailures atomic.Uint64
}

// Stats counts a Pool's work since NewPool.
type Stats struct {
	// Verified counts signatures checked (valid and invalid).
	Verified uint64
	// Invalid counts signatures found invalid.
	Invalid uint64
	// BatchFailures counts chunks whose batch equation failed, so that
	// bisection ran: a rough measure of bad signatures arriving.
	BatchFailures uint64
}

// job is one chunk of one request.
type job struct {
	req   *request
	items []Item
	ok    []bool
}

// request tracks one Verify call's chunks.
type request struct {
	// pending counts queued chunks not yet finished, plus one held by the
	// submitting goroutine until it has queued them all; the goroutine
	// that brings it to zero closes done.
	pending   atomic.Int64
	cancelled atomic.Bool // set when the caller gives up; chunks not started are skipped
	anyBad    atomic.Bool
	done      chan struct{}
}

func (r *request) release() {
	if r.pending.Add(-1) == 0 {
		close(r.done)
	}
}

// NewPool starts workers goroutines (runtime.GOMAXPROCS(0) when workers <= 0)
// sharing a queue of at most queueMax chunks (4 per worker when
// queueMax <= 0). A full queue makes Verify wait: that is the backpressure.
func NewPool(workers int, queueMax int) *Pool {
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	if queueMax <= 0 {
		queueMax = queuePerWorkerDefault * workers
	}
	p := &Pool{jobs: make(chan job, queueMax), workerCount: workers}
	p.workers.Add(workers)
	for range workers {
		go p.work()
	}
	return p
}

func (p *Pool) work() {
	defer p.workers.Done()
	v := NewVerifier(chunkCountMax)
	for j := range p.jobs {
		if !j.req.cancelled.Load() {
			p.run(v, j)
		}
		j.req.release()
	}
}

func (p *Pool) run(v *Verifier, j job) {
	failuresBefore := v.counters.BatchFailures
	if !v.VerifyBatch(j.items, j.ok) {
		j.req.anyBad.Store(true)
		var bad uint64
		for _, ok := range j.ok {
			if !ok {
				bad++
			}
		}
		p.invalid.Add(bad)
	}
	p.verified.Add(uint64(len(j.items)))
	p.batchFailures.Add(v.counters.BatchFailures - failuresBefore)
}

// Verify verifies items on the pool's workers and waits for them: ok[i]
// receives item i's verdict (the same as Verify's) and allOK reports whether
// every item is valid. It returns ctx.Err() when ctx ends first and ErrClosed
// after Close; then allOK is false and the contents of ok are unspecified. No
// worker touches items or ok once Verify has returned. It panics when
// len(ok) != len(items), a programming error.
func (p *Pool) Verify(ctx context.Context, items []Item, ok []bool) (allOK bool, err error) {
	if len(ok) != len(items) {
		panic("sigverify: len(ok) != len(items)")
	}
	if err := ctx.Err(); err != nil {
		return false, err
	}
	if len(items) == 0 {
		return true, nil
	}
	req := &request{done: make(chan struct{})}
	req.pending.Store(1)
	err = p.submit(ctx, req, items, ok)
	req.release()
	if err == nil {
		select {
		case <-req.done:
			return !req.anyBad.Load(), nil
		case <-ctx.Done():
			err = ctx.Err()
		}
	}
	// Chunks already running finish (each is short); the rest are skipped.
	req.cancelled.Store(true)
	<-req.done
	return false, err
}

// submit queues items in chunks, waiting for room in the queue.
func (p *Pool) submit(ctx context.Context, req *request, items []Item, ok []bool) error {
	p.mu.RLock()
	defer p.mu.RUnlock()
	if p.mu.closed {
		return ErrClosed
	}
	chunkCount := chunkSize(len(items), p.workerCount)
	for start := 0; start < len(items); start += chunkCount {
		end := min(start+chunkCount, len(items))
		req.pending.Add(1)
		select {
		case p.jobs <- job{req: req, items: items[start:end], ok: ok[start:end]}:
		case <-ctx.Done():
			req.pending.Add(-1) // INVARIANT: the submitter's own count keeps pending > 0 here.
			return ctx.Err()
		}
	}
	return nil
}

// chunkSize splits itemCount items evenly over the workers, within
// [chunkCountMin, chunkCountMax] items per chunk.
func chunkSize(itemCount, workerCount int) int {
	perWorker := (itemCount + workerCount - 1) / workerCount
	size := min(max(perWorker, chunkCountMin), chunkCountMax)
	// Even out the chunks so the last one is not a small remainder.
	chunks := (itemCount + size - 1) / size
	return (itemCount + chunks - 1) / chunks
}

// Stats returns the pool's counters.
func (p *Pool) Stats() Stats {
	return Stats{
		Verified:      p.verified.Load(),
		Invalid:       p.invalid.Load(),
		BatchFailures: p.batchFailures.Load(),
	}
}

// Close stops the pool: chunks already queued are verified, later Verify
// calls return ErrClosed, and Close returns when every worker has exited.
// Close is idempotent.
func (p *Pool) Close() {
	p.mu.Lock()
	if !p.mu.closed {
		p.mu.closed = true
		close(p.jobs)
	}
	p.mu.Unlock()
	p.workers.Wait()
}
