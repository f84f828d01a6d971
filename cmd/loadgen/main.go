// Command loadgen drives load against Settle validators and reports latency and
// throughput. It is a thin shell around package loadgen: flags → configuration →
// loadgen.Run. See docs/loadgen.md.
//
//	loadgen -targets 127.0.0.1:8080 -rate 5000 -duration 30s -out results/run1
//	loadgen -targets a:8080,b:8080 -schedule ramp:1000..20000@60s -dist zipf -zipf-s 1.1
//	loadgen -targets 127.0.0.1:8080 -closed 256 -duration 20s -count 500000
//	loadgen genesis -mix interbank -out interbank-genesis.json   (then: settled init -genesis interbank-genesis.json …)
//	loadgen -targets 127.0.0.1:8080 -mix interbank -rate 1000 -duration 20s
//	loadgen -targets https://node-a:7700 -tls-ca ca.pem -tls-cert bank.pem -tls-key bank-key.pem -rate 2000
//
// Exit status: 0 for a valid run (also one marked DEGRADED: refusals broke its
// senders' sequences), 3 for a run marked INVALID (the generator could not offer
// the load it promised), 2 for bad flags, 1 for any other failure.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime/pprof"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"settle/engine/tlsfiles"
	"settle/internal/cli"
	"settle/loadgen"
	"settle/loadgen/fakenode"
)

const (
	exitError   = 1
	exitUsage   = 2
	exitInvalid = 3
)

// options are the parsed flags, before they become a loadgen.Config.
type options struct {
	targets, chainID, dist, schedule, route, client, amount, out, cacheDir, mix string
	accounts, closed, count, batchMax, conns, inflightMax, large                int
	zipfS, share, rate                                                          float64
	seed, fee                                                                   uint64
	duration, window, timeout, lagMax                                           time.Duration
	noCache, compress, jsonOut, quiet, fake                                     bool
	cpuProfile                                                                  string
	tls                                                                         tlsfiles.Client
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 && args[0] == "genesis" {
		return runGenesis(args[1:], stdout, stderr)
	}
	if len(args) > 0 && args[0] == "version" {
		fmt.Fprintln(stdout, cli.Version("loadgen"))
		return 0
	}
	o, err := parseFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		return exitUsage
	}
	if o.cpuProfile != "" {
		stopProfile, err := startCPUProfile(o.cpuProfile)
		if err != nil {
			fmt.Fprintf(stderr, "loadgen: %v\n", err)
			return exitError
		}
		defer stopProfile()
	}
	if o.fake {
		addr, stopFake, err := startFakeNode(o.chainID)
		if err != nil {
			fmt.Fprintf(stderr, "loadgen: %v\n", err)
			return exitError
		}
		defer stopFake()
		o.targets = addr
	}
	cfg, err := o.config(stderr)
	if err != nil {
		fmt.Fprintf(stderr, "loadgen: %v\n", err)
		return exitUsage
	}
	sum, err := loadgen.Run(ctx, cfg)
	if sum == nil {
		fmt.Fprintf(stderr, "loadgen: %v\n", err)
		if errors.Is(err, loadgen.ErrConfig) {
			return exitUsage
		}
		return exitError
	}
	if err != nil {
		fmt.Fprintf(stderr, "loadgen: %v (partial results follow)\n", err)
	}
	if o.out != "" {
		if werr := loadgen.WriteOutputs(o.out, sum); werr != nil {
			fmt.Fprintf(stderr, "loadgen: %v\n", werr)
			return exitError
		}
	}
	report(stdout, sum, o)
	switch {
	case err != nil:
		return exitError
	case !sum.Valid:
		return exitInvalid
	}
	return 0
}

