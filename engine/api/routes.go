package api

import (
	"strings"
	"time"

	"github.com/valyala/fasthttp"

	"settle/engine/codes"
)

// handler serves one route. param is the path parameter ("" when the route has
// none). A non-nil error is written as the JSON error answer; it should be a
// *codes.Error (anything else is answered 500 internal).
type handler func(s *Server, ctx *fasthttp.RequestCtx, param string) error

// route is one entry of the routing table.
type route struct {
	name   string // metrics label
	method string // GET (HEAD too) or POST
	body   bodyKind
	h      handler
}

// Routes. Names are metrics labels: keep them stable.
var (
	routeSubmitTx    = &route{"submit_tx", fasthttp.MethodPost, bodySmall, (*Server).submitTx}
	routeSubmitBatch = &route{"submit_batch", fasthttp.MethodPost, bodyBatch, (*Server).submitBatch}
	routeTx          = &route{"tx", fasthttp.MethodGet, bodyNone, (*Server).getTx}
	routeAccount     = &route{"account", fasthttp.MethodGet, bodyNone, (*Server).getAccount}
	routeHistory     = &route{"history", fasthttp.MethodGet, bodyNone, (*Server).getHistory}
	routeQueue       = &route{"queue", fasthttp.MethodGet, bodyNone, (*Server).getQueue}
	routeBlock       = &route{"block", fasthttp.MethodGet, bodyNone, (*Server).getBlock}
	routeStatus      = &route{"status", fasthttp.MethodGet, bodyNone, (*Server).getStatus}
	routeEvents      = &route{"events", fasthttp.MethodGet, bodyNone, (*Server).getEvents}
	routeAdminConfig = &route{"admin_config", fasthttp.MethodGet, bodyNone, (*Server).getAdminConfig}
	routePartition   = &route{"admin_partition", fasthttp.MethodPost, bodySmall, (*Server).postPartition}
	routeMetrics     = &route{"metrics", fasthttp.MethodGet, bodyNone, (*Server).getMetrics}
	routePprof       = &route{"admin_pprof", fasthttp.MethodGet, bodyNone, (*Server).getPprof}
	routeHealthz     = &route{"healthz", fasthttp.MethodGet, bodyNone, (*Server).getHealthz}
	routeReadyz      = &route{"readyz", fasthttp.MethodGet, bodyNone, (*Server).getReadyz}
	routeReport      = &route{"report", fasthttp.MethodGet, bodyNone, (*Server).getReport}
	routeTxProof     = &route{"tx_proof", fasthttp.MethodGet, bodyNone, (*Server).getTxProof}
	routeAcctProof   = &route{"account_proof", fasthttp.MethodGet, bodyNone, (*Server).getAccountProof}
	routeNotFound    = &route{"not_found", "", bodyNone, nil}
)

// allRoutes lists every route, for metrics registration.
var allRoutes = []*route{routeSubmitTx, routeSubmitBatch, routeTx, routeAccount, routeHistory, routeQueue,
	routeBlock, routeStatus, routeEvents, routeReport, routeTxProof, routeAcctProof, routeAdminConfig, routePartition, routeMetrics, routePprof,
	routeHealthz, routeReadyz,
	routeNotFound}

// match finds the route of a path and its parameter. Parameters never contain
// '/': a path with more segments than its route is not found.
func match(path string) (*route, string) {
	switch path {
	case "/v1/tx":
		return routeSubmitTx, ""
	case "/v1/batch":
		return routeSubmitBatch, ""
	case "/v1/status":
		return routeStatus, ""
	case "/v1/events":
		return routeEvents, ""
	case "/v1/admin/config":
		return routeAdminConfig, ""
	case "/v1/admin/partition":
		return routePartition, ""
	case "/metrics":
		return routeMetrics, ""
	case "/healthz":
		return routeHealthz, ""
	case "/readyz":
		return routeReadyz, ""
	case "/v1/report":
		return routeReport, ""
	}
	if strings.HasPrefix(path, "/debug/pprof/") {
		return routePprof, ""
	}
	if p, ok := strings.CutPrefix(path, "/v1/proof/tx/"); ok {
		return param(routeTxProof, p)
	}
	if p, ok := strings.CutPrefix(path, "/v1/proof/account/"); ok {
		return param(routeAcctProof, p)
	}
	if p, ok := strings.CutPrefix(path, "/v1/tx/"); ok {
		return param(routeTx, p)
	}
	if p, ok := strings.CutPrefix(path, "/v1/block/"); ok {
		return param(routeBlock, p)
	}
	if p, ok := strings.CutPrefix(path, "/v1/account/"); ok {
		if a, ok := strings.CutSuffix(p, "/history"); ok {
			return param(routeHistory, a)
		}
		if a, ok := strings.CutSuffix(p, "/queue"); ok {
			return param(routeQueue, a)
		}
		return param(routeAccount, p)
	}
	return routeNotFound, ""
}

func param(r *route, p string) (*route, string) {
	if p == "" || strings.IndexByte(p, '/') >= 0 {
		return routeNotFound, ""
	}
	return r, p
}

// handle is the fasthttp entry point: route, check the method, run the handler,
// write its error, count.
func (s *Server) handle(ctx *fasthttp.RequestCtx) {
	start := time.Now()
	// string(ctx.Path()) would allocate; the route table only needs to compare, and
	// param strings are copied where a handler keeps them (it never does).
	r, p := match(unsafeString(ctx.Path()))
	code := s.serve(ctx, r, p)
	s.metrics.observe(r, code, start)
}

// serve runs one request and returns the code it answered ("ok" on success).
func (s *Server) serve(ctx *fasthttp.RequestCtx, r *route, p string) (code codes.Code) {
	defer func() {
		if v := recover(); v != nil {
			s.cfg.Logf("api: panic serving %s %s: %v", ctx.Method(), ctx.Path(), v)
			ctx.Response.Reset()
			code = s.writeError(ctx, codes.Errorf(codes.Internal, "internal error"))
		}
	}()
	if r == routeNotFound {
		return s.writeError(ctx, codes.Errorf(codes.NotFound, "no route %s", ctx.Path()))
	}
	m := unsafeString(ctx.Method())
	if m != r.method && !(r.method == fasthttp.MethodGet && m == fasthttp.MethodHead) {
		ctx.Response.Header.Set("Allow", r.method)
		err := codes.Errorf(codes.BadRequest, "method %s not allowed on %s, use %s", m, ctx.Path(), r.method)
		s.writeErrorStatus(ctx, err, fasthttp.StatusMethodNotAllowed)
		return codes.BadRequest
	}
	// The limit follows the routed endpoint and applies before the body is read
	// (body.go); a body without a Content-Length is bounded as it is read.
	if cl, limit := ctx.Request.Header.ContentLength(), s.bodyBytesMax(r); cl > limit {
		drainRefused(ctx)
		return s.writeError(ctx, tooLarge(cl, limit))
	}
	if err := r.h(s, ctx, p); err != nil {
		return s.writeError(ctx, err)
	}
	return codeOK
}

// codeOK labels successful answers in metrics.
const codeOK codes.Code = "ok"
