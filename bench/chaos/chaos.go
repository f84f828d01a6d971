// Package chaos is a Jepsen-style fault test of a local Settle cluster: real
// `settled` processes on 127.0.0.1, payments posted as binary batches to random
// live validators, an independent log of everything every validator's commit
// stream announced, and random faults (SIGKILL of a random validator, of the
// leader, of two in a row so that quorum is lost for a while, a kill with a
// wiped data directory, crash loops), each victim restarted after a random
// delay. At the end it heals and drains the cluster and checks that no
// announced transaction is lost or changed, none is announced twice or carried
// twice by the chain, every accepted transaction ended committed (or expired or
// dropped with a reason), every validator holds the same blocks and state, and
// `settled verify` replays each store.
package chaos

import (
	"context"
	"errors"
	"fmt"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"settle/bench"
	"settle/internal/defaults"
)

// Options configure a run.
type Options struct {
	Binary     string        // the settled binary
	Dir        string        // work directory ("" : a temporary one, removed unless KeepDir)
	KeepDir    bool          // keep configs, data and logs for inspection
	Validators int           // n (default 4)
	Accounts   int           // demo accounts sending payments (default 2000)
	Rate       int           // new payments offered per second (default 400)
	Duration   time.Duration // the fault phase (default 60 s)
	// FaultEvery is the mean time between faults (default 13 s: about 67 in 15
	// minutes); each gap is drawn from [FaultEvery/2, 3·FaultEvery/2].
	FaultEvery      time.Duration
	RestartDelayMax time.Duration // a victim restarts after 0 to this (default 5 s)
	DrainTimeout    time.Duration // after healing, the wait for everything to commit (default 120 s)
	Seed            int64         // drives every random choice of the harness
	// Schedule, when set, is the sequence of fault kinds to inject, cycled
	// (kill, kill-leader, kill-pair, wipe, crash-loop, cut-leader); else kinds are drawn at
	// random.
	Schedule []string
	// WAN, when set, runs every validator link through Toxiproxy with this
	// latency and bandwidth (bench.WANSpec), to time faults at a distance.
	WAN *bench.WANSpec
	// Queue makes a quarter of the load RTGS queued payments: among the first
	// queueBanks accounts, large ones that wait in the queue and settle when
	// gridlock resolution (every 10 blocks on the dev genesis) offsets them;
	// elsewhere small ones that settle at once. The queue is then part of
	// every crash, wipe and catch-up, and of the stores' replay check.
	Queue bool
	Logf  func(format string, args ...any)
}

func (o *Options) withDefaults() {
	defaults.Set(&o.Validators, 4)
	defaults.Set(&o.Accounts, 2000)
	defaults.Set(&o.Rate, 400)
	defaults.Set(&o.Duration, 60*time.Second)
	defaults.Set(&o.FaultEvery, 13*time.Second)
	defaults.Set(&o.RestartDelayMax, 5*time.Second)
	defaults.Set(&o.DrainTimeout, 120*time.Second)
	if o.Logf == nil {
		o.Logf = func(string, ...any) {}
	}
}

// Validate reports the first bad option, in a sentence.
func (o *Options) Validate() error {
	switch {
	case o.Binary == "":
		return errors.New("chaos: the settled binary is required")
	case o.Validators < 4:
		return fmt.Errorf("chaos: at least 4 validators are needed to survive a fault, not %d", o.Validators)
	case o.Accounts < 2 || o.Accounts > 100_000:
		return fmt.Errorf("chaos: accounts must be 2 to 100000, not %d", o.Accounts)
	case o.Rate < 1 || o.Rate > 100_000:
		return fmt.Errorf("chaos: the rate must be 1 to 100000 tx/s, not %d", o.Rate)
	case o.Duration < time.Second:
		return fmt.Errorf("chaos: the duration must be at least 1s, not %v", o.Duration)
	case o.FaultEvery < 100*time.Millisecond:
		return fmt.Errorf("chaos: faults must be at least 100ms apart, not %v", o.FaultEvery)
	}
	for _, k := range o.Schedule {
		if !slices.Contains(faultKinds, k) {
			return fmt.Errorf("chaos: unknown fault kind %q (want one of %v)", k, faultKinds)
		}
		if k == "cut-leader" && o.WAN == nil {
			return errors.New("chaos: cut-leader silences links through the WAN's proxies: give a WAN (-rtt-ms, 0 for no delay)")
		}
	}
	return nil
}

