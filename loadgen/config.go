package loadgen

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"settle/engine/txn"
	"settle/internal/defaults"
)

// Routing of transactions to targets.
const (
	RouteSender     = "sender"      // by a hash of the sender: a sender's txs always use one connection
	RouteRoundRobin = "round-robin" // batch windows rotate over targets
)

// HTTP clients for batch submission.
const (
	ClientFastHTTP = "fasthttp"
	ClientNetHTTP  = "net/http"
)

// Config is one load run. Zero fields take the defaults of WithDefaults.
type Config struct {
	Targets []string // validators, "host:port", "http://host:port" or "https://host:port"
	ChainID string

	// Workload.
	Mix            string // a named mix (MixSpecFor: payments, multi-asset, conditional, interbank) instead of the payments workload; its accounts are demo accounts 0..spec.AccountCount()-1 of its genesis (MixGenesisFor)
	MixFinishLag   int    // with Mix: transactions between an escrow's create and its finish (0: the mix's 256); keep it above the transactions in flight, or finishes overtake their creates and fail
	Accounts       int    // demo accounts 0..Accounts-1 (DemoKey)
	Dist           string
	ZipfS          float64
	InterbankLarge int
	InterbankShare float64
	Seed           uint64
	AmountMin      uint64
	AmountMax      uint64
	Fee            uint64    // 0: the node's min_fee from /v1/status
	LastValid      uint64    // last valid height written into every transaction
	StartSeqs      []uint64  // next sequence per account; nil: read from the first target
	Workload       Workload  // overrides the payments workload when not nil (tests, new mixes)
	WorkloadKeys   []txn.Key // signing keys for Workload's signer indexes (default: demo keys)
	WorkloadCount  int       // closed loop: transactions to pre-sign (the run ends if they run out)
	Schedule       Schedule  // open loop; nil with Closed > 0
	Closed         int       // closed loop with this many transactions in flight; 0 = open loop
	ClosedDuration time.Duration

	// Transport.
	BatchWindow    time.Duration // open loop: how long due transactions gather into a batch
	BatchTxMax     int           // transactions per HTTP request at most
	Conns          int           // connections per target
	Route          string        // RouteSender or RouteRoundRobin
	Client         string        // ClientFastHTTP or ClientNetHTTP
	Compress       bool          // zstd request bodies
	RequestTimeout time.Duration
	// TLS is the client side of https:// targets: the CA that verifies the
	// validators (RootCAs) and a client certificate where they require one
	// (engine/tlsfiles.Client builds it from files). nil: the system roots, no
	// client certificate.
	TLS *tls.Config

	// Measurement.
	CommitTimeout time.Duration // a tx not committed this long after its intended time is timed out
	InFlightMax   int           // tracked transactions at most (bounds the hash map)
	LagP99Max     time.Duration // the run is invalid when the p99 dispatch lag exceeds this (default: batch window + 20 ms)

	// Caching and output.
	CacheDir string // "" with NoCache false: DefaultCacheDir()
	NoCache  bool

	Progress     func(Progress)       // called once a second during the timed phase and drain, from the recorder goroutine: return quickly
	SignProgress SignProgress         // called about once a second while signing
	Logf         func(string, ...any) // setup messages (cache hits, fees); nil: silent
}

// Defaults.
const (
	ChainIDDefault     = "settle-dev"
	BaseFeeDefault     = 10
	defaultLastValid   = 1 << 40
	InFlightMaxLimit   = 1 << 24
	BatchWindowMax     = time.Second
	defaultClosedCount = 100_000
)

