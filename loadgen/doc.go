// Package loadgen drives load against Settle validators and measures what they do
// with it. It generates payment workloads from a seed, signs every transaction
// before the timed phase (caching the signed set on disk), offers them open-loop on
// a schedule (constant, step or ramp) or closed-loop with K in flight, sends them in
// binary batches over a bounded pool of keep-alive connections, detects commits from
// one event stream per target, and records submit→accepted and submit→committed
// latency in HdrHistograms measured from each transaction's intended send time, so
// that coordinated omission cannot hide a stall.
//
// Run is the library entry point; cmd/loadgen is a thin command around it and the
// bench harness calls it in-process. docs/loadgen.md explains the method.
package loadgen
