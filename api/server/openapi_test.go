package server

import (
	"context"
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/opendatafrance/moisson/api/status"
	"github.com/opendatafrance/moisson/api/web"
	"github.com/opendatafrance/moisson/indexer/index"
	moissonv1 "github.com/opendatafrance/moisson/proto/moisson/v1"
)

// emptyIndex answers every search with nothing.
type emptyIndex struct{}

func (emptyIndex) Search(context.Context, index.Query) (*index.Result, error) {
	return &index.Result{Facets: map[string][]index.FacetCount{}}, nil
}
func (emptyIndex) Get(context.Context, string) (*moissonv1.Dataset, error) {
	return nil, index.ErrNotFound
}
func (emptyIndex) Count(context.Context) (int64, error) { return 0, nil }

// registered is a route found in the source of this package.
type registered struct {
	pattern string
}

// routesInSource reads every route(...) and mux.Handle(...) registration of
// the package's .go files (the query parameters are checked against the
// running handlers by TestOpenAPIParametersAccepted). A registration whose
// pattern is not a string literal fails the test: it could not be checked.
func routesInSource(t *testing.T) []registered {
	t.Helper()
	fset := token.NewFileSet()
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	type reg struct {
		pattern string
	}
	var regs []reg
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		af, err := parser.ParseFile(fset, f, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(af, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok || len(call.Args) != 2 {
				return true
			}
			isRoute := false
			switch fn := call.Fun.(type) {
			case *ast.Ident:
				isRoute = fn.Name == "route"
			case *ast.SelectorExpr:
				if x, ok := fn.X.(*ast.Ident); ok && x.Name == "mux" && fn.Sel.Name == "Handle" {
					isRoute = true
				}
			}
			if !isRoute {
				return true
			}
			if _, ok := call.Args[0].(*ast.Ident); ok {
				return true // the route helper itself, passing its pattern on
			}
			lit, ok := call.Args[0].(*ast.BasicLit)
			if !ok || lit.Kind != token.STRING {
				t.Errorf("%s: a route registered with a pattern that is not a string literal cannot be checked against the OpenAPI document", fset.Position(call.Pos()))
				return true
			}
			p, _ := strconv.Unquote(lit.Value)
			regs = append(regs, reg{p})
			return true
		})
	}
	var out []registered
	for _, r := range regs {
		if r.pattern == "/" { // the catch-all 404
			continue
		}
		out = append(out, registered{pattern: r.pattern})
	}
	return out
}

// docOperation is one operation of the document.
type docOperation struct {
	Parameters []struct {
		Name, In string
		Schema   map[string]any
	} `json:"parameters"`
}

func loadDoc(t *testing.T) map[string]map[string]docOperation {
	t.Helper()
	var doc struct {
		OpenAPI string                             `json:"openapi"`
		Paths   map[string]map[string]docOperation `json:"paths"`
	}
	if err := json.Unmarshal(openAPIJSON, &doc); err != nil {
		t.Fatal(err)
	}
	if doc.OpenAPI != "3.1.0" {
		t.Fatalf("openapi = %q", doc.OpenAPI)
	}
	return doc.Paths
}

// webRoute tells whether a pattern is one of the web interface's pages
// (HTML, not part of the API document).
func webRoute(pattern string) bool {
	for _, p := range web.Routes {
		if p == pattern {
			return true
		}
	}
	return false
}

func TestOpenAPIMatchesRoutes(t *testing.T) {
	doc := loadDoc(t)
	routes := routesInSource(t)
	if len(routes) < 10 {
		t.Fatalf("found only %d routes in the source: the scan is broken", len(routes))
	}
	seen := map[string]bool{}
	for _, r := range routes {
		method, path, ok := strings.Cut(r.pattern, " ")
		if !ok {
			t.Errorf("route %q has no method", r.pattern)
			continue
		}
		seen[strings.ToLower(method)+" "+path] = true
		op, ok := doc[path][strings.ToLower(method)]
		if !ok {
			t.Errorf("route %s is not in the OpenAPI document", r.pattern)
			continue
		}
		// Path parameters.
		var want, got []string
		for _, seg := range strings.Split(path, "/") {
			if strings.HasPrefix(seg, "{") {
				want = append(want, strings.Trim(seg, "{}."))
			}
		}
		for _, p := range op.Parameters {
			if p.In == "path" {
				got = append(got, p.Name)
			}
		}
		sort.Strings(want)
		sort.Strings(got)
		if strings.Join(want, ",") != strings.Join(got, ",") {
			t.Errorf("%s: path parameters documented %v, want %v", r.pattern, got, want)
		}
	}
	for path, ops := range doc {
		for method := range ops {
			if !seen[method+" "+path] {
				t.Errorf("the OpenAPI document has %s %s, which no handler serves", strings.ToUpper(method), path)
			}
		}
	}
}

