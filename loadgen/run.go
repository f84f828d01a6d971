package loadgen

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/klauspost/compress/zstd"
	"github.com/valyala/fasthttp"

	"settle/engine/txn"
)

// prepared is a run after setup: everything signed, nothing sent.
type prepared struct {
	cfg      Config
	targets  []target
	addrs    []string // the targets' host:port, for reports
	accounts []txn.AccountID
	fee      uint64
	workload Workload
	set      *TxSet
	cache    CacheInfo
}

// Run executes one load run: setup (node status, accounts' sequences, signing or
// loading the signed set), the timed phase, the drain, and the summary. It returns
// a summary whenever the timed phase started, even with an error (an interrupted
// run's summary is marked invalid).
func Run(ctx context.Context, cfg Config) (*Summary, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	p, err := prepare(ctx, cfg)
	if err != nil {
		return nil, err
	}
	return p.execute(ctx)
}

func (c Config) logf(format string, args ...any) {
	if c.Logf != nil {
		c.Logf(format, args...)
	}
}

func prepare(ctx context.Context, cfg Config) (*prepared, error) {
	p := &prepared{cfg: cfg}
	for _, t := range cfg.Targets {
		tg, _ := parseTarget(t) // INVARIANT: checked by Validate
		p.targets = append(p.targets, tg)
		p.addrs = append(p.addrs, tg.addr)
	}
	api := &apiClient{http: &http.Client{Timeout: cfg.RequestTimeout, Transport: &http.Transport{TLSClientConfig: cfg.TLS.Clone()}},
		base: p.targets[0].base()}
	st, err := api.status(ctx)
	if err != nil {
		return nil, fmt.Errorf("reading the status of %s: %w", p.addrs[0], err)
	}
	if st.ChainID != "" && st.ChainID != cfg.ChainID {
		return nil, fmt.Errorf("target %s runs chain %q, not %q", p.addrs[0], st.ChainID, cfg.ChainID)
	}
	p.fee = feeFor(cfg.Fee, uint64(st.MinFee))
	keys := cfg.WorkloadKeys
	var mixSpec MixSpec
	switch {
	case cfg.Mix != "":
		if mixSpec, err = MixSpecFor(cfg.Mix, cfg.Seed, p.fee, cfg.LastValid); err != nil {
			return nil, fmt.Errorf("%w: %v", ErrConfig, err)
		}
		if cfg.MixFinishLag > 0 {
			mixSpec.FinishLag = cfg.MixFinishLag
		}
		keys = DemoKeys(cfg.ChainID, mixSpec.AccountCount())
	case cfg.Workload == nil:
		keys = DemoKeys(cfg.ChainID, cfg.Accounts)
	}
	p.accounts = make([]txn.AccountID, len(keys))
	for i, k := range keys {
		p.accounts[i] = k.AccountID()
	}
	switch p.workload = cfg.Workload; {
	case cfg.Mix != "":
		if p.workload, err = p.mix(ctx, api, mixSpec); err != nil {
			return nil, err
		}
	case p.workload == nil:
		if p.workload, err = p.payments(ctx, api); err != nil {
			return nil, err
		}
	}
	// Setup is over: drop its idle connections, or a node's idle timeout closes
	// them under net/http with a logged "unsolicited response".
	api.http.CloseIdleConnections()
	if err := p.loadOrSign(keys); err != nil {
		return nil, err
	}
	return p, nil
}

// feeFor picks the fee: the configured one, else the node's minimum, else the dev
// default.
func feeFor(configured, nodeMin uint64) uint64 {
	switch {
	case configured > 0:
		return configured
	case nodeMin > 0:
		return nodeMin
	}
	return BaseFeeDefault
}