// WithDefaults returns c with zero fields set to their defaults.
func (c Config) WithDefaults() Config {
	if c.ChainID == "" {
		c.ChainID = ChainIDDefault
	}
	defaults.Set(&c.Accounts, 1000)
	defaults.Set(&c.InterbankLarge, 4)
	defaults.Set(&c.BatchTxMax, 4096)
	defaults.Set(&c.Conns, 4)
	defaults.Set(&c.InFlightMax, 1<<20)
	if c.Closed > 0 {
		defaults.Set(&c.WorkloadCount, defaultClosedCount)
	}
	defaults.Set(&c.Dist, DistUniform)
	defaults.Set(&c.Route, RouteSender)
	defaults.Set(&c.Client, ClientFastHTTP)
	defaults.Set(&c.BatchWindow, 5*time.Millisecond)
	defaults.Set(&c.RequestTimeout, 10*time.Second)
	defaults.Set(&c.CommitTimeout, 30*time.Second)
	defaults.Set(&c.LagP99Max, c.BatchWindow+20*time.Millisecond)
	if c.ZipfS == 0 && c.Dist == DistZipf {
		c.ZipfS = 0.99
	}
	if c.InterbankShare == 0 {
		c.InterbankShare = 0.8
	}
	if c.AmountMin == 0 {
		c.AmountMin = 1
	}
	if c.AmountMax == 0 {
		c.AmountMax = max(c.AmountMin, 1000)
	}
	if c.LastValid == 0 {
		c.LastValid = defaultLastValid
	}
	if c.CacheDir == "" && !c.NoCache {
		c.CacheDir = DefaultCacheDir()
	}
	return c
}

// ErrConfig marks every validation error.
var ErrConfig = errors.New("invalid load configuration")

// Validate checks c (after WithDefaults) and explains the first problem in a sentence.
func (c Config) Validate() error {
	if err := c.validate(); err != nil {
		return fmt.Errorf("%w: %s", ErrConfig, err.Error())
	}
	return nil
}

