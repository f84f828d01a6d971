package cluster_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil/promlint"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"

	"settle/engine/api"
	"settle/engine/txn"
	"settle/internal/promtext"
)

// lazyFamilies appear only once something happened (a refusal, a drop, a
// read error): the others must all be served by a cluster member.
var lazyFamilies = map[string]bool{
	"settle_txs_rejected_total":         true,
	"settle_mempool_dropped_total":      true,
	"settle_api_read_errors_total":      true,
	"settle_api_batch_tx_results_total": true,
}

// TestMetricsExposition scrapes a live cluster member's /metrics: it must
// pass Prometheus's own lint (promtool check metrics runs the same code),
// parse as Prometheus text, carry the type internal/promtext lists for every
// settle_* family, give every histogram le buckets, and serve no settle_*
// family the list lacks.
func TestMetricsExposition(t *testing.T) {
	c := startInProcess(t, 4, 8, nil)
	n := c.nodes[0].n
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := api.New(api.Config{}, n)
	go srv.Serve(ln)
	defer srv.Shutdown(t.Context())
	base := "http://" + ln.Addr().String()

	tx := payment(t, 1, 5, 1, 10)
	errs := make([]error, 1)
	n.Submit(c.ctx, []*txn.Tx{tx, tx}[:1], errs)
	if errs[0] != nil {
		t.Fatal(errs[0])
	}
	n.Submit(c.ctx, []*txn.Tx{tx}, errs) // a duplicate: settle_txs_rejected_total
	waitUntil(t, "the payment commits", func() bool {
		st, err := n.Tx(tx.Hash())
		return err == nil && st.Committed
	})
	resp, err := http.Get(base + "/v1/status")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	resp, err = http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}

	problems, err := promlint.New(bytes.NewReader(body)).Lint()
	if err != nil {
		t.Fatalf("lint: %v", err)
	}
	for _, p := range problems {
		t.Errorf("promlint: %s: %s", p.Metric, p.Text)
	}
	var parser expfmt.TextParser
	fams, err := parser.TextToMetricFamilies(bytes.NewReader(body))
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	for name, mf := range fams {
		if !strings.HasPrefix(name, "settle_") {
			continue
		}
		f, ok := promtext.Lookup(name)
		if !ok {
			t.Errorf("%s is served but not listed in internal/promtext (nor in docs/operations.md)", name)
			continue
		}
		if got := strings.ToLower(mf.GetType().String()); got != f.Type {
			t.Errorf("%s: type %s, listed as %s", name, got, f.Type)
		}
		if mf.GetType() == dto.MetricType_HISTOGRAM {
			for _, m := range mf.GetMetric() {
				if len(m.GetHistogram().GetBucket()) == 0 {
					t.Errorf("%s: a histogram without le buckets", name)
				}
			}
		}
	}
	for _, f := range promtext.Families {
		if _, ok := fams[f.Name]; !ok && !lazyFamilies[f.Name] {
			t.Errorf("%s is listed but a cluster member does not serve it", f.Name)
		}
	}
	checkDashboard(t, fams)
}

// seriesName finds the metric names in a PromQL expression: identifiers of
// the families a validator serves (functions and labels are not prefixed so).
var seriesName = regexp.MustCompile(`\b(?:settle|process|go)_[a-z0-9_]+`)

// checkDashboard: every series the Grafana dashboard queries is served.
func checkDashboard(t *testing.T, fams map[string]*dto.MetricFamily) {
	raw, err := os.ReadFile("../../docs/grafana/settle.json")
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		Panels []struct {
			Title   string
			Targets []struct{ Expr string }
		}
	}
	if err := json.Unmarshal(raw, &d); err != nil {
		t.Fatalf("dashboard: %v", err)
	}
	queried := 0
	for _, p := range d.Panels {
		for _, tg := range p.Targets {
			for _, name := range seriesName.FindAllString(tg.Expr, -1) {
				queried++
				base := name
				for _, suf := range []string{"_bucket", "_sum", "_count"} {
					if b, ok := strings.CutSuffix(name, suf); ok && fams[b] != nil && fams[b].GetType() == dto.MetricType_HISTOGRAM {
						base = b
					}
				}
				if fams[base] == nil {
					t.Errorf("dashboard panel %q queries %s, which /metrics does not serve", p.Title, name)
				}
			}
		}
	}
	if queried == 0 {
		t.Fatal("the dashboard queries nothing")
	}
}
