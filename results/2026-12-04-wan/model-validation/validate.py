# Regenerates table.md: BENCH=path/to/bench python3 results/2026-12-04-wan/model-validation/validate.py
# (bench built from this commit: go build -o /tmp/bench ./cmd/bench).
import json, subprocess, sys, os, statistics
R = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # results/2026-12-04-wan
out = os.path.join(R, 'model-validation')
os.makedirs(out, exist_ok=True)
summ = json.load(open(os.path.join(R, 'summary.json')))
rows = []
def model(args, name):
    path = os.path.join(out, name + '.json')
    with open(path, 'w') as f:
        subprocess.run([os.environ.get('BENCH', 'bench'), 'model', '-quiet', '-json', '-no-search'] + args, stdout=f, check=True)
    return json.load(open(path))
for p in summ['points']:
    n, rtt, bw = p['validators'], p['rtt_ms'], p['bandwidth_mbit']
    tag = f"n{n}-rtt{rtt:g}-bw{'unl' if bw == 0 else int(bw)}"
    # the validators' measured CPU at saturation (sum over validators, mean over the run)
    sat = json.load(open(os.path.join(R, p['dirs'][0], 'summary.json')))
    cpu = sum(x['cpu_cores_mean'] for x in sat['nodes'])
    base = ['-n', str(n), '-rtt-ms', f"{rtt:g}", '-bandwidth-mbit', f"{bw:g}"]
    cal = ['-calibration', os.path.join(R, 'summary.json')]
    a = model(base + ['-machine-cores', '2'] + cal, tag + '-sat-calibrated')['points'][0]
    b = model(base + ['-machine-cores', '2'], tag + '-sat-reference')['points'][0]
    c = model(base + ['-machine-cores', '2', '-rate', f"{p['half_rate_per_s']:g}"] + cal, tag + '-half-calibrated')['points'][0]
    rows.append(dict(n=n, rtt=rtt, bw=bw, meas=p['saturation_per_s'], cpu=cpu, pa=a['saturation_per_s'], pb=b['saturation_per_s'],
                     bound=a.get('bound_by', ''), half=p['half_rate_per_s'], mp50=p['p50_ms'], mp99=p['p99_ms'],
                     pp50=c['at_load']['p50_ms'], pp99=c['at_load']['p99_ms']))
def err(pred, meas):
    return 100 * (pred - meas) / meas
lines = ['| validators | link cap | RTT ms | measured saturation tx/s | predicted (this run\'s calibration) | error | predicted (reference costs) | error | bound by (model) | half load tx/s | measured p50 / p99 ms | predicted p50 / p99 ms (same load) | p50 error |',
         '| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: | --- | --- | ---: |']
for r in rows:
    lines.append(f"| {r['n']} | {'unlimited' if r['bw'] == 0 else '%g Mbit/s' % r['bw']} | {r['rtt']:g} | {r['meas']:.0f} | {r['pa']:.0f} | {err(r['pa'], r['meas']):+.0f}% | {r['pb']:.0f} | {err(r['pb'], r['meas']):+.0f}% | {r['bound']} | {r['half']:.0f} | {r['mp50']:.0f} / {r['mp99']:.0f} | {r['pp50']:.0f} / {r['pp99']:.0f} | {err(r['pp50'], r['mp50']):+.0f}% |")
ea = [abs(err(r['pa'], r['meas'])) for r in rows]
eb = [abs(err(r['pb'], r['meas'])) for r in rows]
lines.append('')
ep = [abs(err(r['pp50'], r['mp50'])) for r in rows]
ep228 = [abs(err(r['pp50'], r['mp50'])) for r in rows if r['rtt'] == 228]
lines.append(f"Saturation, this run's calibration: median |error| {statistics.median(ea):.0f}%, {sum(e <= 25 for e in ea)} of {len(ea)} within ±25%, worst {max(ea):.0f}%. Reference costs: median |error| {statistics.median(eb):.0f}%, {sum(e <= 25 for e in eb)} of {len(eb)} within ±25%. Median submit→commit: median |error| {statistics.median(ep):.0f}% over all points, at 228 ms at most {max(ep228):.0f}%.")
open(os.path.join(out, 'table.md'), 'w').write('\n'.join(lines) + '\n')
print('\n'.join(lines))
