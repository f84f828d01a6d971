package loadgen_test

import (
	"net/http/httptest"

	"settle/loadgen/fakenode"
)

func newServer(node *fakenode.Node) *httptest.Server { return httptest.NewServer(node.Handler()) }