func (c Config) validate() error {
	switch {
	case len(c.Targets) == 0:
		return errors.New("at least one target validator is needed")
	case len(c.ChainID) > txn.ChainIDLenMax:
		return fmt.Errorf("the chain id is longer than %d bytes", txn.ChainIDLenMax)
	case c.Mix != "" && c.Workload != nil:
		return errors.New("choose either a named mix or a custom workload, not both")
	case c.Mix != "" && !isMix(c.Mix):
		return fmt.Errorf("mix %q is not one of %s", c.Mix, strings.Join(MixNames(), ", "))
	case c.MixFinishLag < 0:
		return errors.New("the mix finish lag must not be negative")
	case c.Mix != "" && c.StartSeqs != nil:
		return errors.New("a named mix reads its starting sequences from the node")
	case c.Workload == nil && c.Accounts < 2:
		return fmt.Errorf("payments need at least 2 accounts, got %d", c.Accounts)
	case c.Workload == nil && c.Dist != DistUniform && c.Dist != DistZipf && c.Dist != DistInterbank:
		return fmt.Errorf("distribution %q is not one of uniform, zipf, interbank", c.Dist)
	case c.Workload == nil && c.ZipfS < 0:
		return fmt.Errorf("the Zipf exponent %g must not be negative", c.ZipfS)
	case c.Workload == nil && c.Dist == DistInterbank && (c.InterbankLarge < 1 || c.InterbankLarge >= c.Accounts || c.InterbankShare <= 0 || c.InterbankShare >= 1):
		return fmt.Errorf("the interbank mix needs 1 to %d large participants and a share between 0 and 1, got %d and %g", c.Accounts-1, c.InterbankLarge, c.InterbankShare)
	case c.AmountMin < 1 || c.AmountMax < c.AmountMin || c.AmountMax > txn.AmountMax:
		return fmt.Errorf("the amount range %d..%d must lie within 1..%d", c.AmountMin, c.AmountMax, uint64(txn.AmountMax))
	case c.StartSeqs != nil && c.Workload == nil && len(c.StartSeqs) != c.Accounts:
		return fmt.Errorf("%d starting sequences were given for %d accounts", len(c.StartSeqs), c.Accounts)
	case c.Closed < 0:
		return errors.New("the closed-loop concurrency must not be negative")
	case c.Closed > 0 && c.Schedule != nil:
		return errors.New("choose either a rate schedule (open loop) or a concurrency (closed loop), not both")
	case c.Closed == 0 && c.Schedule == nil:
		return errors.New("an open-loop run needs a rate schedule")
	case c.Closed > 0 && c.ClosedDuration <= 0:
		return errors.New("a closed-loop run needs a positive duration")
	case c.Closed > c.InFlightMax:
		return fmt.Errorf("the closed-loop concurrency %d exceeds the in-flight limit %d", c.Closed, c.InFlightMax)
	case c.InFlightMax < 1 || c.InFlightMax > InFlightMaxLimit:
		return fmt.Errorf("the in-flight limit must be 1 to %d", InFlightMaxLimit)
	case c.BatchWindow < 0 || c.BatchWindow > BatchWindowMax:
		return fmt.Errorf("the batch window must be between 0 and %v", BatchWindowMax)
	case c.BatchTxMax < 1 || c.BatchTxMax > txn.BatchTxMax:
		return fmt.Errorf("a batch must hold 1 to %d transactions", txn.BatchTxMax)
	case c.Conns < 1 || c.Conns > 1024:
		return fmt.Errorf("connections per target must be 1 to 1024, got %d", c.Conns)
	case c.Route != RouteSender && c.Route != RouteRoundRobin:
		return fmt.Errorf("routing %q is not %q or %q", c.Route, RouteSender, RouteRoundRobin)
	case c.Client != ClientFastHTTP && c.Client != ClientNetHTTP:
		return fmt.Errorf("HTTP client %q is not %q or %q", c.Client, ClientFastHTTP, ClientNetHTTP)
	case c.CommitTimeout <= 0 || c.RequestTimeout <= 0:
		return errors.New("timeouts must be positive")
	case c.LagP99Max <= c.BatchWindow:
		return fmt.Errorf("the dispatch lag limit %v must exceed the batch window %v, which delays dispatch by design", c.LagP99Max, c.BatchWindow)
	case c.Fee > txn.AmountMax:
		return fmt.Errorf("the fee %d exceeds the maximum amount", c.Fee)
	case c.Workload != nil && c.WorkloadKeys == nil:
		return errors.New("a custom workload needs its signing keys")
	}
	for _, t := range c.Targets {
		if _, err := parseTarget(t); err != nil {
			return err
		}
	}
	if n := c.txCount(); n < 1 || n > 1<<31-1 {
		return fmt.Errorf("the run would need %d transactions; the limit is %d", n, 1<<31-1)
	}
	return nil
}

func isMix(name string) bool {
	for _, m := range MixNames() {
		if m == name {
			return true
		}
	}
	return false
}

// txCount is the number of transactions to pre-sign.
func (c Config) txCount() int {
	if c.Closed > 0 {
		return c.WorkloadCount
	}
	return c.Schedule.Count()
}

// target is one validator's API.
type target struct {
	addr string // host:port
	tls  bool   // https
}

// base is the URL prefix of the target's API, "http://host:port" or "https://…".
func (t target) base() string {
	if t.tls {
		return "https://" + t.addr
	}
	return "http://" + t.addr
}

// parseTarget reads "host:port", "http://host:port[/]" or "https://host:port[/]".
func parseTarget(s string) (target, error) {
	t := target{addr: s}
	if rest, ok := strings.CutPrefix(s, "https://"); ok {
		t = target{addr: rest, tls: true}
	} else {
		t.addr = strings.TrimPrefix(s, "http://")
	}
	t.addr = strings.TrimSuffix(t.addr, "/")
	if _, _, err := net.SplitHostPort(t.addr); err != nil || strings.Contains(t.addr, "/") {
		return target{}, fmt.Errorf("target %q is not host:port, http://host:port or https://host:port", s)
	}
	return t, nil
}
