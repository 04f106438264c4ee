// Package all lists every protocol adapter Moisson has. Add a new protocol
// here, and only here.
package all

import (
	"sort"

	"github.com/opendatafrance/moisson/harvester/source"
	"github.com/opendatafrance/moisson/harvester/source/ckan"
	"github.com/opendatafrance/moisson/harvester/source/csw"
	"github.com/opendatafrance/moisson/harvester/source/d4c"
	"github.com/opendatafrance/moisson/harvester/source/datafair"
	"github.com/opendatafrance/moisson/harvester/source/dcat"
	"github.com/opendatafrance/moisson/harvester/source/ods"
	"github.com/opendatafrance/moisson/harvester/source/udata"
)

// Protocols by name.
var Protocols = map[string]source.Protocol{
	"ckan": ckan.Protocol,
	"dcat": dcat.Protocol,

	// udata (data.gouv.fr API v1) and GeoNetwork CSW 2.0.2.
	"udata": udata.Protocol,
	"csw":   csw.Protocol,

	// The portals' own APIs: OpenDataSoft, Data4Citizen, Data Fair.
	"ods":      ods.Protocol,
	"d4c":      d4c.Protocol,
	"datafair": datafair.Protocol,
}

// Names lists the protocols, sorted.
func Names() []string {
	var out []string
	for n := range Protocols {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}