func (p *prepared) payments(ctx context.Context, api *apiClient) (Workload, error) {
	seqs := p.cfg.StartSeqs
	if seqs == nil {
		var err error
		if seqs, err = fetchSeqs(ctx, api, p.accounts, 16); err != nil {
			return nil, err
		}
	}
	c := p.cfg
	w, err := NewPayments(PaymentSpec{
		Dist: c.Dist, ZipfS: c.ZipfS, InterbankLarge: c.InterbankLarge, InterbankShare: c.InterbankShare,
		Seed: c.Seed, AmountMin: c.AmountMin, AmountMax: c.AmountMax, Fee: p.fee, LastValid: c.LastValid,
	}, Env{ChainID: c.ChainID, Accounts: p.accounts, StartSeqs: seqs})
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrConfig, err)
	}
	return w, nil
}

// mix builds the named mix over the mix's accounts (issuers, then banks) from
// their sequences on the node.
func (p *prepared) mix(ctx context.Context, api *apiClient, spec MixSpec) (Workload, error) {
	seqs, err := fetchSeqs(ctx, api, p.accounts, 16)
	if err != nil {
		return nil, err
	}
	w, err := NewMixWorkload(p.cfg.Mix, spec, Env{ChainID: p.cfg.ChainID, Accounts: p.accounts, StartSeqs: seqs})
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrConfig, err)
	}
	return w, nil
}

// fetchSeqs reads every account's next sequence with a few parallel requests.
func fetchSeqs(ctx context.Context, api *apiClient, ids []txn.AccountID, workers int) ([]uint64, error) {
	seqs := make([]uint64, len(ids))
	var next atomic.Int64
	errs := make([]error, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := int(next.Add(1) - 1); i < len(ids) && errs[w] == nil; i = int(next.Add(1) - 1) {
				seqs[i], errs[w] = api.accountSeq(ctx, ids[i])
			}
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("reading account sequences: %w", err)
	}
	return seqs, nil
}

func (p *prepared) loadOrSign(keys []txn.Key) error {
	count := p.cfg.txCount()
	var seqHashInput []uint64
	switch w := p.workload.(type) {
	case *Payments:
		seqHashInput = w.env.StartSeqs
	case *Mix:
		seqHashInput = w.env.StartSeqs
	}
	params := NewCacheParams(p.cfg.ChainID, p.workload, count, seqHashInput)
	p.cache.Key = params.Key()
	cacheable := !p.cfg.NoCache && p.cfg.Workload == nil // named mixes too: their Key and sequences are hashed
	if cacheable {
		start := time.Now()
		set, err := LoadCache(p.cfg.CacheDir, params, p.accounts)
		p.cache.LoadS = time.Since(start).Seconds()
		switch {
		case err == nil:
			p.set, p.cache.Hit, p.cache.Path = set, true, CachePath(p.cfg.CacheDir, p.cache.Key)
			p.cfg.logf("loaded %d signed transactions from the cache %s", count, p.cache.Path)
			return nil
		case !errors.Is(err, ErrCacheMiss):
			p.cache.Warning = err.Error()
			p.cfg.logf("ignoring the cache: %v", err)
		}
	}
	start := time.Now()
	set, err := BuildTxSet(p.workload, keys, count, p.cfg.SignProgress)
	if err != nil {
		return err
	}
	p.set = set
	p.cache.SignS = time.Since(start).Seconds()
	if cacheable {
		path, err := SaveCache(p.cfg.CacheDir, params, set)
		if err != nil {
			p.cache.Warning = err.Error()
			p.cfg.logf("could not save the cache: %v", err)
		}
		p.cache.Path = path
	}
	return nil
}

// session is the timed phase's moving parts.
type session struct {
	p         *prepared
	base      time.Time
	zeroNs    atomic.Int64
	tr        *tracker
	rec       *recorder
	lanes     []*lane
	followers []*follower
}

func (s *session) nowNs() int64 { return int64(time.Since(s.base)) - s.zeroNs.Load() }

