package observatory

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/opendatafrance/moisson/indexer/index"
	"github.com/opendatafrance/moisson/indexer/index/bleve"
	"github.com/opendatafrance/moisson/indexer/index/elasticsearch"
	"github.com/opendatafrance/moisson/proto/bus"
	moissonv1 "github.com/opendatafrance/moisson/proto/moisson/v1"
	"github.com/opendatafrance/moisson/referential"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// The territory of the contract: Rennes Métropole, its communes.
var rm = bus.TerritoryInfo{ID: "rm", Name: "Rennes Métropole", Territory: referential.Territory{
	Geography: referential.Geography{EPCI: []string{"243500139"}}}}

// records: Rennes publishes one dataset on two portals (two records, the
// same landing page) and another one; the métropole one; Brécé, a commune
// under the threshold, one; a State service one (unresolved).
func records(now time.Time) []*moissonv1.Dataset {
	rs := referential.France().Resolver(rm.Territory)
	mk := func(id, portal, publisher, landing string, modified time.Time, score int32, scdl string) *moissonv1.Dataset {
		d := &moissonv1.Dataset{Id: id, SourceId: "src-" + portal, TerritoryId: "rm", PortalUrl: "https://" + portal, Title: "Jeu " + id,
			LandingPage: landing, Publisher: &moissonv1.Publisher{Name: publisher}, Modified: timestamppb.New(modified),
			Issued: timestamppb.New(modified.AddDate(0, -1, 0)), HarvestedAt: timestamppb.New(now),
			Quality: &moissonv1.Quality{Score: score, Rating: "good"}}
		if scdl != "" {
			d.Scdl = []*moissonv1.ScdlMatch{{Item: scdl, Evidence: "declared"}}
		}
		bus.Attribute(d, rs)
		return d
	}
	recent, old := now.AddDate(0, -2, 0), time.Date(2019, 5, 3, 0, 0, 0, 0, time.UTC)
	return []*moissonv1.Dataset{
		mk("a1", "data.rennesmetropole.fr", "Ville de Rennes", "https://data.rennesmetropole.fr/d/budget", recent, 100, "scdl/budget"),
		mk("a2", "www.data.gouv.fr", "RENNES", "https://data.rennesmetropole.fr/d/budget", recent, 200, ""),
		mk("a3", "data.rennesmetropole.fr", "Mairie de Rennes", "https://data.rennesmetropole.fr/d/arbres", old, 300, ""),
		mk("b1", "data.rennesmetropole.fr", "Rennes Métropole", "https://data.rennesmetropole.fr/d/velo", recent, 150, "scdl/equipements"),
		mk("c1", "data.rennesmetropole.fr", "Commune de Brécé", "https://data.rennesmetropole.fr/d/brece", old, 50, ""),
		mk("d1", "data.rennesmetropole.fr", "DREAL Bretagne", "https://data.rennesmetropole.fr/d/dreal", old, 50, ""),
	}
}

