package testkit

import (
	"bytes"
	"io"
	"net/http"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"
)

// OpenAPI checks a real server's requests and answers against an OpenAPI
// document (docs/openapi.yaml): undocumented routes or status codes, fields
// the document lacks and wrongly typed values fail the test.
type OpenAPI struct {
	Doc    *openapi3.T
	router routers.Router
	seen   map[string]bool // "METHOD /path/{param}" of the operations called
}

// LoadOpenAPI loads and validates the document at path. Its servers are
// dropped, so that paths match on whatever address the test server has.
func LoadOpenAPI(t testing.TB, path string) *OpenAPI {
	t.Helper()
	doc, err := openapi3.NewLoader().LoadFromFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := doc.Validate(t.Context()); err != nil {
		t.Fatalf("%s is not a valid OpenAPI 3 document: %v", path, err)
	}
	doc.Servers = nil
	router, err := legacy.NewRouter(doc)
	if err != nil {
		t.Fatal(err)
	}
	return &OpenAPI{Doc: doc, router: router, seen: map[string]bool{}}
}

// Call sends req with body, checks that its route is documented, the request
// too when checkRequest is set (a request meant to be refused is invalid by
// design), and that the answer matches the document for its status. It
// returns the status and the answer's body.
func (o *OpenAPI) Call(t testing.TB, req *http.Request, body []byte, checkRequest bool) (int, []byte) {
	t.Helper()
	route, params, err := o.router.FindRoute(req)
	if err != nil {
		t.Fatalf("%s %s: not in the document: %v", req.Method, req.URL, err)
	}
	o.seen[route.Method+" "+route.Path] = true
	in := &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route,
		Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc}}
	if checkRequest {
		req.Body = io.NopCloser(bytes.NewReader(body))
		if err := openapi3filter.ValidateRequest(t.Context(), in); err != nil {
			t.Fatalf("%s %s: the request does not match the document: %v", req.Method, req.URL, err)
		}
	}
	req.Body = io.NopCloser(bytes.NewReader(body))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	out := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: resp.StatusCode,
		Header: resp.Header, Body: io.NopCloser(bytes.NewReader(got)),
		Options: &openapi3filter.Options{IncludeResponseStatus: true}}
	if err := openapi3filter.ValidateResponse(t.Context(), out); err != nil {
		t.Errorf("%s %s: the answer (%d) does not match the document: %v\n%s", req.Method, req.URL, resp.StatusCode, err, got)
	}
	return resp.StatusCode, got
}

// Unseen lists the documented operations ("METHOD /path") never called,
// except those on the paths in skip.
func (o *OpenAPI) Unseen(skip ...string) []string {
	var out []string
	for path, item := range o.Doc.Paths.Map() {
		skipped := false
		for _, s := range skip {
			skipped = skipped || s == path
		}
		for method := range item.Operations() {
			if !skipped && !o.seen[method+" "+path] {
				out = append(out, method+" "+path)
			}
		}
	}
	return out
}