// run is the state of one chaos run.
type run struct {
	o    Options
	dir  string
	vals []*validator
	log  *chainLog
	load *client
	rng  *rand.Rand
	wan  *bench.WAN // nil: plain loopback
	// phaseEnd is when the fault phase ended (set before healing).
	phaseEnd time.Time

	mu struct {
		sync.Mutex
		faults    []fault
		restarts  []restart
		downSince map[int]time.Time
		crashes   []string
		cut       map[int]bool // validators whose links are silenced

	}
	wg sync.WaitGroup
}

// fault is one injected fault and how long the cluster took to commit again.
type fault struct {
	Kind    string
	Victims []int
	At      time.Time
	// QuorumAt is when enough validators were up again for quorum (At when the
	// fault never took quorum away); RecoveredAt the first new commit after it.
	QuorumAt    time.Time
	RecoveredAt time.Time
	Height      uint64 // the highest announced height when it struck
}

// restart is one victim's return: how far behind it was and how fast it caught up.
type restart struct {
	Validator   int
	Wiped       bool
	At          time.Time
	FromHeight  uint64 // its height when it answered first
	AnsweredAt  time.Time
	Target      uint64 // the cluster's height when it restarted
	CaughtUpAt  time.Time
	ReadyAt     time.Time
	StillBehind bool
	Interrupted bool
}

// Run builds a cluster, runs the load and the faults, heals, drains and checks.
// The report is returned even when checks fail (Report.Failures lists them); an
// error means the run itself could not be carried out.
func Run(ctx context.Context, o Options) (*Report, error) {
	o.withDefaults()
	if err := o.Validate(); err != nil {
		return nil, err
	}
	r := &run{o: o, rng: rand.New(rand.NewSource(o.Seed))}
	r.mu.downSince = map[int]time.Time{}
	if err := r.setUp(ctx); err != nil {
		r.tearDown()
		return nil, err
	}
	defer r.tearDown()
	return r.execute(ctx)
}

func (r *run) setUp(ctx context.Context) error {
	r.dir = r.o.Dir
	if r.dir == "" {
		d, err := os.MkdirTemp("", "settle-chaos-")
		if err != nil {
			return err
		}
		r.dir = d
	}
	out, err := exec.CommandContext(ctx, r.o.Binary, "testnet", "-validators", strconv.Itoa(r.o.Validators),
		"-dir", r.dir, "-accounts", strconv.Itoa(r.o.Accounts)).CombinedOutput()
	if err != nil {
		return fmt.Errorf("settled testnet: %w: %s", err, strings.TrimSpace(string(out)))
	}
	if r.o.WAN != nil {
		configs := make([]string, r.o.Validators)
		for i := range configs {
			configs[i] = filepath.Join(r.dir, fmt.Sprintf("v%d.json", i))
		}
		if r.wan, err = bench.ShapeLinks(*r.o.WAN, configs, "127.0.0.1"); err != nil {
			return err
		}
		r.o.Logf("WAN: %s", r.o.WAN.Describe())
	}
	for i := 0; i < r.o.Validators; i++ {
		v, err := loadValidator(r.dir, r.o.Binary, i)
		if err != nil {
			return err
		}
		r.vals = append(r.vals, v)
	}
	for _, v := range r.vals {
		if err := v.start(); err != nil {
			return err
		}
	}
	return r.waitAllReady(ctx, 60*time.Second)
}

func (r *run) tearDown() {
	for _, v := range r.vals {
		v.stop(10 * time.Second)
	}
	r.wan.Close()
	if r.o.Dir == "" && !r.o.KeepDir && r.dir != "" {
		os.RemoveAll(r.dir)
	}
}

func (r *run) waitAllReady(ctx context.Context, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for _, v := range r.vals {
		for {
			st, err := v.status(ctx)
			if err == nil && st.Ready {
				break
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("%s not ready within %v (%v); log tail:\n%s", v.name, timeout, err, tail(v.logPath, 8))
			}
			sleep(ctx, 100*time.Millisecond)
		}
	}
	return nil
}

