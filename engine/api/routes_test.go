package api

import (
	"slices"
	"testing"
)

// Every route match can return must be registered for metrics: observe indexes
// per-route histograms, and a missing one crashed the server on GET /v1/report.
func TestEveryMatchedRouteIsRegistered(t *testing.T) {
	paths := []string{"/v1/tx", "/v1/batch", "/v1/status", "/v1/events", "/v1/report",
		"/v1/admin/config", "/v1/admin/partition", "/debug/pprof/heap", "/metrics", "/healthz",
		"/readyz", "/v1/tx/ab", "/v1/block/1", "/v1/account/a", "/v1/account/a/history", "/v1/account/a/queue", "/nowhere"}
	for _, p := range paths {
		r, _ := match(p)
		if !slices.Contains(allRoutes, r) {
			t.Errorf("path %s routes to %q, which allRoutes does not list", p, r.name)
		}
	}
}
