package simulator

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"net/http"
	"strings"
	"time"
)

// OGC CSW 2.0.2 as GeoNetwork serves it: GetCapabilities, GetRecords
// (ISO 19139 records, or Dublin Core csw:Record by default; resultType
// hits|results; startPosition/maxRecords paging with nextRecord) and
// GetRecordById, with ows:ExceptionReport errors. KVP parameter names are
// case-insensitive, as the standard says.

type cswProtocol struct{}

const (
	cswSchemaISO = "http://www.isotc211.org/2005/gmd"
	cswSchemaCSW = "http://www.opengis.net/cat/csw/2.0.2"
)

func (cswProtocol) serve(src *source, r *http.Request, rest string) *reply {
	if strings.TrimRight(rest, "/") != src.endpointPath() {
		return nil
	}
	q := map[string]string{}
	for k, v := range r.URL.Query() {
		if len(v) > 0 {
			q[strings.ToLower(k)] = v[0]
		}
	}
	req := q["request"]
	if req == "" {
		return cswException(http.StatusBadRequest, "MissingParameterValue", "request", "Mandatory parameter request is missing")
	}
	if s := q["service"]; s != "" && !strings.EqualFold(s, "CSW") {
		return cswException(http.StatusBadRequest, "InvalidParameterValue", "service", "service must be CSW, not "+s)
	}
	switch strings.ToLower(req) {
	case "getcapabilities":
		return cswCapabilities(src)
	case "getrecords":
		return cswGetRecords(src, q)
	case "getrecordbyid":
		return cswGetRecordByID(src, q)
	}
	return cswException(http.StatusBadRequest, "OperationNotSupported", "request", "Operation not supported: "+req)
}

func xmlReply(status int, body string, lastMod time.Time, page int) *reply {
	return &reply{status: status, contentType: "application/xml; charset=UTF-8", lastMod: lastMod, page: page,
		render: func(w io.Writer) error { _, err := io.WriteString(w, body); return err }}
}

func cswException(status int, code, locator, text string) *reply {
	body := `<?xml version="1.0" encoding="UTF-8"?>` + "\n" +
		`<ows:ExceptionReport xmlns:ows="http://www.opengis.net/ows" version="1.2.0">` + "\n" +
		`  <ows:Exception exceptionCode="` + xmlIRI(code) + `" locator="` + xmlIRI(locator) + `">` + "\n" +
		`    <ows:ExceptionText>` + xmlText(text) + `</ows:ExceptionText>` + "\n" +
		"  </ows:Exception>\n</ows:ExceptionReport>\n"
	return xmlReply(status, body, time.Time{}, 0)
}

func cswCapabilities(src *source) *reply {
	body := `<?xml version="1.0" encoding="UTF-8"?>` + "\n" +
		`<csw:Capabilities xmlns:csw="http://www.opengis.net/cat/csw/2.0.2" xmlns:ows="http://www.opengis.net/ows" version="2.0.2">` + "\n" +
		`  <ows:ServiceIdentification><ows:Title>` + xmlText(portalName(src)) + `</ows:Title><ows:ServiceType>CSW</ows:ServiceType><ows:ServiceTypeVersion>2.0.2</ows:ServiceTypeVersion></ows:ServiceIdentification>` + "\n" +
		`  <ows:OperationsMetadata><ows:Operation name="GetRecords"/><ows:Operation name="GetRecordById"/></ows:OperationsMetadata>` + "\n" +
		"</csw:Capabilities>\n"
	return xmlReply(http.StatusOK, body, time.Time{}, 0)
}

