package csw

import (
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"github.com/opendatafrance/moisson/harvester/normalize"
	"github.com/opendatafrance/moisson/harvester/source"
	moissonv1 "github.com/opendatafrance/moisson/proto/moisson/v1"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// isoRecord maps an ISO 19139 (gmd) or ISO 19115-3 (mdb) MD_Metadata. Paths
// are followed by local name, which both standards mostly share.
func isoRecord(md *node, opt Options) (string, source.Record, error) {
	id := md.path("fileIdentifier").text() // 19139
	if id == "" {                          // 19115-3
		id = md.path("metadataIdentifier", "MD_Identifier", "code").text()
	}
	// The identification sections (MD_DataIdentification,
	// SV_ServiceIdentification...), merged: some servers split one record's
	// citation and extent over two of them.
	ident := &node{local: "identification"}
	for _, ii := range md.children("identificationInfo") {
		for _, k := range ii.kids {
			ident.kids = append(ident.kids, k.kids...)
		}
	}
	cit := ident.path("citation", "CI_Citation")
	d := &moissonv1.Dataset{OriginalId: id}
	d.Title = normalize.Text(cit.child("title").text())
	if id == "" {
		return "", source.Record{}, errors.New("record without fileIdentifier")
	}
	if d.Title == "" {
		return id, source.Record{}, fmt.Errorf("record %s has no title", id)
	}
	d.Description = normalize.Text(ident.child("abstract").text())
	if opt.Landing != "" {
		d.LandingPage = opt.Landing + url.PathEscape(id)
	}
	// Resource identifier: the dataset IRI when it is one.
	for _, ri := range cit.children("identifier") {
		code := ri.find("code").text()
		space := ri.find("codeSpace").text()
		if a := ri.find("code"); a != nil && a.child("Anchor") != nil {
			if h := a.child("Anchor").attr("href"); strings.HasPrefix(h, "http") {
				code = h
			}
		}
		switch {
		case strings.HasPrefix(code, "http://") || strings.HasPrefix(code, "https://"):
			d.Uri = code
		case strings.HasPrefix(space, "http") && code != "":
			d.Uri = strings.TrimRight(space, "/") + "/" + code
		}
		if d.Uri != "" {
			break
		}
	}
	d.Language = isoLanguage(md)

	// Keywords and topic categories.
	for _, kw := range ident.findAll("keyword") {
		if v := strings.TrimSpace(kw.text()); v != "" {
			d.Keywords = append(d.Keywords, v)
		}
	}
	d.Keywords = normalize.Unique(d.Keywords)
	var themeIn []string
	for _, tc := range ident.children("topicCategory") {
		v := tc.text()
		if v == "" {
			v = tc.find("MD_TopicCategoryCode").attr("codeListValue")
		}
		if v != "" {
			d.RawThemes = append(d.RawThemes, v)
			if c := topicThemes[v]; c != "" {
				themeIn = append(themeIn, c)
			}
		}
	}
	d.Themes = normalize.Themes(append(append(themeIn, d.RawThemes...), d.Keywords...))

	// Publisher and contact: a point of contact of the resource, by role.
	parties := ident.children("pointOfContact")
	parties = append(parties, md.children("contact")...)
	if p := pickParty(parties); p != nil {
		d.Publisher = &moissonv1.Publisher{Name: p.org}
		d.Publisher.Siren = normalize.SIREN(p.org)
		if p.email != "" || p.person != "" || p.url != "" {
			d.ContactPoint = &moissonv1.ContactPoint{Name: normalize.First(p.person, p.org), Email: p.email, Url: p.url}
		}
	}

	// Dates: publication (else creation) → issued; revision (else the
	// metadata date stamp) → modified.
	dates := map[string]string{}
	for _, cd := range cit.findAll("CI_Date") {
		typ := cd.find("CI_DateTypeCode").attr("codeListValue")
		if typ == "" {
			typ = cd.find("CI_DateTypeCode").text()
		}
		v := cd.child("date").text()
		if typ != "" && v != "" && (dates[typ] == "" || (typ == "revision" && v > dates[typ])) {
			dates[typ] = v
		}
	}
	stamp := md.child("dateStamp").text()
	if stamp == "" { // 19115-3: dateInfo/CI_Date
		for _, cd := range md.children("dateInfo") {
			if v := cd.find("date").text(); v > stamp {
				stamp = v
			}
		}
	}
	if t, ok := normalize.FirstDate(d, "issued", dates["publication"], dates["creation"]); ok {
		d.Issued = timestamppb.New(t)
	}
	if t, ok := normalize.FirstDate(d, "modified", dates["revision"], stamp); ok {
		d.Modified = timestamppb.New(t)
	}
	if f := ident.find("MD_MaintenanceFrequencyCode"); f != nil {
		d.AccrualPeriodicity = normalize.First(f.attr("codeListValue"), f.text())
	}

	d.License = isoLicence(ident)
	d.Spatial = isoSpatial(ident)
	if tp := isoTemporal(ident); tp != nil {
		d.Temporal = tp
	}

	// Distributions.
	seen := map[string]bool{}
	for _, or := range md.child("distributionInfo").findAll("CI_OnlineResource") {
		dist := isoOnline(or, opt.Base)
		if dist == nil || seen[dist.Url+"\x00"+dist.Format+"\x00"+dist.Title] {
			continue
		}
		seen[dist.Url+"\x00"+dist.Format+"\x00"+dist.Title] = true
		d.Distributions = append(d.Distributions, dist)
	}
	// Conformity declared in the data quality reports (specification titles).
	for _, spec := range md.child("dataQualityInfo").findAll("specification") {
		if t := spec.find("title"); t != nil {
			if a := t.child("Anchor"); a != nil && strings.HasPrefix(a.attr("href"), "http") {
				d.ConformsTo = append(d.ConformsTo, a.attr("href"))
			}
		}
	}
	d.ConformsTo = normalize.Unique(d.ConformsTo)
	return id, source.Record{Dataset: d}, nil
}

// topicThemes maps ISO 19115 topic categories to EU data themes.
var topicThemes = map[string]string{
	"farming": "AGRI", "biota": "ENVI", "boundaries": "REGI", "climatologyMeteorologyAtmosphere": "ENVI",
	"economy": "ECON", "elevation": "ENVI", "environment": "ENVI", "geoscientificInformation": "TECH",
	"health": "HEAL", "imageryBaseMapsEarthCover": "REGI", "intelligenceMilitary": "JUST", "inlandWaters": "ENVI",
	"location": "REGI", "oceans": "ENVI", "planningCadastre": "REGI", "society": "SOCI", "structure": "REGI",
	"transportation": "TRAN", "utilitiesCommunication": "ENER", "extraTerrestrial": "TECH",
}

func isoLanguage(md *node) string {
	l := md.child("language")
	v := ""
	if l != nil {
		v = normalize.First(l.find("LanguageCode").attr("codeListValue"), l.text())
	}
	if v == "" {
		if lc := md.path("defaultLocale", "PT_Locale", "language", "LanguageCode"); lc != nil {
			v = normalize.First(lc.attr("codeListValue"), lc.text())
		}
	}
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "":
		return ""
	case "fre", "fra", "fr", "french", "français":
		return "fr"
	case "eng", "en", "english":
		return "en"
	case "ger", "deu", "de":
		return "de"
	case "dut", "nld", "nl":
		return "nl"
	}
	return strings.ToLower(strings.TrimSpace(v))
}

