package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestDiscoverCmd(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/":
			w.Header().Set("Content-Type", "text/html")
			w.Write([]byte(`<html><head><meta name="generator" content="ckan 2.11.1">
<link rel="alternate" type="text/turtle" href="/catalog.ttl">
<script type="application/ld+json">{"@context": "https://schema.org", "@type": "Dataset", "name": "Budget", "identifier": "budget", "license": "ODbL"}</script>
</head><body></body></html>`))
		case "/api/3/action/status_show":
			w.Write([]byte(`{"success": true, "result": {"ckan_version": "2.11.1"}}`))
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	var out, errb strings.Builder
	if code := discoverCmd([]string{"--allow-private", srv.URL + "/"}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	var res struct {
		Software  []string `json:"software"`
		Endpoints []struct {
			Protocol, URL string
			OK            bool
		} `json:"endpoints"`
		Datasets []struct {
			Title   string                      `json:"title"`
			License struct{ Normalized string } `json:"license"`
		} `json:"datasets"`
	}
	if err := json.Unmarshal([]byte(out.String()), &res); err != nil {
		t.Fatalf("output is not JSON: %v\n%s", err, out.String())
	}
	if len(res.Software) == 0 || res.Software[0] != "ckan" || len(res.Datasets) != 1 || res.Datasets[0].Title != "Budget" ||
		res.Datasets[0].License.Normalized != "odbl-1.0" {
		t.Errorf("result %+v", res)
	}
	okCKAN := false
	for _, e := range res.Endpoints {
		okCKAN = okCKAN || (e.OK && e.Protocol == "ckan" && e.URL == srv.URL+"/api/3/action")
	}
	if !okCKAN {
		t.Errorf("CKAN endpoint missing: %+v", res.Endpoints)
	}
	// Without --allow-private a loopback address is refused, clearly.
	out.Reset()
	errb.Reset()
	if code := discoverCmd([]string{srv.URL + "/"}, &out, &errb); code == 0 || !strings.Contains(errb.String(), "private") {
		t.Errorf("exit %d, stderr %q", code, errb.String())
	}
}