func parseFlags(args []string, stderr io.Writer) (*options, error) {
	o := &options{}
	fs := flag.NewFlagSet("loadgen", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.targets, "targets", "127.0.0.1:8080", "validators to load, host:port[,host:port…] (https://host:port for TLS)")
	fs.StringVar(&o.targets, "target", "127.0.0.1:8080", "alias of -targets")
	fs.StringVar(&o.chainID, "chain-id", loadgen.ChainIDDefault, "chain id (demo keys derive from it)")
	fs.IntVar(&o.accounts, "accounts", 1000, "demo accounts 0..N-1 that send and receive payments")
	fs.StringVar(&o.mix, "mix", "", "a named mix instead of -accounts/-dist payments: "+strings.Join(loadgen.MixNames(), ", ")+" (the node must run the mix's genesis: loadgen genesis -mix NAME)")
	fs.StringVar(&o.dist, "dist", loadgen.DistUniform, "sender/receiver distribution: uniform, zipf or interbank")
	fs.Float64Var(&o.zipfS, "zipf-s", 0.99, "Zipf exponent s (≥ 0) for -dist zipf")
	fs.IntVar(&o.large, "interbank-large", 4, "large participants in -dist interbank")
	fs.Float64Var(&o.share, "interbank-share", 0.8, "share of payments the large participants send and receive")
	fs.Float64Var(&o.rate, "rate", 1000, "open loop: constant offered rate in tx/s (ignored with -schedule)")
	fs.StringVar(&o.schedule, "schedule", "", `open loop: "constant:R", "step:R1,R2,…@STEP" or "ramp:FROM..TO@DUR"`)
	fs.DurationVar(&o.duration, "duration", 10*time.Second, "length of the timed phase (constant rate and closed loop)")
	fs.IntVar(&o.closed, "closed", 0, "closed loop with K transactions in flight (0: open loop)")
	fs.IntVar(&o.count, "count", 0, "closed loop: transactions to pre-sign (default 100000)")
	fs.DurationVar(&o.window, "batch-window", 5*time.Millisecond, "open loop: due transactions gather this long into a batch")
	fs.IntVar(&o.batchMax, "batch-max", 4096, "transactions per HTTP request at most")
	fs.IntVar(&o.conns, "conns", 4, "HTTP connections per target")
	fs.StringVar(&o.route, "route", loadgen.RouteSender, "target choice: sender (hash of the sender) or round-robin")
	fs.StringVar(&o.client, "http-client", loadgen.ClientFastHTTP, "HTTP client: fasthttp or net/http")
	fs.BoolVar(&o.compress, "compress", false, "zstd-compress batch bodies")
	fs.StringVar(&o.tls.CAFile, "tls-ca", "", "https targets: PEM CA bundle that verifies the validators (default: the system roots)")
	fs.StringVar(&o.tls.CertFile, "tls-cert", "", "https targets: client certificate (PEM), for validators that require one")
	fs.StringVar(&o.tls.KeyFile, "tls-key", "", "https targets: the client certificate's key (PEM, mode 0600)")
	fs.Uint64Var(&o.seed, "seed", 1, "workload random seed")
	fs.Uint64Var(&o.fee, "fee", 0, "fee per transaction in native minor units (0: the node's min_fee)")
	fs.StringVar(&o.amount, "amount", "1..1000", "payment amount in minor units: N or MIN..MAX")
	fs.DurationVar(&o.timeout, "timeout", 30*time.Second, "a transaction not committed this long after its intended time is timed out")
	fs.IntVar(&o.inflightMax, "inflight-max", 1<<20, "tracked transactions in flight at most")
	fs.DurationVar(&o.lagMax, "lag-max", 0, "the run is INVALID when the p99 dispatch lag exceeds this (default: batch window + 20ms)")
	fs.StringVar(&o.out, "out", "", "write summary.json, latency.hgrm, accepted.hgrm and intervals.hlog here")
	fs.StringVar(&o.cacheDir, "cache-dir", "", "signed-transaction cache (default $XDG_CACHE_HOME/settle-loadgen or ~/.cache/settle-loadgen)")
	fs.BoolVar(&o.noCache, "no-cache", false, "always sign afresh and do not write the cache")
	fs.BoolVar(&o.jsonOut, "json", false, "print the summary as JSON instead of text")
	fs.BoolVar(&o.quiet, "quiet", false, "no progress lines on stderr")
	fs.StringVar(&o.cpuProfile, "cpuprofile", "", "write a CPU profile of the whole run to this file")
	fs.BoolVar(&o.fake, "fake", false, "serve an in-process fake node that admits everything and load it instead of -targets (measures the generator itself)")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "loadgen: unexpected arguments %q\n", fs.Args())
		return nil, errors.New("arguments")
	}
	return o, nil
}

