// Package rtgsday simulates a business day of interbank payments on the real
// ledger and measures what the RTGS queue and its liquidity-saving mechanism
// (LSM, gridlock resolution by multilateral offsetting) do for settlement
// delay and the liquidity banks need.
//
// The day follows the payment-system simulation literature (Soramäki et al.
// 2007, "The topology of interbank payment flows"; Bech & Garratt 2003; the
// Bank of England's and the Bank of Finland's RTGS simulations): a scale-free
// network of banks, Poisson arrivals over the day, lognormal payment values,
// a share of urgent payments (loadgen/daymodel, which the rtgs-day loadgen
// mix shares). The liquidity each bank holds is set between the day's lower
// and upper bounds (daymodel.Bounds), and the day is replayed block by block
// on an in-process ledger: with immediate gross settlement (no queue), with
// plain RTGS queues (no offsetting) and with the LSM (run.go). Scenario sweeps the
// liquidity levels and bisects for the least liquidity that settles the whole
// day (scenario.go, search.go); Write puts report.md, result.json and the
// plots in a result directory (report.go, plots.go).
package rtgsday