func (r *run) execute(ctx context.Context) (*Report, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	chainID, err := readChainID(r.dir)
	if err != nil {
		return nil, err
	}
	r.log = newChainLog(len(r.vals))
	for _, v := range r.vals {
		r.wg.Add(1)
		go func() { defer r.wg.Done(); r.log.follow(ctx, v) }()
	}
	r.load = newClient(chainID, r.o.Accounts, r.vals, r.log, r.o.Seed+1)
	r.load.queue = r.o.Queue
	loadCtx, stopLoad := context.WithCancel(ctx)
	r.wg.Add(1)
	go func() { defer r.wg.Done(); r.load.run(loadCtx, r.o.Rate) }()
	start := time.Now()
	r.o.Logf("chaos: %d validators, %d tx/s from %d accounts, faults every ~%v for %v (seed %d)",
		r.o.Validators, r.o.Rate, r.o.Accounts, r.o.FaultEvery, r.o.Duration, r.o.Seed)

	r.faultPhase(ctx, start.Add(r.o.Duration))
	r.phaseEnd = time.Now() // the load stops offering during the drain: no stall counts past here
	r.o.Logf("chaos: fault phase over after %d faults; healing", len(r.faultsCopy()))
	r.healAll(ctx)
	r.load.draining.Store(true)
	drained := r.drain(ctx)
	faultEnd := time.Now()
	stopLoad()
	rep := r.check(ctx, start, faultEnd, drained)
	cancel()
	r.wg.Wait()
	return rep, nil
}

func readChainID(dir string) (string, error) {
	b, err := os.ReadFile(filepath.Join(dir, "genesis.json"))
	if err != nil {
		return "", err
	}
	const key = `"chain_id": "`
	i := strings.Index(string(b), key)
	if i < 0 {
		return "", fmt.Errorf("genesis in %s has no chain_id", dir)
	}
	rest := string(b)[i+len(key):]
	return rest[:strings.IndexByte(rest, '"')], nil
}

// faultPhase injects faults until end.
func (r *run) faultPhase(ctx context.Context, end time.Time) {
	for ctx.Err() == nil {
		gap := r.o.FaultEvery/2 + time.Duration(r.rng.Int63n(int64(r.o.FaultEvery)+1))
		next := time.Now().Add(gap)
		if next.After(end) {
			sleep(ctx, time.Until(end))
			return
		}
		sleep(ctx, gap)
		r.noteCrashes()
		r.inject(ctx)
	}
}

// noteCrashes records validators that exited on their own: a crash is a bug.
func (r *run) noteCrashes() {
	for _, v := range r.vals {
		if v.exitedUnexpectedly() {
			r.mu.Lock()
			r.mu.crashes = append(r.mu.crashes, fmt.Sprintf("%s exited on its own; log tail:\n%s", v.name, tail(v.logPath, 12)))
			r.mu.Unlock()
			v.kill() // mark it down; healing restarts it
		}
	}
}

// quorum is the validators that must be up for the cluster to commit.
func (r *run) quorum() int { return len(r.vals) - (len(r.vals)-1)/3 }

func (r *run) upCount() int {
	n := 0
	for _, v := range r.vals {
		if v.isUp() {
			n++
		}
	}
	return n
}

// faultKinds are the faults a run injects.
// cut-leader needs a WAN: it silences the leader's links (bench.WAN.Cut)
// instead of killing it, as a host that lost power or its network would, so that
// no connection reset tells the others and only their view timeouts do.
var faultKinds = []string{"kill", "kill-leader", "kill-pair", "wipe", "crash-loop", "cut-leader"}

