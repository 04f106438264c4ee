package quality

import (
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	moissonv1 "github.com/opendatafrance/moisson/proto/moisson/v1"
	"google.golang.org/protobuf/types/known/timestamppb"
)

func TestTable(t *testing.T) {
	want := map[string]int32{Findability: 100, Accessibility: 100, Interoperability: 110, Reusability: 75, Contextuality: 20}
	got := map[string]int32{}
	var total int32
	names := map[string]bool{}
	for _, ind := range Indicators {
		if names[ind.Name] {
			t.Errorf("indicator %s twice", ind.Name)
		}
		names[ind.Name] = true
		got[ind.Dimension] += ind.Points
		total += ind.Points
	}
	for d, w := range want {
		if got[d] != w {
			t.Errorf("%s: %d points, want %d", d, got[d], w)
		}
	}
	if total != Max {
		t.Errorf("total %d, want %d", total, Max)
	}
}

func TestREADME(t *testing.T) {
	b, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, ind := range Indicators {
		row := fmt.Sprintf("| `%s` | %s | %d |", ind.Name, ind.Dimension, ind.Points)
		if !strings.Contains(string(b), row) {
			t.Errorf("README.md lacks the row %q", row)
		}
	}
}

func full() *moissonv1.Dataset {
	ts := timestamppb.New(time.Date(2024, 1, 2, 0, 0, 0, 0, time.UTC))
	return &moissonv1.Dataset{
		Title: "Délibérations", Description: "Les délibérations du conseil.",
		Keywords: []string{"conseil"}, Themes: []string{"GOVE"},
		Spatial:      &moissonv1.Spatial{InseeCode: "35238"},
		Temporal:     &moissonv1.Temporal{Start: ts},
		License:      &moissonv1.License{Raw: "Licence Ouverte 2.0", Normalized: "etalab-2.0"},
		ContactPoint: &moissonv1.ContactPoint{Email: "a@b.fr"},
		Publisher:    &moissonv1.Publisher{Name: "Ville de Rennes"},
		Issued:       ts, Modified: ts,
		Distributions: []*moissonv1.Distribution{{
			Url: "https://x.fr/a", DownloadUrl: "https://x.fr/a.csv", Format: "CSV", MediaType: "text/csv", ByteSize: 10,
		}},
	}
}

func TestAssess(t *testing.T) {
	q := Assess(full())
	// Everything but the two access-rights indicators (15 points).
	if q.Score != Max-15 || q.Rating != Excellent {
		t.Errorf("full record: %d %s, want %d excellent", q.Score, q.Rating, Max-15)
	}
	if q.Findability != 100 || q.Accessibility != 100 || q.Interoperability != 110 || q.Reusability != 60 || q.Contextuality != 20 {
		t.Errorf("dimensions: %+v", q)
	}
	if !q.Indicators.Keywords || q.Indicators.AccessRights || !q.Indicators.DcatAp {
		t.Errorf("indicators: %+v", q.Indicators)
	}
	empty := Assess(&moissonv1.Dataset{})
	if empty.Score != 0 || empty.Rating != Bad {
		t.Errorf("empty record: %d %s", empty.Score, empty.Rating)
	}
	// A PDF only, no download URL, an unknown licence.
	d := full()
	d.Distributions = []*moissonv1.Distribution{{Url: "ftp://x.fr/a.pdf", Format: "PDF"}}
	d.License = &moissonv1.License{Normalized: "unknown"}
	q = Assess(d)
	ind := q.Indicators
	if ind.AccessUrl || ind.DownloadUrl || ind.MachineReadable || ind.NonProprietary || ind.MediaType || ind.License || ind.Rights || !ind.FormatVocabulary || !ind.Format {
		t.Errorf("PDF record indicators: %+v", ind)
	}
	if q.Accessibility != 0 || q.Interoperability != 60 /* format 20 + format_vocabulary 10 + dcat_ap 30 */ {
		t.Errorf("PDF record: accessibility %d interoperability %d", q.Accessibility, q.Interoperability)
	}
}

func TestRating(t *testing.T) {
	for score, want := range map[int32]string{0: Bad, 120: Bad, 121: Sufficient, 220: Sufficient, 221: Good, 350: Good, 351: Excellent, 405: Excellent} {
		if got := Rating(score); got != want {
			t.Errorf("Rating(%d) = %s, want %s", score, got, want)
		}
	}
}
