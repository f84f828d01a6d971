package chaos

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os/exec"
	"strings"
	"time"

	"settle/bench"
	"settle/engine/txn"
)

// check waits for the validators' streams to agree on a common height, then
// compares everything against the harness's own log, and replays every store.
func (r *run) check(ctx context.Context, start, faultEnd time.Time, drained bool) *Report {
	rep := &Report{Validators: len(r.vals), Rate: r.o.Rate, Accounts: r.o.Accounts, Seed: r.o.Seed,
		FaultPhase: r.o.Duration, Drained: drained, Ends: map[string]int{}}
	r.noteCrashes()
	height := r.commonHeight(ctx)
	rep.Height = height
	rep.ChainBlocksPerSec = float64(height) / faultEnd.Sub(start).Seconds()
	r.checkAgreement(rep, height)
	final := r.finalChain(ctx, rep, height)
	r.checkTransactions(ctx, rep, final, height)
	r.faultFigures(rep)
	if r.o.Queue {
		if q, err := bench.ReadQueueSummary(ctx, r.vals[0].api); err == nil {
			rep.Queue = q
		} else {
			rep.fail("reading the queue's settlement split: %v", err)
		}
	}
	for _, v := range r.vals {
		v.stop(15 * time.Second)
	}
	r.verifyStores(ctx, rep)
	r.mu.Lock()
	rep.Failures = append(rep.Failures, r.mu.crashes...)
	r.mu.Unlock()
	return rep
}

// commonHeight waits until every follower has seen every block up to the lowest
// height any validator reports, and returns that height.
func (r *run) commonHeight(ctx context.Context) uint64 {
	var h uint64
	deadline := time.Now().Add(60 * time.Second)
	for {
		h = ^uint64(0)
		for _, v := range r.vals {
			st, err := v.status(ctx)
			if err != nil {
				h = 0
				break
			}
			h = min(h, st.Height)
		}
		if h != 0 && h != ^uint64(0) && r.streamsHave(h) {
			return h
		}
		if time.Now().After(deadline) {
			if h == ^uint64(0) {
				h = 0
			}
			return min(h, r.log.topHeight())
		}
		sleep(ctx, 250*time.Millisecond)
	}
}

func (r *run) streamsHave(h uint64) bool {
	r.log.mu.Lock()
	defer r.log.mu.Unlock()
	for _, blocks := range r.log.mu.blocks {
		if _, ok := blocks[h]; !ok {
			return false
		}
	}
	return true
}

// checkAgreement: at every height up to h, every validator's stream announced
// the same block, state and applied transactions; and nothing was announced two
// ways.
func (r *run) checkAgreement(rep *Report, h uint64) {
	l := r.log
	l.mu.Lock()
	defer l.mu.Unlock()
	rep.StreamProblems = append(rep.StreamProblems, l.mu.problems...)
	rep.Acknowledged = len(l.mu.acks)
	for height := uint64(1); height <= h; height++ {
		want, ok := l.mu.blocks[0][height]
		for v, blocks := range l.mu.blocks {
			got, has := blocks[height]
			switch {
			case !has || !ok:
				rep.fail("height %d: v%d's stream never announced it", height, v)
			case got != want:
				rep.fail("height %d: v0 announced block %s state %s, v%d block %s state %s", height, want.hash, want.state, v, got.hash, got.state)
			}
		}
	}
}

// finalBlock is one block of the final chain as GET /v1/block serves it.
type finalBlock struct {
	Txs     []string `json:"txs"`
	Results []string `json:"results"`
	Applied []bool   `json:"applied"`
}

// finalChain reads blocks 1..h from one validator: which transaction each
// applied, and everything each block carried.
func (r *run) finalChain(ctx context.Context, rep *Report, h uint64) map[txn.Hash]finalTx {
	out := make(map[txn.Hash]finalTx, rep.Acknowledged)
	v := r.vals[0]
	client := &http.Client{Timeout: 10 * time.Second}
	for height := uint64(1); height <= h && ctx.Err() == nil; height++ {
		var b finalBlock
		if err := getJSON(ctx, client, fmt.Sprintf("http://%s/v1/block/%d", v.api, height), &b); err != nil {
			rep.fail("read block %d from %s: %v", height, v.name, err)
			return out
		}
		for i, hx := range b.Txs {
			hash, err := txn.ParseHash(hx)
			if err != nil {
				rep.fail("block %d: bad hash %q", height, hx)
				continue
			}
			f := out[hash]
			f.carried++
			f.heights = append(f.heights, fmt.Sprintf("%d:%s/%v", height, b.Results[i], b.Applied[i]))
			if !b.Applied[i] {
				rep.Skipped++
			} else {
				f.applied++
				f.height, f.result = height, b.Results[i]
			}
			out[hash] = f
		}
	}
	for hash, f := range out {
		if f.carried > 1 {
			rep.ReIncluded++
			if rep.ReIncluded <= 10 {
				rep.fail("tx %s carried by %d blocks (height:result/applied): %v", hash, f.carried, f.heights)
			}
		}
		if f.applied > 1 {
			rep.ReApplied++
		}
	}
	return out
}

type finalTx struct {
	carried, applied int
	height           uint64
	result           string
	heights          []string // every block that carried it, for the report
}

