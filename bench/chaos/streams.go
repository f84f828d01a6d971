package chaos

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"settle/engine/txn"
)

// chainLog is the harness's own record of what the validators' commit streams
// announced: per validator, a digest of every block; across validators, the
// first announcement of every applied transaction.
type chainLog struct {
	mu struct {
		sync.Mutex
		blocks   []map[uint64]digest // per validator: height → digest
		acks     map[txn.Hash]ack
		problems []string // a block or transaction announced two ways
		skipped  map[uint64]int
		commits  []commitMark // each new highest height, when first seen
		top      uint64
		resets   []bool // per validator: stream again from 0 (wiped)
	}
}

type digest struct {
	hash, state string
	applied     int
	txs         [32]byte // SHA-256 of the applied hashes and results, in order
}

type ack struct {
	height uint64
	result string
	at     time.Time
	by     int
}

type commitMark struct {
	height uint64
	at     time.Time
}

func newChainLog(n int) *chainLog {
	l := &chainLog{}
	l.mu.blocks = make([]map[uint64]digest, n)
	for i := range l.mu.blocks {
		l.mu.blocks[i] = map[uint64]digest{}
	}
	l.mu.acks = map[txn.Hash]ack{}
	l.mu.skipped = map[uint64]int{}
	l.mu.resets = make([]bool, n)
	return l
}

// event is one block event of GET /v1/events.
type event struct {
	Height    uint64 `json:"height"`
	Hash      string `json:"hash"`
	StateHash string `json:"state_hash"`
	Skipped   int    `json:"skipped"`
	Txs       []struct {
		Hash   string `json:"hash"`
		Result string `json:"result"`
	} `json:"txs"`
}

// problemsMax bounds the recorded problems (the counts stay exact elsewhere).
const problemsMax = 200

func (l *chainLog) problemLocked(format string, args ...any) {
	if len(l.mu.problems) < problemsMax {
		l.mu.problems = append(l.mu.problems, fmt.Sprintf(format, args...))
	}
}

// record adds one event announced by validator v.
func (l *chainLog) record(v int, ev *event, at time.Time) {
	d := digest{hash: ev.Hash, state: ev.StateHash, applied: len(ev.Txs)}
	h := sha256.New()
	hashes := make([]txn.Hash, len(ev.Txs))
	for i, t := range ev.Txs {
		h.Write([]byte(t.Hash))
		h.Write([]byte(t.Result))
		hashes[i], _ = txn.ParseHash(t.Hash)
	}
	h.Sum(d.txs[:0])
	l.mu.Lock()
	defer l.mu.Unlock()
	if prev, ok := l.mu.blocks[v][ev.Height]; ok && prev != d {
		l.problemLocked("v%d announced block %d twice, differently: %s then %s", v, ev.Height, prev.hash, d.hash)
	}
	l.mu.blocks[v][ev.Height] = d
	if ev.Skipped > l.mu.skipped[ev.Height] {
		l.mu.skipped[ev.Height] = ev.Skipped
	}
	for i, t := range ev.Txs {
		a, ok := l.mu.acks[hashes[i]]
		switch {
		case !ok:
			l.mu.acks[hashes[i]] = ack{height: ev.Height, result: t.Result, at: at, by: v}
		case a.height != ev.Height:
			l.problemLocked("tx %s announced at height %d (v%d) and at %d (v%d)", t.Hash, a.height, a.by, ev.Height, v)
		case a.result != t.Result:
			l.problemLocked("tx %s announced with result %s (v%d) and %s (v%d)", t.Hash, a.result, a.by, t.Result, v)
		}
	}
	if ev.Height > l.mu.top {
		l.mu.top = ev.Height
		l.mu.commits = append(l.mu.commits, commitMark{height: ev.Height, at: at})
	}
}

func (l *chainLog) acked(h txn.Hash) (ack, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	a, ok := l.mu.acks[h]
	return a, ok
}

func (l *chainLog) topHeight() uint64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.mu.top
}

// firstCommitAfter is when the first block above the highest one seen at t was
// announced, or false.
func (l *chainLog) firstCommitAfter(t time.Time) (time.Time, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, c := range l.mu.commits {
		if c.at.After(t) {
			return c.at, true
		}
	}
	return time.Time{}, false
}

// longestGap is the longest time in [from, to] without a newly announced
// height; a gap still open at to counts up to to.
func (l *chainLog) longestGap(from, to time.Time) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	var longest time.Duration
	prev := from
	for _, c := range l.mu.commits {
		if !c.at.After(from) {
			continue
		}
		if c.at.After(to) {
			break
		}
		longest, prev = max(longest, c.at.Sub(prev)), c.at
	}
	return max(longest, to.Sub(prev))
}

// reset makes validator v's follower stream its chain again from height 0 (its
// disk was wiped: the re-executed chain is checked against what it announced).
func (l *chainLog) reset(v int) {
	l.mu.Lock()
	l.mu.resets[v] = true
	l.mu.Unlock()
}

func (l *chainLog) takeReset(v int) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	r := l.mu.resets[v]
	l.mu.resets[v] = false
	return r
}

// follow streams validator v's commit events until ctx ends, resuming after the
// last height it saw whenever the stream or the process ends.
func (l *chainLog) follow(ctx context.Context, v *validator) {
	var last uint64
	client := &http.Client{}
	for ctx.Err() == nil {
		if l.takeReset(v.index) {
			last = 0
		}
		if !v.isUp() {
			sleep(ctx, 100*time.Millisecond)
			continue
		}
		last = l.stream(ctx, client, v, last)
		sleep(ctx, 200*time.Millisecond)
	}
}

func (l *chainLog) stream(ctx context.Context, client *http.Client, v *validator, from uint64) uint64 {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, fmt.Sprintf("http://%s/v1/events?from=%d", v.api, from), nil)
	resp, err := client.Do(req)
	if err != nil {
		return from
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return from
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	for sc.Scan() {
		if l.takeResetPeek(v.index) {
			return 0
		}
		line, ok := strings.CutPrefix(sc.Text(), "data: ")
		if !ok {
			continue
		}
		var ev event
		if json.Unmarshal([]byte(line), &ev) != nil || ev.Height == 0 {
			continue
		}
		l.record(v.index, &ev, time.Now())
		from = ev.Height
	}
	return from
}

// takeResetPeek reports a pending reset without consuming it (follow does).
func (l *chainLog) takeResetPeek(v int) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.mu.resets[v]
}

func sleep(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}