type party struct {
	org, person, email, url, role string
}

var rolePriority = map[string]int{"publisher": 0, "owner": 1, "custodian": 2, "distributor": 3, "pointOfContact": 4, "originator": 5, "author": 6}

func pickParty(list []*node) *party {
	var best *party
	bestRank := 1 << 30
	for i, n := range list {
		p := &party{}
		p.org = normalize.First(n.find("organisationName").text(), n.path("CI_Responsibility", "party", "CI_Organisation", "name").text())
		p.person = normalize.First(n.find("individualName").text(), n.find("CI_Individual").child("name").text())
		p.email = n.find("electronicMailAddress").text()
		if ol := n.find("onlineResource"); ol != nil {
			p.url = ol.find("linkage").text()
		}
		rc := n.find("CI_RoleCode")
		p.role = normalize.First(rc.attr("codeListValue"), rc.text())
		if p.org == "" && p.person == "" && p.email == "" {
			continue
		}
		rank, ok := rolePriority[p.role]
		if !ok {
			rank = 10
		}
		rank = rank*1000 + i
		if p.org == "" {
			rank += 100000
		}
		if rank < bestRank {
			best, bestRank = p, rank
		}
	}
	return best
}

// isoLicence reads the resource constraints: otherConstraints (Anchor links
// first), useLimitation, licence references; the first that names a known
// licence wins, else the first text is kept as an "other" licence.
func isoLicence(ident *node) *moissonv1.License {
	var cands []string
	for _, rc := range ident.children("resourceConstraints") {
		for _, oc := range rc.findAll("otherConstraints") {
			if a := oc.child("Anchor"); a != nil {
				if h := strings.TrimSpace(a.attr("href")); h != "" {
					cands = append(cands, h)
				}
			}
			if v := oc.text(); v != "" {
				cands = append(cands, v)
			}
		}
		for _, ul := range rc.findAll("useLimitation") {
			if v := ul.text(); v != "" {
				cands = append(cands, v)
			}
		}
		for _, ref := range rc.findAll("reference") { // 19115-3
			if v := ref.find("title").text(); v != "" {
				cands = append(cands, v)
			}
			if v := ref.find("linkage").text(); v != "" {
				cands = append(cands, v)
			}
		}
	}
	for _, c := range cands {
		if n := normalize.License(c); n != "other" && n != "unknown" {
			return &moissonv1.License{Raw: clip(c, 1000), Normalized: n}
		}
	}
	if len(cands) == 0 {
		return &moissonv1.License{Normalized: "unknown"}
	}
	return &moissonv1.License{Raw: clip(cands[0], 1000), Normalized: normalize.License(cands[0])}
}

