package normalize

import "testing"

// BenchmarkSCDL decides the SCDL items of a dataset with a title, keywords
// and the columns of its records, as ODS and Data4Citizen give them.
func BenchmarkSCDL(b *testing.B) {
	cols := []string{"nom", "date_maj", "commune", "code_insee", "latitude", "longitude", "adresse", "type d'équipement", "id"}
	titles := []string{"Équipements sportifs de Peillac", "Budget primitif 2024 de Rennes", "Délibérations du conseil municipal de Vannes", "Menus des cantines scolaires de Brest"}
	kws := []string{"sport", "équipements", "collectivité"}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		SCDL(titles[i%len(titles)], kws, nil, cols)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "datasets/s")
}