func cswGetRecords(src *source, q map[string]string) *reply {
	schema := q["outputschema"]
	if schema == "" {
		schema = cswSchemaCSW
	}
	if schema != cswSchemaISO && schema != cswSchemaCSW {
		return cswException(http.StatusBadRequest, "InvalidParameterValue", "outputSchema", "Output schema not supported: "+schema)
	}
	start, max := 1, 10
	var err error
	if v := q["startposition"]; v != "" {
		if start, err = parseNat(v); err != nil || start == 0 {
			return cswException(http.StatusBadRequest, "InvalidParameterValue", "startPosition", "startPosition must be a positive integer: "+v)
		}
	}
	if v := q["maxrecords"]; v != "" {
		if max, err = parseNat(v); err != nil {
			return cswException(http.StatusBadRequest, "InvalidParameterValue", "maxRecords", "maxRecords must be a non-negative integer: "+v)
		}
	}
	max = min(max, src.sim.opts.PageSizeCap)
	ds := src.datasets()
	total := len(ds)
	hits := strings.EqualFold(q["resulttype"], "hits")
	var page []Dataset
	if !hits && start <= total {
		page = ds[start-1 : min(start-1+max, total)]
	}
	next := 0
	if !hits && start-1+len(page) < total && len(page) > 0 {
		next = start + len(page)
	}
	lastMod := maxModified(page)
	if hits {
		lastMod = maxModified(ds)
	}
	pageNo := 1
	if max > 0 {
		pageNo = (start-1)/max + 1
	}
	elementSet := q["elementsetname"]
	if elementSet == "" {
		elementSet = "summary"
	}
	return &reply{status: http.StatusOK, contentType: "application/xml; charset=UTF-8", page: pageNo, lastMod: lastMod,
		render: func(w io.Writer) error {
			bw := bufio.NewWriterSize(w, 32<<10)
			fmt.Fprintf(bw, `<?xml version="1.0" encoding="UTF-8"?>
<csw:GetRecordsResponse xmlns:csw="http://www.opengis.net/cat/csw/2.0.2" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:schemaLocation="http://www.opengis.net/cat/csw/2.0.2 http://schemas.opengis.net/csw/2.0.2/CSW-discovery.xsd">
  <csw:SearchStatus timestamp="%s" />
  <csw:SearchResults numberOfRecordsMatched="%d" numberOfRecordsReturned="%d" elementSet="%s" nextRecord="%d">
`, maxModified(ds).UTC().Format("2006-01-02T15:04:05.000Z"), total, len(page), xmlIRI(elementSet), next)
			for i := range page {
				if schema == cswSchemaISO {
					cswISO(bw, src, &page[i])
				} else {
					cswDC(bw, src, &page[i])
				}
			}
			bw.WriteString("  </csw:SearchResults>\n</csw:GetRecordsResponse>\n")
			return bw.Flush()
		}}
}