func (p *prepared) execute(ctx context.Context) (*Summary, error) {
	cfg := p.cfg
	limit := cfg.InFlightMax
	if cfg.Closed > 0 {
		limit = cfg.Closed
	}
	s := &session{p: p, base: time.Now(), tr: newTracker(p.set, limit)}
	dueAt := func(int64) int64 { return s.tr.dispatched.Load() }
	if cfg.Schedule != nil {
		dueAt = func(ns int64) int64 { return dueBy(cfg.Schedule, ns) }
	}
	s.zeroNs.Store(1 << 62) // until the followers are open, nothing is due
	s.rec = newRecorder(time.Time{}, s.tr, dueAt, s.nowNs, cfg.Progress)

	followCtx, stopFollowing := context.WithCancel(ctx)
	defer stopFollowing()
	followersDone, err := s.startFollowers(followCtx)
	if err != nil {
		return nil, err
	}
	s.zeroNs.Store(int64(time.Since(s.base)))
	startWall := s.base.Add(time.Duration(s.zeroNs.Load()))
	s.rec.setStart(startWall)
	recDone := make(chan struct{})
	go s.rec.run(recDone)

	workersDone, err := s.startLanes()
	if err != nil {
		return nil, err
	}
	sweepCtx, stopSweeping := context.WithCancel(context.Background())
	sweepDone := s.startSweeper(sweepCtx)

	d := newDispatcher(p.set, s.tr, s.lanes, p.accounts, cfg, s.nowNs)
	var runErr error
	timedNs := int64(cfg.ClosedDuration)
	if cfg.Schedule != nil {
		timedNs = int64(cfg.Schedule.Duration())
		runErr = d.runOpen(ctx, cfg.Schedule)
	} else {
		runErr = d.runClosed(ctx, timedNs)
	}
	exhausted := cfg.Closed > 0 && runErr == nil && s.nowNs() < timedNs
	for _, l := range s.lanes {
		l.close()
	}
	<-workersDone
	s.drain(ctx, d.lastEndNs)
	stopSweeping()
	<-sweepDone
	if out := s.tr.sweep(1<<62, nil); len(out) > 0 {
		s.rec.events <- recEvent{kind: evTimeout, idx: out, atNs: s.nowNs()}
	}
	stopFollowing()
	<-followersDone
	close(s.rec.events)
	<-recDone

	sum := s.summary(d, timedNs)
	sum.judge(cfg.LagP99Max, d.heldBack, runErr != nil, exhausted)
	return sum, runErr
}

// dueBy counts the schedule's transactions with intended time ≤ ns.
func dueBy(s Schedule, ns int64) int64 {
	lo, hi := 0, s.Count()
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		if int64(s.Offset(mid)) <= ns {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	return int64(lo)
}

// followerOpenTimeout bounds the wait for every target's event stream to open.
const followerOpenTimeout = 10 * time.Second

func (s *session) startFollowers(ctx context.Context) (done <-chan struct{}, err error) {
	// No timeout: the stream lives as long as the run.
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: s.p.cfg.TLS.Clone()}}
	ready := make(chan error, len(s.p.targets))
	var wg sync.WaitGroup
	for _, tg := range s.p.targets {
		f := &follower{base: tg.base(), client: client, tr: s.tr, events: s.rec.events, nowNs: s.nowNs}
		s.followers = append(s.followers, f)
		wg.Add(1)
		go func() {
			defer wg.Done()
			f.run(ctx, ready)
		}()
	}
	finished := make(chan struct{})
	go func() {
		wg.Wait()
		close(finished)
	}()
	timeout := time.After(followerOpenTimeout)
	for range s.p.addrs {
		select {
		case err := <-ready:
			if err != nil {
				return nil, fmt.Errorf("opening the commit event stream: %w", err)
			}
		case <-timeout:
			return nil, fmt.Errorf("the commit event streams did not open within %v", followerOpenTimeout)
		}
	}
	return finished, nil
}

