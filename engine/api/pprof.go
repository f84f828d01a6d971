package api

import (
	"github.com/valyala/fasthttp"
	"github.com/valyala/fasthttp/pprofhandler"
)

// getPprof serves Go's runtime profiles (/debug/pprof/...) to operators: the CPU
// profile of a validator under load is the first thing a performance engineer asks
// for. It needs the admin token like every operator endpoint.
func (s *Server) getPprof(ctx *fasthttp.RequestCtx, _ string) error {
	if err := s.authorize(ctx); err != nil {
		return err
	}
	pprofhandler.PprofHandler(ctx)
	return nil
}
