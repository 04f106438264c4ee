package app

import (
	"bufio"
	"context"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/opendatafrance/moisson/harvester/config"
	"github.com/opendatafrance/moisson/harvester/fetch"
	"github.com/opendatafrance/moisson/harvester/source"
	"github.com/opendatafrance/moisson/harvester/source/dcat"
	moissonv1 "github.com/opendatafrance/moisson/proto/moisson/v1"
	"google.golang.org/protobuf/encoding/protojson"
)

type collect struct {
	recs  []*moissonv1.Dataset
	pages int
	probs []source.Problem
}

func (c *collect) Page(string, int64) { c.pages++ }
func (c *collect) Record(_ context.Context, r source.Record) error {
	c.recs = append(c.recs, r.Dataset)
	return nil
}
func (c *collect) Problem(p source.Problem) { c.probs = append(c.probs, p) }

// TestCatalogRoundTrip harvests Moisson's own catalogue with the DCAT
// adapter, in each syntax, following its Hydra pages, and finds the records
// it serves: same titles, descriptions, keywords, licences, formats, dates
// and distribution URLs.
func TestCatalogRoundTrip(t *testing.T) {
	a := start(t, Options{DataDir: t.TempDir(), SimDatasets: 12})
	t.Cleanup(func() { a.Close() })
	want := int64(a.Simulator().Total())
	waitIndexed(t, a, url.Values{"size": {"1"}}, want)
	a.WaitHarvest()

	// The records as the API serves them.
	resp, err := http.Get(a.APIURL() + "/v1/datasets/export?format=jsonl")
	if err != nil {
		t.Fatal(err)
	}
	byID := map[string]*moissonv1.Dataset{}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		var d moissonv1.Dataset
		if err := (protojson.UnmarshalOptions{DiscardUnknown: true}).Unmarshal(sc.Bytes(), &d); err != nil {
			t.Fatalf("export line: %v", err)
		}
		byID[d.GetId()] = &d
	}
	resp.Body.Close()
	if int64(len(byID)) != want {
		t.Fatalf("export: %d records, want %d", len(byID), want)
	}

	client := fetch.New(fetch.Options{Contact: "mailto:test@example.org", AllowPrivate: true, Retries: -1, RequestTimeout: time.Minute})
	for _, syntax := range []string{"ttl", "rdf", "jsonld"} {
		t.Run(syntax, func(t *testing.T) {
			src, err := dcat.New(&config.Source{ID: "moisson-" + syntax, Protocol: "dcat",
				Endpoint: a.APIURL() + "/catalog." + syntax + "?page_size=25"}, source.Env{Client: client})
			if err != nil {
				t.Fatal(err)
			}
			var c collect
			if err := src.Harvest(context.Background(), &c); err != nil {
				t.Fatalf("harvest: %v", err)
			}
			if wantPages := int((want + 24) / 25); c.pages != wantPages {
				t.Errorf("%d pages read, want %d", c.pages, wantPages)
			}
			for _, p := range c.probs {
				t.Errorf("problem: %+v", p)
			}
			if int64(len(c.recs)) != want {
				t.Fatalf("%d records harvested, want %d", len(c.recs), want)
			}
			for _, got := range c.recs {
				orig := byID[got.GetOriginalId()]
				if orig == nil {
					t.Errorf("harvested %q: no such record", got.GetOriginalId())
					continue
				}
				compare(t, orig, got)
			}
		})
	}
}

func compare(t *testing.T, want, got *moissonv1.Dataset) {
	t.Helper()
	id := want.GetId()
	check := func(what string, w, g any) {
		t.Helper()
		if !equalAny(w, g) {
			t.Errorf("%s %s: got %v, want %v", id, what, g, w)
		}
	}
	check("title", want.GetTitle(), got.GetTitle())
	check("description", want.GetDescription(), got.GetDescription())
	check("keywords", sortedCopy(want.GetKeywords()), sortedCopy(got.GetKeywords()))
	check("licence", want.GetLicense().GetNormalized(), got.GetLicense().GetNormalized())
	check("themes", sortedCopy(want.GetThemes()), sortedCopy(got.GetThemes()))
	check("landing page", want.GetLandingPage(), got.GetLandingPage())
	check("publisher", want.GetPublisher().GetName(), got.GetPublisher().GetName())
	stamp := func(d *moissonv1.Dataset, f func(*moissonv1.Dataset) interface{ AsTime() time.Time }) string {
		if v := f(d); v != nil {
			return v.AsTime().UTC().Truncate(time.Second).Format(time.RFC3339)
		}
		return ""
	}
	issued := func(d *moissonv1.Dataset) interface{ AsTime() time.Time } {
		if d.GetIssued() == nil {
			return nil
		}
		return d.GetIssued()
	}
	modified := func(d *moissonv1.Dataset) interface{ AsTime() time.Time } {
		if d.GetModified() == nil {
			return nil
		}
		return d.GetModified()
	}
	check("issued", stamp(want, issued), stamp(got, issued))
	check("modified", stamp(want, modified), stamp(got, modified))
	dists := func(d *moissonv1.Dataset) []string {
		var out []string
		for _, x := range d.GetDistributions() {
			out = append(out, x.GetFormat()+" "+x.GetUrl()+" "+x.GetDownloadUrl())
		}
		return out
	}
	check("distributions", dists(want), dists(got))
}

func sortedCopy(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}

func equalAny(a, b any) bool {
	switch x := a.(type) {
	case []string:
		return strings.Join(x, "\x00") == strings.Join(b.([]string), "\x00")
	}
	return a == b
}
