package api

import (
	"bytes"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"

	"github.com/VictoriaMetrics/metrics"
	"github.com/valyala/fasthttp"

	"settle/engine/codes"
	"settle/internal/promtext"
)

// getMetrics serves /metrics in the Prometheus text format: the API's metrics,
// the process's and the default set's (metrics.WritePrometheus), then the
// Backend's, with the HELP and TYPE lines of internal/promtext.
func (s *Server) getMetrics(ctx *fasthttp.RequestCtx, _ string) error {
	ctx.Response.Header.SetContentType("text/plain; version=0.0.4; charset=utf-8")
	var b bytes.Buffer
	s.metrics.set.WritePrometheus(&b)
	metrics.WritePrometheus(&b, true)
	s.b.WriteMetrics(&b)
	return promtext.Write(ctx, b.Bytes())
}

func (s *Server) getHealthz(ctx *fasthttp.RequestCtx, _ string) error {
	return writeJSON(ctx, fasthttp.StatusOK, map[string]string{"status": "ok"})
}

func (s *Server) getReadyz(ctx *fasthttp.RequestCtx, _ string) error {
	if !s.b.Ready() {
		return codes.Errorf(codes.NotReady, "node is starting or catching up")
	}
	return writeJSON(ctx, fasthttp.StatusOK, map[string]any{"status": "ready", "height": s.b.Height()})
}

// adminConfig is the non-secret configuration served to operators.
type adminConfig struct {
	ChainID             string `json:"chain_id"`
	RequestBodyBytesMax int    `json:"max_request_body_bytes"`
	BatchBytesMax       int    `json:"max_batch_bytes"`
	BodyBytesInFlight   int    `json:"body_bytes_in_flight_max"`
	ZstdDecodesMax      int    `json:"zstd_decodes_max"`
	ReadTimeoutMs       int64  `json:"read_timeout_ms"`
	WriteTimeoutMs      int64  `json:"write_timeout_ms"`
	IdleTimeoutMs       int64  `json:"idle_timeout_ms"`
	IdleUnderPressureMs int64  `json:"idle_timeout_under_pressure_ms"`
	SubmitTimeoutMs     int64  `json:"submit_timeout_ms"`
	Concurrency         int    `json:"concurrency"`
	ConnsPerIPMax       int    `json:"conns_per_ip_max"`
	SubmitInFlightMax   int    `json:"submit_in_flight_max"`
	EventStreamsMax     int    `json:"event_streams_max"`
	EventPingIntervalMs int64  `json:"event_ping_interval_ms"`
	ProfileSecondsMax   int    `json:"profile_seconds_max"`
	RetryAfterMs        int64  `json:"retry_after_ms"`
}

func (s *Server) getAdminConfig(ctx *fasthttp.RequestCtx, _ string) error {
	if err := s.authorize(ctx); err != nil {
		return err
	}
	c := &s.cfg
	return writeJSON(ctx, fasthttp.StatusOK, &adminConfig{
		ChainID:             s.b.ChainID(),
		RequestBodyBytesMax: c.RequestBodyBytesMax,
		BatchBytesMax:       c.BatchBytesMax,
		BodyBytesInFlight:   c.BodyBytesInFlightMax,
		ZstdDecodesMax:      c.ZstdDecodesMax,
		ReadTimeoutMs:       c.ReadTimeout.Milliseconds(),
		WriteTimeoutMs:      c.WriteTimeout.Milliseconds(),
		IdleTimeoutMs:       c.IdleTimeout.Milliseconds(),
		IdleUnderPressureMs: c.IdleTimeoutUnderPressure.Milliseconds(),
		SubmitTimeoutMs:     c.SubmitTimeout.Milliseconds(),
		Concurrency:         c.Concurrency,
		ConnsPerIPMax:       c.ConnsPerIPMax,
		SubmitInFlightMax:   c.SubmitInFlightMax,
		EventStreamsMax:     c.EventStreamsMax,
		EventPingIntervalMs: c.EventPingInterval.Milliseconds(),
		ProfileSecondsMax:   c.ProfileSecondsMax,
		RetryAfterMs:        c.RetryAfter.Milliseconds(),
	})
}

// authorize checks "Authorization: Bearer <token>" against the configured token.
// Both sides are hashed first so that the comparison takes the same time whatever
// the length or content of the guess. An empty configured token refuses everyone.
func (s *Server) authorize(ctx *fasthttp.RequestCtx) error {
	h := ctx.Request.Header.Peek("Authorization")
	got, ok := bytes.CutPrefix(h, []byte("Bearer "))
	if s.cfg.AdminToken == "" || !ok || len(got) == 0 {
		ctx.Response.Header.Set("WWW-Authenticate", `Bearer realm="settle-admin"`)
		return codes.Errorf(codes.Unauthorized, "operator endpoint: send Authorization: Bearer <token>")
	}
	want := sha256.Sum256([]byte(s.cfg.AdminToken))
	have := sha256.Sum256(got)
	if subtle.ConstantTimeCompare(want[:], have[:]) != 1 {
		ctx.Response.Header.Set("WWW-Authenticate", `Bearer realm="settle-admin", error="invalid_token"`)
		return codes.Errorf(codes.Unauthorized, "operator token is not valid")
	}
	return nil
}

// postPartition serves POST /v1/admin/partition: a JSON list of validator indexes
// to cut this validator off from ([] heals). Fault injection for tests.
func (s *Server) postPartition(ctx *fasthttp.RequestCtx, _ string) error {
	if err := s.authorize(ctx); err != nil {
		return err
	}
	body, done, err := smallBody(ctx)
	if err != nil {
		return err
	}
	defer done()
	var peers []int
	if err := json.Unmarshal(body, &peers); err != nil {
		return codes.Errorf(codes.Malformed, "body must be a JSON list of validator indexes: %v", err)
	}
	if err := s.b.Partition(peers); err != nil {
		if codes.Of(err) != codes.Internal {
			return err
		}
		return codes.Errorf(codes.BadRequest, "%v", err)
	}
	return writeJSON(ctx, fasthttp.StatusOK, map[string]any{"blocked": peers})
}