func isoSpatial(ident *node) *moissonv1.Spatial {
	var sp moissonv1.Spatial
	for _, ext := range ident.findAll("EX_Extent") {
		if sp.Label == "" {
			sp.Label = ext.child("description").text()
		}
		for _, gd := range ext.findAll("EX_GeographicDescription") {
			code := gd.find("code").text()
			if c := normalize.INSEE(code); c != "" && sp.InseeCode == "" {
				sp.InseeCode = c
			} else if sp.Label == "" {
				sp.Label = code
			}
		}
		if sp.Bbox != nil {
			continue
		}
		for _, bb := range ext.findAll("EX_GeographicBoundingBox") {
			w, ok1 := num(bb.child("westBoundLongitude").text())
			e, ok2 := num(bb.child("eastBoundLongitude").text())
			s, ok3 := num(bb.child("southBoundLatitude").text())
			n, ok4 := num(bb.child("northBoundLatitude").text())
			if !(ok1 && ok2 && ok3 && ok4) || w < -180 || w > 180 || e < -180 || e > 180 || s < -90 || s > 90 || n < -90 || n > 90 {
				continue
			}
			if w > e && w-e < 180 { // swapped longitudes (seen in real records), not an antimeridian box
				w, e = e, w
			}
			if s > n {
				s, n = n, s
			}
			sp.Bbox = &moissonv1.BBox{West: w, South: s, East: e, North: n}
			break
		}
	}
	if sp.Label == "" && sp.InseeCode == "" && sp.Bbox == nil {
		return nil
	}
	return &sp
}

func isoTemporal(ident *node) *moissonv1.Temporal {
	tp := &moissonv1.Temporal{}
	for _, ext := range ident.findAll("EX_TemporalExtent") {
		begin := normalize.First(ext.find("beginPosition").text(), ext.find("begin").allText())
		end := normalize.First(ext.find("endPosition").text(), ext.find("end").allText())
		if t, ok := normalize.Time(begin); ok && tp.Start == nil {
			tp.Start = timestamppb.New(t)
		}
		if t, ok := normalize.Time(end); ok && tp.End == nil {
			tp.End = timestamppb.New(t)
		}
	}
	if tp.Start == nil && tp.End == nil {
		return nil
	}
	return tp
}

// isoOnline maps a CI_OnlineResource: the protocol (OGC:WMS, WWW:DOWNLOAD…)
// gives the format of services, the URL that of files.
func isoOnline(or *node, base string) *moissonv1.Distribution {
	link := strings.TrimSpace(or.child("linkage").text())
	if link == "" {
		return nil
	}
	if base != "" && !strings.Contains(link, "://") {
		if b, err := url.Parse(base); err == nil {
			if r, err := url.Parse(link); err == nil {
				link = b.ResolveReference(r).String()
			}
		}
	}
	proto := strings.TrimSpace(or.child("protocol").text())
	name := strings.TrimSpace(or.child("name").text())
	desc := strings.TrimSpace(or.child("description").text())
	dist := &moissonv1.Distribution{Url: link, Title: normalize.Text(normalize.First(desc, name))}
	if desc != "" && name != "" && desc != name {
		dist.Title = normalize.Text(name + " – " + desc)
	}
	dist.Format = normalize.Format(proto)
	service := isService(dist.Format)
	if dist.Format == "" {
		dist.Format = normalize.FormatFromURL(link)
	}
	if dist.Format == "" && !strings.Contains(name, " ") {
		dist.Format = normalize.FormatFromURL(name) // a file name
	}
	lp := strings.ToUpper(proto)
	if !service && (strings.HasPrefix(lp, "WWW:DOWNLOAD") || strings.Contains(lp, "DOWNLOAD") ||
		(dist.Format != "" && !isService(dist.Format) && dist.Format != "HTML")) {
		dist.DownloadUrl = link
	}
	dist.MediaType = normalize.MediaType(dist.Format)
	if mt := or.find("MimeFileType"); mt != nil {
		if v := normalize.First(mt.attr("type"), mt.text()); strings.Contains(v, "/") {
			dist.MediaType = v
		}
	}
	return dist
}