// inject picks and starts one fault; victims restart in the background.
func (r *run) inject(ctx context.Context) {
	weighted := []string{"kill", "kill", "kill-leader", "kill-leader", "kill-pair", "wipe", "crash-loop"}
	if r.wan != nil {
		weighted = append(weighted, "cut-leader")
	}
	kind := weighted[r.rng.Intn(len(weighted))]
	if s := r.o.Schedule; len(s) > 0 {
		kind = s[len(r.faultsCopy())%len(s)]
	}
	up := r.upVictims()
	if len(up) < r.quorum() {
		return // a previous fault is still being repaired; stay within reach of liveness
	}
	r.mu.Lock()
	cuts := len(r.mu.cut)
	r.mu.Unlock()
	if cuts > 0 || (kind == "cut-leader" && len(up) < len(r.vals)) {
		// A cut validator is up but unreachable, which the quorum accounting of
		// kills and restarts does not know: cuts never overlap another fault.
		return
	}
	if kind == "wipe" && !r.safeToWipe(ctx) {
		kind = "kill"
	}
	var victims []int
	switch kind {
	case "kill", "wipe", "crash-loop":
		victims = []int{up[r.rng.Intn(len(up))]}
	case "kill-leader", "cut-leader":
		victims = []int{r.leader(ctx, up)}
	case "kill-pair":
		p := r.rng.Perm(len(up))
		victims = []int{up[p[0]], up[p[1]]}
	}
	f := fault{Kind: kind, Victims: victims, At: time.Now(), Height: r.log.topHeight()}
	if kind == "cut-leader" {
		r.cut(ctx, f)
		return
	}
	for _, i := range victims {
		r.vals[i].kill()
	}
	if r.upCount() >= r.quorum() {
		f.QuorumAt = f.At
	}
	idx := r.addFault(f)
	r.o.Logf("chaos: %s %v at height %d", kind, names(victims), r.log.topHeight())
	for k, i := range victims {
		wipe := kind == "wipe"
		// A crash loop's pauses (up, then down) are drawn here: the rng belongs
		// to the fault loop, not to the restarting goroutines.
		var pauses []time.Duration
		if kind == "crash-loop" {
			for range 2 {
				pauses = append(pauses, 500*time.Millisecond+time.Duration(r.rng.Int63n(int64(time.Second))),
					time.Duration(r.rng.Int63n(int64(time.Second))))
			}
		}
		delay := time.Duration(r.rng.Int63n(int64(r.o.RestartDelayMax) + 1))
		if k > 0 {
			delay += time.Duration(r.rng.Int63n(int64(r.o.RestartDelayMax)/2 + 1)) // the pair returns one after the other
		}
		r.wg.Add(1)
		go func() {
			defer r.wg.Done()
			r.restartLater(ctx, i, delay, wipe, pauses, idx)
		}()
	}
}

// upVictims are the validators up and reachable: a cut one counts as down.
func (r *run) upVictims() []int {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []int
	for i, v := range r.vals {
		if v.isUp() && !r.mu.cut[i] {
			out = append(out, i)
		}
	}
	return out
}

// cut silences the victim's links, and heals them after 0 to RestartDelayMax
// (at the latest in healAll). The others keep quorum throughout.
func (r *run) cut(ctx context.Context, f fault) {
	i := f.Victims[0]
	if err := r.wan.Cut(i); err != nil {
		r.o.Logf("chaos: cut %s: %v", r.vals[i].name, err)
		return
	}
	f.QuorumAt = f.At
	r.mu.Lock()
	if r.mu.cut == nil {
		r.mu.cut = map[int]bool{}
	}
	r.mu.cut[i] = true
	r.mu.Unlock()
	r.addFault(f)
	r.o.Logf("chaos: cut-leader %v at height %d", names(f.Victims), f.Height)
	delay := time.Duration(r.rng.Int63n(int64(r.o.RestartDelayMax) + 1))
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		sleep(ctx, delay)
		r.heal(i)
	}()
}

// heal reconnects a cut validator (a no-op for one that is not cut).
func (r *run) heal(i int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.mu.cut[i] {
		return
	}
	delete(r.mu.cut, i)
	if err := r.wan.Heal(i); err != nil {
		r.o.Logf("chaos: heal %s: %v", r.vals[i].name, err)
		return
	}
	r.o.Logf("chaos: healed %s's links", r.vals[i].name)
}

// safeToWipe: every validator is up and none is still relearning a lost safety
// state, so one more wiped validator stays within the fault budget.
func (r *run) safeToWipe(ctx context.Context) bool {
	for _, v := range r.vals {
		if !v.isUp() {
			return false
		}
		st, err := v.status(ctx)
		if err != nil || st.SafetyRecovering {
			return false
		}
	}
	return true
}

// leader asks a running validator who leads, falling back to a random one.
func (r *run) leader(ctx context.Context, up []int) int {
	for _, i := range up {
		st, err := r.vals[i].status(ctx)
		if err != nil || st.Leader == "" {
			continue
		}
		for _, j := range up {
			if r.vals[j].name == st.Leader {
				return j
			}
		}
	}
	return up[r.rng.Intn(len(up))]
}

func (r *run) addFault(f fault) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.mu.faults = append(r.mu.faults, f)
	return len(r.mu.faults) - 1
}

func (r *run) faultsCopy() []fault {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]fault(nil), r.mu.faults...)
}

