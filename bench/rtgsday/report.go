package rtgsday

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"

	"settle/engine/ledger"
)

// File names inside the result directory.
const (
	FileReport = "report.md"
	FileResult = "result.json"
)

// Write puts result.json, report.md and the plots into dir; command is the
// command line the report says produced it.
func Write(dir, command string, r *Result) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("result directory: %w", err)
	}
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return fmt.Errorf("encode result: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, FileResult), append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("write result: %w", err)
	}
	if err := writePlots(dir, r); err != nil {
		return fmt.Errorf("plots: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, FileReport), []byte(r.Markdown(command)), 0o644); err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	return nil
}

// Markdown renders the report.
func (r *Result) Markdown(command string) string {
	var w strings.Builder
	p, d := r.Params, r.Day
	fmt.Fprintf(&w, "# RTGS business day: queued payments and the liquidity-saving mechanism\n\n")
	fmt.Fprintf(&w, "A simulated day of %s interbank payments among %d banks over %s blocks (+%d end-of-day blocks), "+
		"replayed on the in-process ledger (`engine/ledger`) as `queued_payment` transactions, "+
		"plain RTGS (FIFO queues, release when funds arrive) against gridlock resolution (the LSM). "+
		"The model and the method are in `bench/rtgsday` (package comment).\n\n", minor(uint64(d.Payments)), p.Banks, minor(uint64(p.Blocks)), r.EndBlocks)
	if command != "" {
		fmt.Fprintf(&w, "    %s\n\n", command)
	}
	r.writeHeadline(&w)
	r.writeMinimum(&w)
	r.writeSweeps(&w)
	r.writeSeeds(&w)
	r.writeModel(&w)
	r.writeBanks(&w)
	r.writeMachine(&w)
	r.writeDefinitions(&w)
	return w.String()
}

func (r *Result) writeHeadline(w *strings.Builder) {
	fmt.Fprintf(w, "## Results\n\n")
	for _, s := range r.Savings {
		fmt.Fprintf(w, "- **Liquidity saving of %s: %.1f%% against immediate gross settlement** (no queue: a payment without funds fails), "+
			"and %.1f%% of plain RTGS's minimum with queues but no offsetting (%.1f%% of the upper bound).\n",
			s.Mode, 100*s.VsImmediate, 100*s.Saving, 100*s.SavingOfUB)
	}
	for _, m := range r.Minimum {
		if !m.Found {
			fmt.Fprintf(w, "- %s: **no level settled the whole day**, not even the upper bound (a defect: f = 1 must).\n", m.Mode)
			continue
		}
		fmt.Fprintf(w, "- %s settles the whole day from f = %.4f: %s = %.1f%% of the upper bound; there, mean delay %.2f blocks, p99 %.0f.\n",
			m.Mode, m.Level, minor(m.LiquidityMinor), 100*m.ShareOfUB, m.At.DelayMeanBlocks, m.At.DelayP99Blocks)
	}
	if len(r.Anomalies) == 0 {
		fmt.Fprintf(w, "- Checks: every payment settled on arrival at f = 1 in every mode, no LSM mode settled less value than plain RTGS at any level, no payment failed outright.\n")
	}
	for _, a := range r.Anomalies {
		fmt.Fprintf(w, "- **Anomaly:** %s.\n", a)
	}
	peak := 0
	for _, s := range r.Runs {
		peak = max(peak, s.QueuePeak)
	}
	d := ledger.QueueDefaults()
	attempts := d.ReleaseAttemptsMax
	if r.ReleaseAttemptsMax != 0 {
		attempts = r.ReleaseAttemptsMax
	}
	fmt.Fprintf(w, "- The longest queue at the end of any block of the sweep held %d payments; gridlock resolution considers the first %d", peak, d.GridlockEntriesMax)
	if peak <= d.GridlockEntriesMax {
		fmt.Fprintf(w, ", so it always saw the whole queue")
	} else {
		fmt.Fprintf(w, ": **the bound hid part of the queue from it**")
	}
	fmt.Fprintf(w, ". Release stops after %d attempts per block (a cascade may try an entry more than once).\n", attempts)
	fmt.Fprintf(w, "\nPlots: [%s](%s) (mean and p99 delay), [%s](%s), [%s](%s).\n\n", PlotDelay, PlotDelay, PlotSettled, PlotSettled, PlotExecute, PlotExecute)
}

func (r *Result) writeMinimum(w *strings.Builder) {
	fmt.Fprintf(w, "## Liquidity bounds and the minimum that settles the day\n\n")
	fmt.Fprintf(w, "| | total liquidity | share of upper bound |\n| --- | ---: | ---: |\n")
	fmt.Fprintf(w, "| upper bound (settle everything on arrival) | %s | 100%% |\n", minor(r.UpperTotalMinor))
	fmt.Fprintf(w, "| lower bound (end-of-day multilateral net debits) | %s | %.1f%% |\n", minor(r.LowerTotalMinor), pct(r.LowerTotalMinor, r.UpperTotalMinor))
	for _, m := range r.Minimum {
		if m.Found {
			fmt.Fprintf(w, "| minimum, %s (f = %.4f) | %s | %.1f%% |\n", m.Mode, m.Level, minor(m.LiquidityMinor), 100*m.ShareOfUB)
		}
	}
	fmt.Fprintf(w, "\nThe day's value is %s; the upper bound is %.1f%% of it.\n\n", minor(r.Day.ValueMinor), pct(r.UpperTotalMinor, r.Day.ValueMinor))
	fmt.Fprintf(w, "The minimum is bisected over f to %.4f, starting from the sweep's bracket", r.SearchTolerance)
	for _, m := range r.Minimum {
		below := "none"
		if m.Below >= 0 {
			below = fmt.Sprintf("%.4f", m.Below)
		}
		fmt.Fprintf(w, "; %s: %d extra runs, highest failing level %s", m.Mode, m.SearchRuns, below)
		if len(m.NonMonotone) > 0 {
			fmt.Fprintf(w, " (**not monotone**: swept levels %v above it left payments unsettled)", m.NonMonotone)
		}
	}
	fmt.Fprintf(w, ".\n\n")
}

func (r *Result) writeSweeps(w *strings.Builder) {
	fmt.Fprintf(w, "## Every mode at every level\n\n")
	for _, m := range r.Modes {
		desc := "plain RTGS: FIFO queues, release at the end of each block, no offsetting"
		if m.Immediate {
			desc = "immediate gross settlement: plain payments, no queue; a payment without funds fails and never settles"
		} else if m.GridlockEveryBlocks > 0 {
			desc = fmt.Sprintf("gridlock resolution at the end of every %d block(s), after release", m.GridlockEveryBlocks)
		}
		fmt.Fprintf(w, "### %s (%s)\n\n", m.Name, desc)
		fmt.Fprintf(w, "| f | liquidity (of UB) | value settled | within day | unsettled | immediate | released | offset | "+
			"mean delay | p99 delay | value-wtd delay | queue peak | Execute median / p99 / max (µs) |\n")
		fmt.Fprintf(w, "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n")
		for _, s := range r.RunsOf(m.Name) {
			fmt.Fprintf(w, "| %.2f | %.1f%% | %.2f%% | %.2f%% | %d | %.1f%% | %.1f%% | %.1f%% | %.2f | %.0f | %.2f | %d | %.0f / %.0f / %.0f |\n",
				s.Level, 100*s.LiquidityShareOfUB, 100*s.SettledShare, 100*s.SettledInDayShare, s.Unsettled,
				100*s.ImmediateShare, 100*s.ReleasedShare, 100*s.OffsetShare, s.DelayMeanBlocks, s.DelayP99Blocks,
				s.DelayValueMeanBlocks, s.QueuePeak, s.ExecuteMedianUs, s.ExecuteP99Us, s.ExecuteMaxUs)
		}
		var failed int
		for _, s := range r.RunsOf(m.Name) {
			failed += s.Failed
		}
		if failed > 0 {
			fmt.Fprintf(w, "\n**%d payments failed outright** (neither settled nor queued) across this mode's runs; result.json has the codes.\n", failed)
		}
		fmt.Fprintf(w, "\n")
	}
}

func (r *Result) writeSeeds(w *strings.Builder) {
	if len(r.Seeds) == 0 {
		return
	}
	fmt.Fprintf(w, "## The same model, %d seeds\n\n", len(r.Seeds))
	fmt.Fprintf(w, "Every seed is another day of the same parameters. Each mode is swept at f = %v and bisected as above; "+
		"the delays are at f = %.2f (over the payments settled there). The first row is the day above, recomputed "+
		"from another bracket, so its minimum agrees to the tolerance.\n\n", seedLevels, SeedRefLevel)
	for _, sp := range r.SavingSpreads {
		fmt.Fprintf(w, "- **%s saves a median %.1f%% against immediate gross settlement** over %d seeds (range %.1f%% to %.1f%%), "+
			"and a median %.1f%% of plain RTGS's minimum liquidity (range %.1f%% to %.1f%%)",
			sp.Mode, 100*sp.MedianVsImmediate, sp.Seeds, 100*sp.MinVsImmediate, 100*sp.MaxVsImmediate, 100*sp.Median, 100*sp.Min, 100*sp.Max)
		if sp.Zero > 0 {
			fmt.Fprintf(w, "; nothing on %d of them, where plain RTGS already settled the day at the lower bound", sp.Zero)
		}
		fmt.Fprintf(w, ".\n")
	}
	fmt.Fprintf(w, "\n| seed | payments | lower / upper |")
	for _, m := range r.Modes {
		fmt.Fprintf(w, " %s: minimum f (of UB) | settled at f = 0 | mean / p99 delay at f = %.2f |", m.Name, SeedRefLevel)
	}
	var lsm []string
	for _, m := range r.Modes[1:] {
		if !m.Immediate {
			lsm = append(lsm, m.Name)
		}
	}
	fmt.Fprintf(w, " saving (%s) |\n| ---: | ---: | ---: |%s ---: |\n", strings.Join(lsm, ", "), strings.Repeat(" ---: | ---: | ---: |", len(r.Modes)))
	for _, sr := range r.Seeds {
		fmt.Fprintf(w, "| %d | %d | %.1f%% |", sr.Seed, sr.Payments, pct(sr.LowerTotalMinor, sr.UpperTotalMinor))
		for _, f := range sr.Modes {
			min := "none"
			if f.MinimumLevel >= 0 {
				min = fmt.Sprintf("%.4f (%.1f%%)", f.MinimumLevel, 100*f.MinimumShareOfUB)
			}
			unsettled := ""
			if f.UnsettledAtRef > 0 {
				unsettled = fmt.Sprintf(", %d unsettled", f.UnsettledAtRef)
			}
			fmt.Fprintf(w, " %s | %.2f%% | %.2f / %.0f%s |", min, 100*f.SettledShareAtF0, f.DelayMeanAtRef, f.DelayP99AtRef, unsettled)
		}
		var sv []string
		for _, s := range sr.Savings {
			sv = append(sv, fmt.Sprintf("%.1f%%", 100*s.Saving))
		}
		fmt.Fprintf(w, " %s |\n", strings.Join(sv, ", "))
	}
	fmt.Fprintf(w, "\n")
}

func (r *Result) writeModel(w *strings.Builder) {
	p, d := r.Params, r.Day
	fmt.Fprintf(w, "## The day\n\n")
	fmt.Fprintf(w, "| parameter | value |\n| --- | --- |\n")
	rows := [][2]string{
		{"banks", fmt.Sprint(p.Banks)},
		{"blocks (business day)", fmt.Sprintf("%d, then %d end-of-day blocks with no new payments", p.Blocks, r.EndBlocks)},
		{"seed", fmt.Sprint(p.Seed)},
		{"network", fmt.Sprintf("Barabási–Albert, m = %d links per joining bank; each edge two directed links weighted degree × degree × lognormal(0, %.2f)", p.LinksPerBank, p.LinkWeightSigma)},
		{"arrivals", fmt.Sprintf("Poisson per block, %d expected in the day, profile %q", p.PaymentsPerDay, p.Profile)},
		{"values", fmt.Sprintf("lognormal, median %s (μ = ln median = %.2f), σ = %.2f", minorF(p.ValueMedianMinor), logOf(p.ValueMedianMinor), p.ValueSigma)},
		{"urgent share", fmt.Sprintf("%.0f%%", 100*p.UrgentShare)},
		{"queue_until", "the run's last block, for every payment; last_valid its arrival block"},
		{"queue bounds", r.queueBounds()},
		{"state tree", map[bool]string{true: "maintained", false: "off (DisableStateRoot): Execute times the execution and the queue"}[r.StateRoot]},
	}
	for _, row := range rows {
		fmt.Fprintf(w, "| %s | %s |\n", row[0], row[1])
	}
	fmt.Fprintf(w, "\n| generated day | value |\n| --- | --- |\n")
	rows = [][2]string{
		{"payments", fmt.Sprintf("%d (%.1f per block on average, %d in the busiest block)", d.Payments, d.PaymentsPerBlockMean, d.PaymentsPerBlockPeak)},
		{"value", minor(d.ValueMinor)},
		{"value median / mean / p99", fmt.Sprintf("%s / %s / %s", minorF(d.ValueMedianMinor), minorF(d.ValueMeanMinor), minorF(d.ValueP99Minor))},
		{"ln(value): mean, sd", fmt.Sprintf("%.3f, %.3f", d.LogValueMean, d.LogValueSD)},
		{"urgent", fmt.Sprintf("%.2f%%", 100*d.UrgentShare)},
		{"directed links", fmt.Sprint(d.Links)},
		{"degree min / median / max", fmt.Sprintf("%d / %d / %d", d.DegreeMin, d.DegreeMedian, d.DegreeMax)},
		{"value sent by the top tenth of banks", fmt.Sprintf("%.1f%%", 100*d.TopTenthValueShare)},
	}
	for _, row := range rows {
		fmt.Fprintf(w, "| %s | %s |\n", row[0], row[1])
	}
	fmt.Fprintf(w, "\n")
}

func (r *Result) writeBanks(w *strings.Builder) {
	n := min(10, len(r.Banks))
	fmt.Fprintf(w, "## The %d largest senders\n\n", n)
	fmt.Fprintf(w, "| bank | degree | payments sent | value sent | value received | upper bound | lower bound |\n")
	fmt.Fprintf(w, "| ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n")
	for _, b := range r.Banks[:n] {
		fmt.Fprintf(w, "| %d | %d | %d | %s | %s | %s | %s |\n", b.Bank, b.Degree, b.Sent, minor(b.SentMinor),
			minor(b.ReceivedMinor), minor(b.UpperMinor), minor(b.LowerMinor))
	}
	fmt.Fprintf(w, "\n")
}

func (r *Result) writeMachine(w *strings.Builder) {
	fmt.Fprintf(w, "## Machine\n\n")
	if m := r.Machine; m != nil {
		dirty := ""
		if m.GitDirty {
			dirty = " (uncommitted changes)"
		}
		fmt.Fprintf(w, "%s, %d logical CPUs, %.1f GiB, %s %s, %s; commit %s%s; load average at start %s; measured %s. ",
			m.CPUModel, m.Cores, m.MemoryGiB, m.OS, m.Kernel, m.GoVersion, shortCommit(m.GitCommit), dirty, m.LoadAvg, m.MeasuredAt)
	}
	fmt.Fprintf(w, "The scenario took %.1f s; the runs are sequential, one ledger at a time.\n\n", r.ElapsedS)
}

func (r *Result) writeDefinitions(w *strings.Builder) {
	fmt.Fprintf(w, "## Definitions\n\n")
	for _, line := range []string{
		"**Upper bound** of a bank: the largest cumulative net outflow over every prefix of the day in submission order (payment by payment, as Execute runs a block's transactions in order): with it every payment settles on arrival.",
		"**Lower bound**: max(0, sent − received) over the day, the end-of-day multilateral net debit: no mechanism settles the day with less.",
		"**Level f**: every bank opens with lower + f × (upper − lower) of the settlement asset (EUR issued by a central-bank account; fees are paid in the native unit, of which every bank has plenty). f = 0 is the theoretical minimum of complete multilateral netting, f = 1 immediate settlement.",
		"**Delay** of a settled payment: the height it settled at minus the height it was submitted at, in blocks; immediate settlement is 0, and so is a release at the end of its own block. Unsettled payments have no delay and count under unsettled.",
		"**Immediate**: the receipt said success; **released**: settled from the queue at the end of a block (QueueReleased); **offset**: settled by gridlock resolution (QueueOffset); **unsettled**: expired at the end of the last block (QueueExpired) or failed.",
		"**Within day**: value settled by the day's last block, before the end-of-day blocks.",
		"**Execute**: wall time of `Ledger.Execute` per block over the whole run, end-of-day blocks included.",
	} {
		fmt.Fprintf(w, "- %s\n", line)
	}
}

// queueBounds describes the genesis queue's bounds as the runs had them.
func (r *Result) queueBounds() string {
	d := ledger.QueueDefaults()
	pick := func(v, def int) int {
		if v == 0 {
			return def
		}
		return v
	}
	return fmt.Sprintf("gridlock resolution over the first %d entries in queue order, at most %d passes of partial optimisation; "+
		"at most %d release attempts per block (ledger defaults but where -gridlock-rounds or -release-attempts said otherwise)",
		d.GridlockEntriesMax, pick(r.GridlockRoundsMax, d.GridlockRoundsMax), pick(r.ReleaseAttemptsMax, d.ReleaseAttemptsMax))
}

// minor formats minor units with thousands separators.
func minor(v uint64) string {
	s := fmt.Sprint(v)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

func minorF(v float64) string { return minor(uint64(v + 0.5)) }

func pct(a, b uint64) float64 {
	if b == 0 {
		return 0
	}
	return 100 * float64(a) / float64(b)
}

func shortCommit(c string) string {
	if len(c) > 7 {
		return c[:7]
	}
	return c
}

func logOf(v float64) float64 { return math.Log(v) }
