// Package all lists every protocol adapter Moisson has. Add a new protocol
// here, and only here.
package all

import (
	"sort"

	"github.com/opendatafrance/moisson/harvester/source"
	"github.com/opendatafrance/moisson/harvester/source/ckan"
	"github.com/opendatafrance/moisson/harvester/source/dcat"
)

// Protocols by name.
var Protocols = map[string]source.Protocol{
	"ckan": ckan.Protocol,
	"dcat": dcat.Protocol,
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