func cswGetRecordByID(src *source, q map[string]string) *reply {
	id := q["id"]
	if id == "" {
		return cswException(http.StatusBadRequest, "MissingParameterValue", "id", "Mandatory parameter id is missing")
	}
	ds := src.datasets()
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>` + "\n" + `<csw:GetRecordByIdResponse xmlns:csw="http://www.opengis.net/cat/csw/2.0.2">` + "\n")
	var lastMod time.Time
	for i := range ds {
		if cswID(src, &ds[i]) == id {
			bw := bufio.NewWriter(&b)
			if q["outputschema"] == cswSchemaISO {
				cswISO(bw, src, &ds[i])
			} else {
				cswDC(bw, src, &ds[i])
			}
			bw.Flush()
			lastMod = ds[i].Modified
		}
	}
	b.WriteString("</csw:GetRecordByIdResponse>\n")
	return xmlReply(http.StatusOK, b.String(), lastMod, 0)
}

// cswID is the record's fileIdentifier: a UUID, as GeoNetwork makes them.
func cswID(src *source, d *Dataset) string {
	return uuidFrom(src.sim.opts.Seed, "csw:"+src.cfg.ID+":"+d.ID)
}

// cswTopics maps the generator's theme labels to ISO topic categories.
var cswTopics = map[string]string{
	thAdmin: "boundaries", thEnv: "environment", thTransp: "transportation", thSport: "society",
	thSociety: "society", thHealth: "health", thUrba: "planningCadastre", thEnergy: "utilitiesCommunication",
	thEduc: "society", "Économie, Entreprises": "economy",
}

// cswLicence writes the licence as French GeoNetwork records do: a
// useLimitation sentence, and for half of them an otherConstraints Anchor.
func cswLicence(d *Dataset) (text, href string) {
	for _, l := range licences {
		if l.title == d.LicenseTitle {
			switch l.ckanID {
			case "fr-lo":
				return "Licence Ouverte (Etalab) : " + l.url, l.url
			case "lov2":
				return "Licence Ouverte version 2.0 " + l.url, "https://www.etalab.gouv.fr/licence-ouverte-open-licence/"
			}
			return l.title + " " + l.dcatIRI, l.dcatIRI
		}
	}
	return "Pas de restriction d'usage", ""
}

const cswCodeList = "http://standards.iso.org/iso/19139/resources/gmxCodelists.xml"

func cswCS(w *bufio.Writer, indent, el, v string) {
	fmt.Fprintf(w, "%s<%s><gco:CharacterString>%s</gco:CharacterString></%s>\n", indent, el, xmlText(v), el)
}

func cswDate(w *bufio.Writer, indent string, t time.Time, typ string) {
	el, v := "gco:Date", t.UTC().Format("2006-01-02")
	if typ == "revision" {
		el, v = "gco:DateTime", t.UTC().Format("2006-01-02T15:04:05")
	}
	fmt.Fprintf(w, `%s<gmd:date><gmd:CI_Date><gmd:date><%s>%s</%s></gmd:date><gmd:dateType><gmd:CI_DateTypeCode codeList="%s#CI_DateTypeCode" codeListValue="%s">%s</gmd:CI_DateTypeCode></gmd:dateType></gmd:CI_Date></gmd:date>`+"\n",
		indent, el, v, el, cswCodeList, typ, typ)
}

func cswParty(w *bufio.Writer, indent, el string, d *Dataset, role string) {
	fmt.Fprintf(w, "%s<%s><gmd:CI_ResponsibleParty>\n", indent, el)
	cswCS(w, indent+"  ", "gmd:organisationName", d.Publisher)
	fmt.Fprintf(w, "%s  <gmd:contactInfo><gmd:CI_Contact><gmd:address><gmd:CI_Address>", indent)
	fmt.Fprintf(w, "<gmd:electronicMailAddress><gco:CharacterString>%s</gco:CharacterString></gmd:electronicMailAddress>", xmlText(d.Contact))
	fmt.Fprintf(w, "</gmd:CI_Address></gmd:address></gmd:CI_Contact></gmd:contactInfo>\n")
	fmt.Fprintf(w, `%s  <gmd:role><gmd:CI_RoleCode codeList="%s#CI_RoleCode" codeListValue="%s">%s</gmd:CI_RoleCode></gmd:role>`+"\n", indent, cswCodeList, role, role)
	fmt.Fprintf(w, "%s</gmd:CI_ResponsibleParty></%s>\n", indent, el)
}

// cswBBox is the box of the dataset's commune (±0.05°), or of its
// territory's communes.
func cswBBox(src *source, d *Dataset) (w, s, e, n float64) {
	if d.SpatialINSEE != "" {
		return d.Lon - 0.05, d.Lat - 0.04, d.Lon + 0.05, d.Lat + 0.04
	}
	w, s, e, n = 180, 90, -180, -90
	member, terr := "", ""
	if src.cfg.Member != nil {
		member = src.cfg.Member.Name
	}
	if src.cfg.Territory != nil {
		terr = src.cfg.Territory.ID
	}
	list, _ := communesOf(terr, member)
	for _, c := range list {
		w, e = math.Min(w, c.Lon), math.Max(e, c.Lon)
		s, n = math.Min(s, c.Lat), math.Max(n, c.Lat)
	}
	if w > e {
		return -5.2, 41.3, 9.6, 51.1 // France
	}
	return w - 0.1, s - 0.1, e + 0.1, n + 0.1
}

func cswISO(w *bufio.Writer, src *source, d *Dataset) {
	id := cswID(src, d)
	in := "        "
	w.WriteString(`    <gmd:MD_Metadata xmlns:gmd="http://www.isotc211.org/2005/gmd" xmlns:gco="http://www.isotc211.org/2005/gco" xmlns:gmx="http://www.isotc211.org/2005/gmx" xmlns:xlink="http://www.w3.org/1999/xlink" xmlns:geonet="http://www.fao.org/geonetwork">` + "\n")
	cswCS(w, "      ", "gmd:fileIdentifier", id)
	fmt.Fprintf(w, `      <gmd:language><gmd:LanguageCode codeList="http://www.loc.gov/standards/iso639-2/" codeListValue="fre">fre</gmd:LanguageCode></gmd:language>`+"\n")
	fmt.Fprintf(w, `      <gmd:characterSet><gmd:MD_CharacterSetCode codeList="%s#MD_CharacterSetCode" codeListValue="utf8">utf8</gmd:MD_CharacterSetCode></gmd:characterSet>`+"\n", cswCodeList)
	fmt.Fprintf(w, `      <gmd:hierarchyLevel><gmd:MD_ScopeCode codeList="%s#MD_ScopeCode" codeListValue="dataset">dataset</gmd:MD_ScopeCode></gmd:hierarchyLevel>`+"\n", cswCodeList)
	cswParty(w, "      ", "gmd:contact", d, "pointOfContact")
	fmt.Fprintf(w, "      <gmd:dateStamp><gco:DateTime>%s</gco:DateTime></gmd:dateStamp>\n", d.Modified.UTC().Format("2006-01-02T15:04:05"))
	cswCS(w, "      ", "gmd:metadataStandardName", "ISO 19115:2003/19139")
	w.WriteString("      <gmd:identificationInfo><gmd:MD_DataIdentification>\n")
	w.WriteString(in + "<gmd:citation><gmd:CI_Citation>\n")
	cswCS(w, in+"  ", "gmd:title", d.Title)
	cswDate(w, in+"  ", d.Created, "creation")
	cswDate(w, in+"  ", d.Modified, "revision")
	fmt.Fprintf(w, "%s  <gmd:identifier><gmd:RS_Identifier><gmd:code><gco:CharacterString>%s</gco:CharacterString></gmd:code></gmd:RS_Identifier></gmd:identifier>\n", in, xmlText(d.URI))
	w.WriteString(in + "</gmd:CI_Citation></gmd:citation>\n")
	cswCS(w, in, "gmd:abstract", d.Description)
	cswParty(w, in, "gmd:pointOfContact", d, "owner")
	w.WriteString(in + "<gmd:descriptiveKeywords><gmd:MD_Keywords>\n")
	for _, k := range d.Keywords {
		cswCS(w, in+"  ", "gmd:keyword", k)
	}
	w.WriteString(in + "</gmd:MD_Keywords></gmd:descriptiveKeywords>\n")
	text, href := cswLicence(d)
	w.WriteString(in + "<gmd:resourceConstraints><gmd:MD_LegalConstraints>\n")
	cswCS(w, in+"  ", "gmd:useLimitation", text)
	fmt.Fprintf(w, `%s  <gmd:accessConstraints><gmd:MD_RestrictionCode codeList="%s#MD_RestrictionCode" codeListValue="otherRestrictions">otherRestrictions</gmd:MD_RestrictionCode></gmd:accessConstraints>`+"\n", in, cswCodeList)
	if href != "" && len(d.Name)%2 == 0 {
		fmt.Fprintf(w, `%s  <gmd:otherConstraints><gmx:Anchor xlink:href="%s">%s</gmx:Anchor></gmd:otherConstraints>`+"\n", in, xmlIRI(href), xmlText(d.LicenseTitle))
	}
	w.WriteString(in + "</gmd:MD_LegalConstraints></gmd:resourceConstraints>\n")
	fmt.Fprintf(w, `%s<gmd:language><gmd:LanguageCode codeList="http://www.loc.gov/standards/iso639-2/" codeListValue="fre">fre</gmd:LanguageCode></gmd:language>`+"\n", in)
	seen := map[string]bool{}
	for _, th := range d.Themes {
		if tc := cswTopics[th]; tc != "" && !seen[tc] {
			seen[tc] = true
			fmt.Fprintf(w, "%s<gmd:topicCategory><gmd:MD_TopicCategoryCode>%s</gmd:MD_TopicCategoryCode></gmd:topicCategory>\n", in, tc)
		}
	}
	bw, bs, be, bn := cswBBox(src, d)
	w.WriteString(in + "<gmd:extent><gmd:EX_Extent>\n")
	if d.SpatialLabel != "" {
		cswCS(w, in+"  ", "gmd:description", d.SpatialLabel)
	}
	fmt.Fprintf(w, "%s  <gmd:geographicElement><gmd:EX_GeographicBoundingBox><gmd:westBoundLongitude><gco:Decimal>%.5f</gco:Decimal></gmd:westBoundLongitude><gmd:eastBoundLongitude><gco:Decimal>%.5f</gco:Decimal></gmd:eastBoundLongitude><gmd:southBoundLatitude><gco:Decimal>%.5f</gco:Decimal></gmd:southBoundLatitude><gmd:northBoundLatitude><gco:Decimal>%.5f</gco:Decimal></gmd:northBoundLatitude></gmd:EX_GeographicBoundingBox></gmd:geographicElement>\n", in, bw, be, bs, bn)
	w.WriteString(in + "</gmd:EX_Extent></gmd:extent>\n")
	w.WriteString("      </gmd:MD_DataIdentification></gmd:identificationInfo>\n")
	// Distribution: the files (WWW:DOWNLOAD) and a WMS layer.
	w.WriteString("      <gmd:distributionInfo><gmd:MD_Distribution>\n")
	for _, r := range d.Resources {
		fmt.Fprintf(w, "%s<gmd:distributionFormat><gmd:MD_Format><gmd:name><gco:CharacterString>%s</gco:CharacterString></gmd:name><gmd:version gco:nilReason=\"unknown\"/></gmd:MD_Format></gmd:distributionFormat>\n", in, xmlText(r.Format))
	}
	w.WriteString(in + "<gmd:transferOptions><gmd:MD_DigitalTransferOptions>\n")
	online := func(link, proto, name, desc string) {
		fmt.Fprintf(w, "%s  <gmd:onLine><gmd:CI_OnlineResource><gmd:linkage><gmd:URL>%s</gmd:URL></gmd:linkage>", in, xmlText(link))
		fmt.Fprintf(w, "<gmd:protocol><gco:CharacterString>%s</gco:CharacterString></gmd:protocol>", xmlText(proto))
		fmt.Fprintf(w, "<gmd:name><gco:CharacterString>%s</gco:CharacterString></gmd:name>", xmlText(name))
		if desc != "" {
			fmt.Fprintf(w, "<gmd:description><gco:CharacterString>%s</gco:CharacterString></gmd:description>", xmlText(desc))
		}
		w.WriteString("</gmd:CI_OnlineResource></gmd:onLine>\n")
	}
	for _, r := range d.Resources {
		online(r.URL, "WWW:DOWNLOAD-1.0-http--download", r.Title, "")
	}
	if d.SpatialINSEE != "" || len(d.Name)%3 == 0 {
		online(src.portalURL()+"/geoserver/ows?SERVICE=WMS&", "OGC:WMS", d.Name, d.Title)
	}
	w.WriteString(in + "</gmd:MD_DigitalTransferOptions></gmd:transferOptions>\n")
	w.WriteString("      </gmd:MD_Distribution></gmd:distributionInfo>\n")
	w.WriteString("    </gmd:MD_Metadata>\n")
}

// cswDC writes a Dublin Core csw:Record (the default outputSchema).
func cswDC(w *bufio.Writer, src *source, d *Dataset) {
	w.WriteString(`    <csw:Record xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:dct="http://purl.org/dc/terms/" xmlns:ows="http://www.opengis.net/ows">` + "\n")
	fmt.Fprintf(w, "      <dc:identifier>%s</dc:identifier>\n      <dc:title>%s</dc:title>\n      <dc:type>dataset</dc:type>\n", cswID(src, d), xmlText(d.Title))
	for _, k := range d.Keywords {
		fmt.Fprintf(w, "      <dc:subject>%s</dc:subject>\n", xmlText(k))
	}
	fmt.Fprintf(w, "      <dct:modified>%s</dct:modified>\n      <dct:abstract>%s</dct:abstract>\n", d.Modified.UTC().Format("2006-01-02"), xmlText(d.Description))
	fmt.Fprintf(w, "      <dc:publisher>%s</dc:publisher>\n", xmlText(d.Publisher))
	for _, r := range d.Resources {
		fmt.Fprintf(w, "      <dc:URI protocol=\"WWW:DOWNLOAD-1.0-http--download\" name=\"%s\">%s</dc:URI>\n", xmlIRI(r.Title), xmlText(r.URL))
	}
	bw, bs, be, bn := cswBBox(src, d)
	fmt.Fprintf(w, "      <ows:BoundingBox crs=\"urn:ogc:def:crs:EPSG:6.6:4326\"><ows:LowerCorner>%.5f %.5f</ows:LowerCorner><ows:UpperCorner>%.5f %.5f</ows:UpperCorner></ows:BoundingBox>\n", bs, bw, bn, be)
	w.WriteString("    </csw:Record>\n")
}
