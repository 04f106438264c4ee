package index

import (
	"slices"
	"testing"

	moissonv1 "github.com/opendatafrance/moisson/proto/moisson/v1"
)

func TestURLKey(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"https://data.example.fr/explore/dataset/arbres/", "data.example.fr/explore/dataset/arbres"},
		{"HTTP://WWW.Data.Example.fr/explore/dataset/arbres", "data.example.fr/explore/dataset/arbres"},
		{"https://data.example.fr:443/explore/dataset/arbres", "data.example.fr/explore/dataset/arbres"},
		{"https://data.example.fr:8443/a", "data.example.fr:8443/a"},
		{"https://geo.example.fr/geonetwork/srv/fre/catalog.search#/metadata/abc", "geo.example.fr/geonetwork/srv/fre/catalog.search#/metadata/abc"},
		{"https://data.example.fr/dataset?id=12", "data.example.fr/dataset?id=12"},
		{"https://data.example.fr/", ""}, // a site's root names no dataset
		{"https://data.example.fr", ""},
		{"ftp://data.example.fr/a", ""},
		{"arbres-d-alignement", ""},
		{"", ""},
	} {
		if got := URLKey(c.in); got != c.want {
			t.Errorf("URLKey(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestDupKeys(t *testing.T) {
	const id = "5A26B0F6-0CCF-46AD-AC58-734054B91977"
	for _, c := range []struct {
		name string
		d    *moissonv1.Dataset
		want []string
	}{
		{"title and publisher, landing page", &moissonv1.Dataset{Id: "x", Title: "Délibérations  du Conseil !", Publisher: &moissonv1.Publisher{Name: "Ville de Rennes"},
			LandingPage: "https://data.rennes.fr/explore/dataset/deliberations/", OriginalId: "deliberations"},
			[]string{"t:deliberations du conseil|ville de rennes", "u:data.rennes.fr/explore/dataset/deliberations"}},
		{"publisher fallbacks: SIREN, member, territory", &moissonv1.Dataset{Id: "x", Title: "A", Publisher: &moissonv1.Publisher{Siren: "123456789"}, MemberId: "m"},
			[]string{"t:a|123456789"}},
		{"member", &moissonv1.Dataset{Id: "x", Title: "A", MemberId: "m", TerritoryId: "t"}, []string{"t:a|m"}},
		{"territory", &moissonv1.Dataset{Id: "x", Title: "A", TerritoryId: "t"}, []string{"t:a|t"}},
		{"UUID original id, URN identifier, IRI holding the same UUID", &moissonv1.Dataset{Id: "x", OriginalId: id,
			Uri: "https://ckan.example.fr/dataset/" + id, Identifiers: []string{"urn:uuid:" + id, "budget-2024", "42"}},
			[]string{"u:ckan.example.fr/dataset/" + id, "i:5a26b0f6-0ccf-46ad-ac58-734054b91977"}},
		{"an address with two UUIDs gives none", &moissonv1.Dataset{Id: "x",
			Identifiers: []string{"https://x.example.fr/org/" + id + "/dataset/6b26b0f6-0ccf-46ad-ac58-734054b91977"}},
			[]string{"u:x.example.fr/org/" + id + "/dataset/6b26b0f6-0ccf-46ad-ac58-734054b91977"}},
		{"a UUID within an identifier", &moissonv1.Dataset{Id: "x", OriginalId: "fr-120066022-ldd-" + id},
			[]string{"i:5a26b0f6-0ccf-46ad-ac58-734054b91977"}},
		{"no UUID in a longer hex run", &moissonv1.Dataset{Id: "x", OriginalId: "0" + id + "0"}, []string{"id:x"}},
		{"nothing to match on", &moissonv1.Dataset{Id: "x", OriginalId: "12", LandingPage: "https://portal.example.fr/"}, []string{"id:x"}},
	} {
		if got := DupKeys(c.d); !slices.Equal(got, c.want) {
			t.Errorf("%s: DupKeys = %q, want %q", c.name, got, c.want)
		}
	}
}