// checkTransactions compares what was announced with the final chain, and
// follows every accepted transaction to its end.
func (r *run) checkTransactions(ctx context.Context, rep *Report, final map[txn.Hash]finalTx, h uint64) {
	r.log.mu.Lock()
	for hash, a := range r.log.mu.acks {
		f, ok := final[hash]
		switch {
		case a.height > h:
			// announced above the common height: not in the compared chain
		case !ok || f.applied == 0:
			rep.Lost++
			rep.fail("tx %s announced at height %d (%s) is not applied in the final chain", hash, a.height, a.result)
		case f.height != a.height || f.result != a.result:
			rep.Changed++
			rep.fail("tx %s announced at height %d (%s) is at %d (%s) in the final chain", hash, a.height, a.result, f.height, f.result)
		}
	}
	r.log.mu.Unlock()
	open, created, accepted := r.load.pending()
	rep.Created, rep.Accepted = created, accepted
	rep.NeverAccepted = len(r.load.neverAccepted())
	client := &http.Client{Timeout: 5 * time.Second}
	for _, p := range open {
		end := r.endOf(ctx, client, p, final, h)
		rep.Ends[end]++
		if end == "stuck" {
			rep.Stuck++
			if rep.Stuck <= 10 {
				rep.fail("tx %s (sender %s seq %d, sent %d times, last answer %s) accepted but neither committed, expired nor dropped",
					p.hash, p.tx.Sender, p.tx.Seq, p.sends, p.lastCode)
			}
		}
	}
}

// endOf classifies an accepted transaction the streams never announced.
func (r *run) endOf(ctx context.Context, client *http.Client, p *ptx, final map[txn.Hash]finalTx, h uint64) string {
	if f, ok := final[p.hash]; ok && f.applied > 0 {
		return "committed" // applied, the announcement was above the compared height
	}
	if p.tx.LastValid < h {
		return "expired"
	}
	for _, v := range r.vals {
		var st struct {
			Status string `json:"status"`
			Reason string `json:"reason"`
		}
		if err := getJSON(ctx, client, "http://"+v.api+"/v1/tx/"+p.hash.String(), &st); err != nil {
			continue
		}
		switch st.Status {
		case "committed":
			return "committed"
		case "dropped":
			return "dropped: " + st.Reason
		}
	}
	return "stuck"
}

// faultFigures computes the recovery and catch-up figures.
func (r *run) faultFigures(rep *Report) {
	r.mu.Lock()
	faults := append([]fault(nil), r.mu.faults...)
	restarts := append([]restart(nil), r.mu.restarts...)
	r.mu.Unlock()
	for _, f := range faults {
		rep.Faults++
		rep.FaultKinds = addKind(rep.FaultKinds, f.Kind)
		if f.QuorumAt.IsZero() {
			continue
		}
		at, ok := r.log.firstCommitAfter(f.QuorumAt)
		if !ok {
			rep.fail("no block was committed after the %s fault of %v at %s", f.Kind, names(f.Victims), f.At.Format(time.RFC3339))
			continue
		}
		gap := at.Sub(f.QuorumAt)
		rep.Recovery = append(rep.Recovery, gap)
		rep.RecoveryByKind = addDuration(rep.RecoveryByKind, f.Kind, gap)
		end := f.QuorumAt.Add(stallWindow)
		if !r.phaseEnd.IsZero() && r.phaseEnd.Before(end) {
			end = r.phaseEnd
		}
		stall := r.log.longestGap(f.QuorumAt, end)
		rep.Stall = append(rep.Stall, stall)
		rep.StallByKind = addDuration(rep.StallByKind, f.Kind, stall)
		if gap > slowRecovery {
			rep.SlowRecoveries = append(rep.SlowRecoveries, fmt.Sprintf("%s %v at %s (height %d): quorum back after %v, next commit %v later",
				f.Kind, names(f.Victims), f.At.Format("15:04:05.000"), f.Height, f.QuorumAt.Sub(f.At).Round(time.Millisecond), gap.Round(time.Millisecond)))
		}
	}
	for _, rs := range restarts {
		rep.Restarts++
		if rs.Interrupted {
			continue
		}
		if rs.StillBehind {
			rep.NotCaughtUp++
			continue
		}
		behind := int64(rs.Target) - int64(rs.FromHeight)
		if behind < catchUpBlocksMin {
			continue
		}
		// The rate counts from the validator's first answer: the process start and
		// its recovery from disk come before it, reported apart.
		el := rs.CaughtUpAt.Sub(rs.AnsweredAt).Seconds()
		rep.CatchUps = append(rep.CatchUps, CatchUp{Validator: rs.Validator, Wiped: rs.Wiped, Blocks: uint64(behind),
			StartSeconds: rs.AnsweredAt.Sub(rs.At).Seconds(), Seconds: el, BlocksPerSec: float64(behind) / max(el, 1e-3)})
	}
}

// stallWindow is how long after a fault the commit gaps count as its stall.
const stallWindow = 10 * time.Second

// slowRecovery: recoveries slower than this are listed in the report.
const slowRecovery = 5 * time.Second

func addDuration(m map[string][]time.Duration, k string, d time.Duration) map[string][]time.Duration {
	if m == nil {
		m = map[string][]time.Duration{}
	}
	m[k] = append(m[k], d)
	return m
}

// catchUpBlocksMin: restarts less far behind say little about the catch-up rate.
const catchUpBlocksMin = 20

func addKind(m map[string]int, k string) map[string]int {
	if m == nil {
		m = map[string]int{}
	}
	m[k]++
	return m
}

// verifyStores runs `settled verify` on every stopped validator's store.
func (r *run) verifyStores(ctx context.Context, rep *Report) {
	for _, v := range r.vals {
		out, err := exec.CommandContext(ctx, r.o.Binary, "verify", "-config", v.cfg).CombinedOutput()
		if err != nil {
			rep.fail("settled verify %s: %v: %s", v.name, err, strings.TrimSpace(string(out)))
			continue
		}
		rep.Verified++
	}
}

func getJSON(ctx context.Context, client *http.Client, url string, out any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("HTTP %d", resp.StatusCode)
	}
	return json.NewDecoder(resp.Body).Decode(out)
}