// restartLater restarts validator i after delay (wiping its disk first), then,
// for a crash loop, kills and restarts it again after each pair of pauses (up,
// down), then watches it catch up.
func (r *run) restartLater(ctx context.Context, i int, delay time.Duration, wipe bool, pauses []time.Duration, fault int) {
	v := r.vals[i]
	sleep(ctx, delay)
	if ctx.Err() != nil {
		return
	}
	if wipe {
		if err := v.wipe(); err != nil {
			r.o.Logf("chaos: %v", err)
		}
		r.log.reset(i)
	}
	target := r.log.topHeight()
	for k := 0; ; k += 2 {
		if err := v.start(); err != nil {
			r.o.Logf("chaos: %v", err)
			return
		}
		if k+1 >= len(pauses) {
			break
		}
		sleep(ctx, pauses[k])
		v.kill()
		sleep(ctx, pauses[k+1])
	}
	at := time.Now()
	r.mu.Lock()
	f := &r.mu.faults[fault]
	if f.QuorumAt.IsZero() && r.upCount() >= r.quorum() {
		f.QuorumAt = at
	}
	r.mu.Unlock()
	r.watchCatchUp(ctx, restart{Validator: i, Wiped: wipe, At: at, Target: target})
}

// watchCatchUp polls a restarted validator until its height reaches the
// cluster's height at its restart, recording when, and when it was ready.
func (r *run) watchCatchUp(ctx context.Context, rs restart) {
	v := r.vals[rs.Validator]
	first := true
	deadline := time.Now().Add(3 * time.Minute)
	for ctx.Err() == nil && v.isUp() && time.Now().Before(deadline) {
		st, err := v.status(ctx)
		if err == nil {
			if first {
				rs.FromHeight, rs.AnsweredAt, first = st.Height, time.Now(), false
			}
			if rs.CaughtUpAt.IsZero() && st.Height >= rs.Target {
				rs.CaughtUpAt = time.Now()
			}
			if rs.ReadyAt.IsZero() && st.Ready {
				rs.ReadyAt = time.Now()
			}
			if !rs.CaughtUpAt.IsZero() && !rs.ReadyAt.IsZero() {
				break
			}
		}
		sleep(ctx, 100*time.Millisecond)
	}
	// A victim killed again before it caught up (a later fault) was
	// interrupted, not slow.
	rs.Interrupted = rs.CaughtUpAt.IsZero() && !v.isUp()
	rs.StillBehind = rs.CaughtUpAt.IsZero() && !rs.Interrupted
	r.mu.Lock()
	r.mu.restarts = append(r.mu.restarts, rs)
	r.mu.Unlock()
}

// healAll restarts every validator that is down and waits until all are ready.
func (r *run) healAll(ctx context.Context) {
	for i := range r.vals {
		r.heal(i)
	}
	deadline := time.Now().Add(r.o.RestartDelayMax*4 + 10*time.Second)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		down := 0
		for _, v := range r.vals {
			if !v.isUp() {
				down++
			}
		}
		if down == 0 {
			break
		}
		sleep(ctx, 200*time.Millisecond) // restarts in flight finish first
		for _, v := range r.vals {
			if !v.isUp() && time.Since(r.lastKill(v.index)) > r.o.RestartDelayMax*2 {
				v.start()
			}
		}
	}
	if err := r.waitAllReady(ctx, 3*time.Minute); err != nil {
		r.o.Logf("chaos: after healing: %v", err)
	}
}

func (r *run) lastKill(i int) time.Time {
	r.mu.Lock()
	defer r.mu.Unlock()
	var t time.Time
	for _, f := range r.mu.faults {
		for _, v := range f.Victims {
			if v == i && f.At.After(t) {
				t = f.At
			}
		}
	}
	return t
}

// drain waits until every transaction the client created was announced (the
// client keeps resending), or the timeout.
func (r *run) drain(ctx context.Context) bool {
	deadline := time.Now().Add(r.o.DrainTimeout)
	for ctx.Err() == nil {
		open, _, _ := r.load.pending()
		if len(open)+len(r.load.neverAccepted()) == 0 {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		sleep(ctx, 250*time.Millisecond)
	}
	return false
}

func names(idx []int) []string {
	out := make([]string, len(idx))
	for i, v := range idx {
		out[i] = "v" + strconv.Itoa(v)
	}
	return out
}

func tail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// durations sorts a copy.
func sorted(ds []time.Duration) []time.Duration {
	out := append([]time.Duration(nil), ds...)
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}
