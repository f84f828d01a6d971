package rtgsday

import "fmt"

// anomalies lists what the scenario's runs show that the mechanisms should
// never do. Each is a finding about the ledger (or this harness), reported
// as it is, not smoothed over:
//   - at f = 1 (the upper bound) a payment did not settle on arrival;
//   - an LSM mode settled less value than plain RTGS at the same level
//     (offsetting only adds settlements release would not find);
//   - a payment failed outright instead of settling or queueing;
//   - a mode did not settle the whole day at the upper bound.
func anomalies(r *Result) []string {
	var out []string
	plain := map[float64]RunSummary{}
	for _, s := range r.RunsOf(ModePlain().Name) {
		plain[s.Level] = s
	}
	for _, s := range r.Runs {
		if s.Level == 1 && (s.ImmediateShare != 1 || !s.SettledAll) {
			out = append(out, fmt.Sprintf("%s at f = 1: %.4f settled on arrival, %d unsettled (the upper bound settles every payment on arrival)",
				s.Mode, s.ImmediateShare, s.Unsettled))
		}
		if s.Failed > 0 { // the immediate mode's refusals are Rejected, not Failed
			out = append(out, fmt.Sprintf("%s at f = %.2f: %d payments failed outright (%v)", s.Mode, s.Level, s.Failed, s.FailCodes))
		}
		if p, ok := plain[s.Level]; ok && s.GridlockEveryBlocks > 0 && s.SettledValue < p.SettledValue {
			out = append(out, fmt.Sprintf("%s at f = %.2f settled %d, less than plain RTGS's %d", s.Mode, s.Level, s.SettledValue, p.SettledValue))
		}
	}
	for _, m := range r.Minimum {
		if !m.Found {
			out = append(out, fmt.Sprintf("%s did not settle the whole day even at the upper bound", m.Mode))
		}
	}
	return out
}
