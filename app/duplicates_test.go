package app

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
)

// A copy on data.gouv.fr that names its original by address (udata's
// harvest block) is the same dataset as the original on the territory's
// portal, through the whole pipeline: harvester (Dataset.identifiers),
// indexer (duplicate keys), API (same_as, distinct_total).
func TestCopyOnDataGouvGroupsWithItsOriginal(t *testing.T) {
	a := start(t, Options{DataDir: t.TempDir(), SimDatasets: 4, NoHarvest: true})
	defer a.Close()
	const original = "bretagne-ods"
	orig := a.Simulator().Datasets(original)
	if len(orig) == 0 {
		t.Fatalf("the simulator serves no %s", original)
	}
	page := map[string]any{
		"data": []any{map[string]any{
			"id": "6571f2a3b1c2d3e4f5a6b7c8", "slug": "copie", "title": "Copie moissonnée : " + orig[0].Title,
			"page": "https://www.data.gouv.fr/fr/datasets/copie/", "license": "lov2", "resources": []any{},
			"organization": map[string]any{"id": "5a", "name": "Ville d'Annecy", "slug": "ville-d-annecy"},
			"harvest":      map[string]any{"backend": "OpenDataSoft", "remote_id": orig[0].ID, "remote_url": orig[0].LandingPage},
		}},
		"page": 1, "page_size": 20, "total": 1, "next_page": nil,
	}
	body, _ := json.Marshal(page)
	a.Simulator().ServePayload("annecy-udata", "/api/1/organizations/ville-d-annecy/datasets/", "application/json", body)
	for id, want := range map[string]int64{original: int64(len(orig)), "annecy-udata": 1} {
		run, err := a.Harvest(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		if run.GetStatus().String() != "SUCCEEDED" || run.GetSeen() != want {
			t.Fatalf("%s: %s, seen %d, want SUCCEEDED, %d (errors %v)", id, run.GetStatus(), run.GetSeen(), want, run.GetErrors())
		}
		waitIndexed(t, a, url.Values{"source": {id}}, want)
	}
	var ans struct {
		Total         int64  `json:"total"`
		DistinctTotal *int64 `json:"distinct_total"`
		Items         []struct {
			ID       string   `json:"id"`
			SourceID string   `json:"source_id"`
			Title    string   `json:"title"`
			SameAs   []string `json:"same_as"`
		} `json:"items"`
	}
	getJSON(t, a.APIURL()+"/v1/datasets?"+url.Values{"source": {original, "annecy-udata"}, "distinct": {"true"}, "size": {"100"}}.Encode(), http.StatusOK, &ans)
	if ans.Total != int64(len(orig))+1 || ans.DistinctTotal == nil || *ans.DistinctTotal != int64(len(orig)) {
		t.Errorf("total %d, distinct %v, want %d records of %d datasets", ans.Total, ans.DistinctTotal, len(orig)+1, len(orig))
	}
	ids := map[string]string{} // title → id
	for _, it := range ans.Items {
		ids[it.Title] = it.ID
	}
	copyID, origID := ids["Copie moissonnée : "+orig[0].Title], ids[orig[0].Title]
	if copyID == "" || origID == "" {
		t.Fatalf("copy %q or original %q missing from %+v", copyID, origID, ans.Items)
	}
	for _, it := range ans.Items {
		var want []string
		switch it.ID {
		case copyID:
			want = []string{origID}
		case origID:
			want = []string{copyID}
		}
		if !slices.Equal(it.SameAs, want) {
			t.Errorf("%s (%s) same_as %v, want %v", it.ID, it.Title, it.SameAs, want)
		}
	}
	// The dataset page of the copy lists the original.
	resp, err := http.Get(a.APIURL() + "/jeux-de-donnees/" + url.PathEscape(copyID))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), fmt.Sprintf(`href="/jeux-de-donnees/%s"`, origID)) {
		t.Errorf("the copy's page does not link its original %s", origID)
	}
}