// exampleValue is a value a handler accepts for a documented parameter.
func exampleValue(schema map[string]any) string {
	if items, ok := schema["items"].(map[string]any); ok {
		schema = items
	}
	if e, ok := schema["examples"].([]any); ok && len(e) > 0 {
		return e[0].(string)
	}
	if e, ok := schema["enum"].([]any); ok && len(e) > 0 {
		return e[0].(string)
	}
	if schema["type"] == "integer" {
		return "1"
	}
	return "x"
}

// refuses tells whether an answer refuses the parameter name: a 400 whose
// message names it.
func refuses(rec *httptest.ResponseRecorder, name string) bool {
	if rec.Code != http.StatusBadRequest {
		return false
	}
	var e apiError
	_ = json.Unmarshal(rec.Body.Bytes(), &e)
	return regexp.MustCompile(`\b` + regexp.QuoteMeta(name) + `\b`).MatchString(e.Error.Message)
}

// TestOpenAPIParametersAccepted asks the running handlers, both ways: every
// documented query parameter is accepted (with a valid value), and every
// parameter a handler accepts — among all the parameter names the API
// knows — is documented. A handler that accepts any parameter at all is
// not asked the second way.
func TestOpenAPIParametersAccepted(t *testing.T) {
	s := &Server{Index: emptyIndex{}, Runs: status.New()}
	h := s.Handler()
	doc := loadDoc(t)
	// Every parameter name known anywhere, with a valid example value.
	known := map[string]string{}
	for k := range datasetParams {
		known[k] = "x"
	}
	for _, ops := range doc {
		for _, op := range ops {
			for _, p := range op.Parameters {
				if p.In == "query" {
					known[p.Name] = exampleValue(p.Schema)
				}
			}
		}
	}
	ask := func(method, path, name, value string) *httptest.ResponseRecorder {
		if name == "cursor" {
			value = s.sealCursor(value) // the only cursors the API takes
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(method, path+"?"+url.Values{name: {value}}.Encode(), nil))
		return rec
	}
	for path, ops := range doc {
		for method, op := range ops {
			if method != "get" {
				continue
			}
			p := path
			for _, seg := range strings.Split(path, "/") {
				if strings.HasPrefix(seg, "{") {
					p = strings.Replace(p, seg, "x", 1)
				}
			}
			documented := map[string]bool{}
			for _, par := range op.Parameters {
				if par.In != "query" {
					continue
				}
				documented[par.Name] = true
				if rec := ask("GET", p, par.Name, exampleValue(par.Schema)); refuses(rec, par.Name) {
					t.Errorf("GET %s: documented parameter %s refused: %s", path, par.Name, rec.Body.String())
				}
			}
			if !refuses(ask("GET", p, "not_a_parameter", "1"), "not_a_parameter") {
				if len(documented) > 0 {
					t.Errorf("GET %s accepts any parameter, but the document lists %v", path, documented)
				}
				continue
			}
			for name, value := range known {
				if !documented[name] && !refuses(ask("GET", p, name, value), name) {
					t.Errorf("GET %s accepts %s=%s, which the document does not list", path, name, value)
				}
			}
		}
	}
}

func TestOpenAPIServed(t *testing.T) {
	s := &Server{Index: emptyIndex{}, Runs: status.New()}
	srv := httptest.NewServer(s.Handler())
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		t.Fatalf("status %d, type %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	var v map[string]any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest("GET", srv.URL+"/openapi.json", nil)
	req.Header.Set("If-None-Match", resp.Header.Get("ETag"))
	resp2, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp2.Body.Close()
	if resp2.StatusCode != http.StatusNotModified {
		t.Errorf("If-None-Match with its ETag: status %d, want 304", resp2.StatusCode)
	}
	// Every $ref points at a schema that exists.
	schemas := v["components"].(map[string]any)["schemas"].(map[string]any)
	for _, m := range refsIn(v) {
		if _, ok := schemas[strings.TrimPrefix(m, "#/components/schemas/")]; !ok {
			t.Errorf("dangling $ref %s", m)
		}
	}
}

func refsIn(v any) []string {
	var out []string
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			if s, ok := e.(string); ok && k == "$ref" {
				out = append(out, s)
			}
			out = append(out, refsIn(e)...)
		}
	case []any:
		for _, e := range x {
			out = append(out, refsIn(e)...)
		}
	}
	return out
}