func isService(format string) bool {
	switch format {
	case "WMS", "WMTS", "WFS", "WCS", "CSW", "ArcGIS REST", "API":
		return true
	}
	return false
}

// dcRecord maps a Dublin Core csw:Record (also Summary/BriefRecord).
func dcRecord(r *node, opt Options) (string, source.Record, error) {
	get := func(local string) string { return strings.TrimSpace(r.child(local).text()) }
	id := get("identifier")
	if id == "" {
		return "", source.Record{}, errors.New("record without dc:identifier")
	}
	d := &moissonv1.Dataset{OriginalId: id, Title: normalize.Text(get("title"))}
	if d.Title == "" {
		return id, source.Record{}, fmt.Errorf("record %s has no dc:title", id)
	}
	d.Description = normalize.Text(normalize.First(get("abstract"), get("description")))
	if opt.Landing != "" {
		d.LandingPage = opt.Landing + url.PathEscape(id)
	}
	for _, s := range r.children("subject") {
		if v := strings.TrimSpace(s.text()); v != "" {
			d.Keywords = append(d.Keywords, v)
		}
	}
	d.Keywords = normalize.Unique(d.Keywords)
	d.Themes = normalize.Themes(d.Keywords)
	if v := normalize.First(get("publisher"), get("creator")); v != "" {
		d.Publisher = &moissonv1.Publisher{Name: v, Siren: normalize.SIREN(v)}
	}
	if t, ok := normalize.FirstDate(d, "issued", get("issued"), get("created"), get("date")); ok {
		d.Issued = timestamppb.New(t)
	}
	if t, ok := normalize.FirstDate(d, "modified", get("modified"), get("date")); ok {
		d.Modified = timestamppb.New(t)
	}
	lic := normalize.First(get("license"), get("rights"), get("accessRights"))
	d.License = &moissonv1.License{Raw: clip(lic, 1000), Normalized: normalize.License(lic)}
	if lic == "" {
		d.License.Normalized = "unknown"
	}
	if bb := r.child("BoundingBox"); bb != nil {
		lo := strings.Fields(bb.child("LowerCorner").text())
		up := strings.Fields(bb.child("UpperCorner").text())
		if len(lo) == 2 && len(up) == 2 {
			a, ok1 := num(lo[0])
			b, ok2 := num(lo[1])
			c, ok3 := num(up[0])
			e, ok4 := num(up[1])
			if ok1 && ok2 && ok3 && ok4 {
				// EPSG:4326 is latitude first; CRS84 (and no crs) longitude first.
				w, s, east, n := a, b, c, e
				if crs := bb.attr("crs"); strings.Contains(crs, "4326") && !strings.Contains(strings.ToUpper(crs), "CRS84") {
					w, s, east, n = b, a, e, c
				}
				if w >= -180 && east <= 180 && s >= -90 && n <= 90 && w <= east && s <= n {
					d.Spatial = &moissonv1.Spatial{Bbox: &moissonv1.BBox{West: w, South: s, East: east, North: n}}
				}
			}
		}
	}
	for _, ref := range append(r.children("references"), r.children("URI")...) {
		link := strings.TrimSpace(ref.text())
		if link == "" {
			continue
		}
		scheme := normalize.First(ref.attr("scheme"), ref.attr("protocol"))
		dist := &moissonv1.Distribution{Url: link, Title: normalize.Text(ref.attr("name"))}
		dist.Format = normalize.Format(scheme)
		if dist.Format == "" {
			dist.Format = normalize.FormatFromURL(link)
		}
		if !isService(dist.Format) && dist.Format != "" && dist.Format != "HTML" {
			dist.DownloadUrl = link
		}
		dist.MediaType = normalize.MediaType(dist.Format)
		d.Distributions = append(d.Distributions, dist)
	}
	return id, source.Record{Dataset: d}, nil
}

// ---- helpers -------------------------------------------------------------------

func num(s string) (float64, bool) {
	f, err := strconv.ParseFloat(strings.TrimSpace(strings.ReplaceAll(s, ",", ".")), 64)
	return f, err == nil
}

func clip(s string, n int) string {
	s = strings.TrimSpace(s)
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && s[cut]&0xC0 == 0x80 {
		cut--
	}
	return s[:cut] + "…"
}
