package all

import (
	"testing"

	"github.com/opendatafrance/moisson/harvester/source/sourcetest"
)

// Every protocol the simulator speaks walks a catalogue past the 10 000
// results an offset-paged API lets one page through (Data Fair with after=,
// ODS with its exports listing, CKAN with start, CSW with nextRecord, udata
// page by page, DCAT as one export): the harvest is complete.
func TestDeepPaging(t *testing.T) {
	if testing.Short() {
		t.Skip("catalogues of 10 050 datasets")
	}
	const n = 10050
	for proto, id := range map[string]string{
		"ckan": "nice-ckan", "d4c": "larochelle-d4c", "datafair": "datarmor-datafair", "udata": "annecy-udata",
		"csw": "geobretagne-csw", "ods": "stmalo-ods", "dcat": "rennes-dcat",
	} {
		t.Run(proto, func(t *testing.T) {
			t.Parallel()
			_, src := sourcetest.ServeSource(t, id, n, nil)
			if src.Protocol != proto {
				t.Fatalf("%s is a %s source", id, src.Protocol)
			}
			var sink sourcetest.Sink
			if err := sourcetest.Harvest(t, Protocols[proto].New, src, &sink); err != nil {
				t.Fatalf("%d datasets read, then: %v", len(sink.Recs), err)
			}
			seen := map[string]bool{}
			for _, r := range sink.Recs {
				seen[r.Dataset.GetOriginalId()] = true
			}
			if len(sink.Recs) != n || len(seen) != n {
				t.Errorf("%d records (%d distinct), want %d; problems: %v", len(sink.Recs), len(seen), n, sink.Problems[:min(3, len(sink.Problems))])
			}
		})
	}
}