func check(t *testing.T, x index.Index, settle func()) {
	ctx := context.Background()
	now := time.Now().UTC()
	var ops []index.Op
	for _, d := range records(now) {
		ops = append(ops, index.Op{ID: d.Id, Version: 1, Dataset: d})
	}
	if _, err := x.Write(ctx, ops); err != nil {
		t.Fatal(err)
	}
	settle()
	rep, err := Compute(ctx, x, func(context.Context) ([]bus.TerritoryInfo, error) { return []bus.TerritoryInfo{rm}, nil }, now)
	if err != nil {
		t.Fatal(err)
	}
	ref := referential.France()
	obliged := ref.Area(rm.Geography).Obliged(0)
	if len(rep.Summaries) != 1 {
		t.Fatalf("summaries: %+v", rep.Summaries)
	}
	s := rep.Summaries[0]
	if s.Obliged != len(obliged) || s.Publishing != 2 || s.PublishingOthers != 1 || s.Records != 6 || s.Attributed != 5 || s.Unresolved != 1 {
		t.Errorf("summary: %+v (want %d obliged, 2 publishing, 1 other, 6 records, 5 attributed)", s, len(obliged))
	}
	var pop, covered int64
	for _, o := range obliged {
		if o.Kind == referential.Commune {
			pop += int64(o.Population)
			covered += int64(o.Population) // the métropole publishes: all its communes are covered
		}
	}
	if s.ObligedPopulation != pop || s.CoveredPopulation != covered {
		t.Errorf("population %d covered %d, want %d %d", s.ObligedPopulation, s.CoveredPopulation, pop, covered)
	}
	if s.SCDLItems != 2 {
		t.Errorf("SCDL items %d, want 2", s.SCDLItems)
	}
	rows := map[string]Row{}
	for _, r := range rep.Collectivites {
		rows[r.Key] = r
	}
	rennes := rows["213502388"]
	if !rennes.Obliged || !rennes.Publishes || rennes.Datasets != 2 || rennes.Records != 3 || len(rennes.Portals) != 2 ||
		rennes.Quality != 200 || rennes.LastModified != now.AddDate(0, -2, 0).Format("2006-01") ||
		len(rennes.SCDL) != 1 || rennes.SCDL[0].Item != "scdl/budget" || rennes.SCDL[0].Evidence[0] != "declared" {
		t.Errorf("Rennes: %+v", rennes)
	}
	if f := rennes.Freshness; f < 0.66 || f > 0.67 {
		t.Errorf("Rennes freshness %v, want 2/3", f)
	}
	if m := rows["243500139"]; !m.Obliged || m.Datasets != 1 || m.Kind != "epci" {
		t.Errorf("the métropole: %+v", m)
	}
	brece := ref.Commune("35039")
	if b := rows[brece.Key()]; b.Obliged || !b.Publishes || b.Datasets != 1 {
		t.Errorf("Brécé (%d inhabitants): %+v", brece.Population, b)
	}
	// Obliged communes that publish nothing are listed too.
	no := false
	rs, _, _ := rep.Select(Filter{Obliged: ptr(true), Publishes: ptr(false)})
	for _, r := range rs {
		no = no || r.Kind == "commune"
		if r.Publishes || !r.Obliged {
			t.Errorf("filter: %+v", r)
		}
	}
	if !no || len(rs) != len(obliged)-2 {
		t.Errorf("%d obliged not publishing, want %d", len(rs), len(obliged)-2)
	}
	if len(rep.Timelines) != 1 || len(rep.Timelines[0].Months) == 0 {
		t.Errorf("timeline: %+v", rep.Timelines)
	}
	un, err := UnresolvedPublishers(ctx, x, nil, map[string]string{"src-data.rennesmetropole.fr": "rm"})
	if err != nil || len(un) != 1 || un[0].Publisher != "DREAL Bretagne" || un[0].Why != referential.NotCollectivite || un[0].Territory != "rm" {
		t.Errorf("unresolved: %+v %v", un, err)
	}
}

func ptr(b bool) *bool { return &b }

func TestObservatoryBleve(t *testing.T) {
	x, err := bleve.Open(filepath.Join(t.TempDir(), "index"))
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	check(t, x, func() {})
}

func TestObservatoryElasticsearch(t *testing.T) {
	u := os.Getenv("MOISSON_ES_URL")
	if u == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("MOISSON_ES_URL is not set")
		}
		t.Skip("MOISSON_ES_URL is not set (scripts/elasticsearch start)")
	}
	b := make([]byte, 5)
	rand.Read(b)
	ctx := context.Background()
	x, err := elasticsearch.New(ctx, elasticsearch.Config{URL: u, Alias: "moisson-test-obs-" + hex.EncodeToString(b)})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		_ = x.Drop(ctx)
		x.Close()
	}()
	check(t, x, func() {
		if err := x.Refresh(ctx); err != nil {
			t.Fatal(err)
		}
	})
}