// config turns the options into a loadgen.Config; loadgen validates the rest.
func (o *options) config(stderr io.Writer) (loadgen.Config, error) {
	lo, hi, err := parseAmount(o.amount)
	if err != nil {
		return loadgen.Config{}, err
	}
	cfg := loadgen.Config{
		Targets: strings.Split(o.targets, ","), ChainID: o.chainID, Accounts: o.accounts, Mix: o.mix,
		Dist: o.dist, ZipfS: o.zipfS, InterbankLarge: o.large, InterbankShare: o.share,
		Seed: o.seed, AmountMin: lo, AmountMax: hi, Fee: o.fee,
		Closed: o.closed, ClosedDuration: o.duration, WorkloadCount: o.count,
		BatchWindow: o.window, BatchTxMax: o.batchMax, Conns: o.conns, Route: o.route,
		Client: o.client, Compress: o.compress, CommitTimeout: o.timeout,
		InFlightMax: o.inflightMax, LagP99Max: o.lagMax, CacheDir: o.cacheDir, NoCache: o.noCache,
	}
	if o.tls != (tlsfiles.Client{}) {
		if cfg.TLS, err = o.tls.Config(); err != nil {
			return cfg, err
		}
	}
	if o.closed == 0 {
		spec := o.schedule
		if spec == "" {
			spec = strconv.FormatFloat(o.rate, 'f', -1, 64)
		}
		if cfg.Schedule, err = loadgen.ParseSchedule(spec, o.duration); err != nil {
			return cfg, err
		}
	} else if o.schedule != "" {
		return cfg, errors.New("-schedule is for open loop; it cannot be combined with -closed")
	}
	logf := func(format string, args ...any) { fmt.Fprintf(stderr, "loadgen: "+format+"\n", args...) }
	cfg.Logf = logf
	if !o.quiet {
		cfg.Progress = func(p loadgen.Progress) { printProgress(stderr, p) }
		cfg.SignProgress = func(done, total int, elapsed time.Duration) {
			rate := float64(done) / max(elapsed.Seconds(), 1e-9)
			logf("signing %d/%d (%.0f%%) %.0f tx/s", done, total, 100*float64(done)/float64(max(total, 1)), rate)
		}
	}
	return cfg, nil
}

// runGenesis writes the genesis of a named mix: `loadgen genesis -mix NAME -out FILE`.
func runGenesis(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("loadgen genesis", flag.ContinueOnError)
	fs.SetOutput(stderr)
	mix := fs.String("mix", loadgen.MixInterbank, "mix: "+strings.Join(loadgen.MixNames(), ", "))
	chainID := fs.String("chain-id", loadgen.ChainIDDefault, "chain id (the demo keys derive from it)")
	baseFee := fs.Uint64("base-fee", loadgen.BaseFeeDefault, "base fee in native minor units")
	out := fs.String("out", "", "genesis file to write (- or empty: standard output)")
	if err := fs.Parse(args); errors.Is(err, flag.ErrHelp) {
		return 0
	} else if err != nil {
		return exitUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "loadgen genesis: unexpected arguments %q\n", fs.Args())
		return exitUsage
	}
	g, err := loadgen.MixGenesisFor(*mix, *chainID, *baseFee)
	if err != nil {
		fmt.Fprintf(stderr, "loadgen genesis: %v\n", err)
		return exitUsage
	}
	b, err := json.MarshalIndent(g, "", "  ")
	if err != nil {
		fmt.Fprintf(stderr, "loadgen genesis: %v\n", err)
		return exitError
	}
	b = append(b, '\n')
	if *out == "" || *out == "-" {
		stdout.Write(b)
		return 0
	}
	if err := os.WriteFile(*out, b, 0o644); err != nil {
		fmt.Fprintf(stderr, "loadgen genesis: %v\n", err)
		return exitError
	}
	fmt.Fprintf(stderr, "loadgen genesis: mix %s, chain %s, %d accounts, assets %d: wrote %s\n", *mix, g.ChainID, len(g.Accounts), len(g.Assets), *out)
	return 0
}

// startFakeNode serves loadgen/fakenode on a free loopback port.
func startFakeNode(chainID string) (addr string, stop func(), err error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, fmt.Errorf("fake node: %w", err)
	}
	node := fakenode.New(fakenode.Config{ChainID: chainID})
	srv := &http.Server{Handler: node.Handler(), ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(ln)
	return ln.Addr().String(), func() {
		srv.Close()
		node.Close()
	}, nil
}