func (s *session) startLanes() (done <-chan struct{}, err error) {
	cfg := s.p.cfg
	var enc *zstd.Encoder
	if cfg.Compress {
		if enc, err = zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedFastest)); err != nil {
			return nil, fmt.Errorf("zstd: %w", err)
		}
	}
	var wg sync.WaitGroup
	for t, tg := range s.p.targets {
		hc := newFastHostClient(tg, cfg.TLS, cfg.Conns, cfg.RequestTimeout)
		nc := newNetClient(cfg.TLS, cfg.Conns, cfg.RequestTimeout)
		for range cfg.Conns {
			l := newLane(t)
			s.lanes = append(s.lanes, l)
			w := &laneWorker{l: l, set: s.p.set, tr: s.tr, events: s.rec.events, nowNs: s.nowNs,
				batchMax: cfg.BatchTxMax, enc: enc, poster: newPoster(cfg.Client, hc, nc, tg, cfg.RequestTimeout)}
			wg.Add(1)
			go func() {
				defer wg.Done()
				w.run()
			}()
		}
	}
	finished := make(chan struct{})
	go func() {
		wg.Wait()
		close(finished)
	}()
	return finished, nil
}

func newPoster(kind string, hc *fasthttp.HostClient, nc *http.Client, tg target, timeout time.Duration) batchPoster {
	if kind == ClientNetHTTP {
		return &netPoster{client: nc, url: tg.base() + "/v1/batch"}
	}
	return newFastPoster(hc, tg, timeout)
}

// sweepEvery is how often in-flight transactions are checked against the timeout.
const sweepEvery = 100 * time.Millisecond

func (s *session) startSweeper(ctx context.Context) <-chan struct{} {
	done := make(chan struct{})
	timeoutNs := int64(s.p.cfg.CommitTimeout)
	go func() {
		defer close(done)
		t := time.NewTicker(sweepEvery)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				now := s.nowNs()
				if out := s.tr.sweep(now-timeoutNs, nil); len(out) > 0 {
					s.rec.events <- recEvent{kind: evTimeout, idx: out, atNs: now}
				}
			}
		}
	}()
	return done
}

// drain waits until nothing is in flight, the commit timeout after the last
// dispatch has passed (the sweeper then has timed everything out), or ctx ends.
func (s *session) drain(ctx context.Context, lastDispatchNs int64) {
	deadline := lastDispatchNs + int64(s.p.cfg.CommitTimeout) + int64(sweepEvery)
	t := time.NewTicker(5 * time.Millisecond)
	defer t.Stop()
	for s.tr.inFlight() > 0 && s.nowNs() < deadline {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (s *session) summary(d *dispatcher, timedNs int64) *Summary {
	cfg, r := s.p.cfg, s.rec
	elapsedNs := s.nowNs()
	sum := &Summary{
		Mode: "open", Workload: s.p.workload.Name(), ChainID: cfg.ChainID, Targets: s.p.addrs,
		Accounts: len(s.p.accounts), FeeMinor: s.p.fee, Client: cfg.Client, Conns: cfg.Conns,
		BatchWindow: cfg.BatchWindow.String(), Compress: cfg.Compress, StartTime: r.startWall,
		TimedS: float64(timedNs) / 1e9, ElapsedS: float64(elapsedNs) / 1e9,
		Counts: r.counts, Cache: s.p.cache,
		Accepted: latencyStats(r.accAll), Committed: latencyStats(r.comAll),
		DispatchLag: latencyStats(d.lag), SendLag: latencyStats(r.sendLag),
		AcceptedHist: r.accAll, CommittedHist: r.comAll, IntervalLog: r.logBuf.Bytes(),
	}
	if cfg.Schedule != nil {
		sum.Schedule = cfg.Schedule.String()
	} else {
		sum.Mode, sum.ClosedK = "closed", cfg.Closed
	}
	sum.Counts.Offered = s.tr.dispatched.Load()
	if cfg.Schedule != nil {
		sum.Counts.Offered = dueBy(cfg.Schedule, elapsedNs)
		sum.Rates.OfferedPerS = float64(cfg.Schedule.Count()) / sum.TimedS
	}
	sum.Rates.SentPerS = float64(r.counts.Sent) / (float64(max(timedNs, r.lastSentNs)) / 1e9)
	sum.Rates.CommittedPerS = float64(r.counts.Committed) / (float64(max(timedNs, r.lastCommitNs)) / 1e9)
	sum.Little = r.little(elapsedNs)
	return sum
}