func startCPUProfile(path string) (stop func(), err error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("cpu profile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("cpu profile: %w", err)
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}, nil
}

// parseAmount reads "N" or "MIN..MAX".
func parseAmount(s string) (lo, hi uint64, err error) {
	a, b, isRange := strings.Cut(s, "..")
	if !isRange {
		b = a
	}
	lo, err1 := strconv.ParseUint(a, 10, 64)
	hi, err2 := strconv.ParseUint(b, 10, 64)
	if err1 != nil || err2 != nil || lo == 0 || hi < lo {
		return 0, 0, fmt.Errorf("-amount %q must be a positive integer N or a range MIN..MAX", s)
	}
	return lo, hi, nil
}

func printProgress(w io.Writer, p loadgen.Progress) {
	fmt.Fprintf(w, "[%5.0fs] offered %d sent %d committed %d (%.0f/s) rejected %d timed-out %d in-flight %d p99 %s\n",
		p.Elapsed.Seconds(), p.Offered, p.Sent, p.Committed, p.CommittedPerS, p.Rejected, p.TimedOut, p.InFlight,
		p.CommitP99.Round(100*time.Microsecond))
}

func report(w io.Writer, s *loadgen.Summary, o *options) {
	if o.jsonOut {
		b, _ := json.MarshalIndent(s, "", "  ") // plain fields: cannot fail
		w.Write(append(b, '\n'))
		return
	}
	verdict := "VALID"
	switch {
	case !s.Valid:
		verdict = "INVALID: " + strings.Join(s.InvalidReasons, "; ")
	case s.Degraded:
		verdict = "DEGRADED (the figures hold for the load that arrived): " + strings.Join(s.DegradedReasons, "; ")
	}
	mode := s.Schedule
	if s.Mode == "closed" {
		mode = fmt.Sprintf("closed loop, K=%d", s.ClosedK)
	}
	c := s.Counts
	fmt.Fprintf(w, "run: %s, %s, %d accounts, %s over %d target(s)\n", mode, s.Workload, s.Accounts, s.Client, len(s.Targets))
	fmt.Fprintf(w, "result: %s\n", verdict)
	queued := ""
	if c.Queued > 0 {
		queued = fmt.Sprintf(" (of which queued %d)", c.Queued)
	}
	fmt.Fprintf(w, "counts: offered %d sent %d accepted %d rejected %d%s committed %d%s failed %d%s timed-out %d\n",
		c.Offered, c.Sent, c.Accepted, c.Rejected, byCode(c.RejectedByCode), c.Committed, queued, c.Failed, byCode(c.FailedByCode), c.TimedOut)
	fmt.Fprintf(w, "rates: offered %.0f/s sent %.0f/s committed %.0f/s\n", s.Rates.OfferedPerS, s.Rates.SentPerS, s.Rates.CommittedPerS)
	for _, l := range []struct {
		name string
		st   loadgen.LatencyStats
	}{{"submit→committed", s.Committed}, {"submit→accepted", s.Accepted}, {"dispatch lag", s.DispatchLag}, {"send lag", s.SendLag}} {
		fmt.Fprintf(w, "%-17s p50 %8.2f  p90 %8.2f  p99 %8.2f  p99.9 %8.2f  max %8.2f ms\n",
			l.name, l.st.P50Ms, l.st.P90Ms, l.st.P99Ms, l.st.P999Ms, l.st.MaxMs)
	}
	lt := s.Little
	fmt.Fprintf(w, "little's law: mean in flight %.1f vs throughput %.0f/s × mean latency %.4f s = %.1f (ratio %.2f)\n",
		lt.MeanInFlight, lt.ThroughputPerS, lt.MeanLatencyS, lt.PredictedInFlight, lt.Ratio)
	if o.out != "" {
		fmt.Fprintf(w, "outputs: %s\n", o.out)
	}
}

func byCode(m map[string]int64) string {
	if len(m) == 0 {
		return ""
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s=%d", k, m[k])
	}
	return " (" + strings.Join(parts, " ") + ")"
}
