package normalize

import (
	"net/url"
	"path"
	"regexp"
	"strings"
)

// formatRow is one canonical distribution format.
//
// Extensions are file extensions without the dot (used by FormatFromURL and
// by Format for "csv" / ".csv"). Aliases are media types and labels, compared
// after formatKey (lower-cased, parameters after ';' dropped, the EU
// file-type and IANA URI prefixes dropped, a leading '.' dropped). Examples
// are other raw strings that must map to Name; the tests check all three.
type formatRow struct {
	Name       string // canonical name; "" for values that say nothing about the format
	MediaType  string // canonical media type ("" when none is registered or usual)
	Extensions []string
	Aliases    []string
	Examples   []string
}

// formats is THE format table.
//
// Rules: the first row (Name "") lists values that carry no format at all
// (application/octet-stream, GeoNetwork's WWW:LINK / WWW:DOWNLOAD protocols,
// CKAN's "file"/"remote"): Format gives "" for them so a caller can fall back
// on FormatFromURL. GeoNetwork protocols with a version suffix
// ("OGC:WMS-1.3.0-http-get-map") are looked up without the suffix. A value
// found nowhere comes back trimmed and upper-cased.
var formats = []formatRow{
	{Name: "", Aliases: []string{"application/octet-stream", "binary/octet-stream", "WWW:LINK", "WWW:DOWNLOAD",
		"file", "remote", "unknown", "inconnu", "other", "autre", "n/a", "none"},
		Examples: []string{"WWW:LINK-1.0-http--link", "WWW:DOWNLOAD-1.0-http--download", "  "}},
	{Name: "CSV", MediaType: "text/csv", Extensions: []string{"csv"},
		Aliases:  []string{"text/csv", "application/csv", "text/comma-separated-values", "text/x-csv", "application/x-csv"},
		Examples: []string{"text/csv; charset=utf-8", "CSV", ".CSV", "http://publications.europa.eu/resource/authority/file-type/CSV", "https://www.iana.org/assignments/media-types/text/csv"}},
	{Name: "TSV", MediaType: "text/tab-separated-values", Extensions: []string{"tsv", "tab-separated-values"},
		Aliases: []string{"text/tab-separated-values"}},
	{Name: "JSON", MediaType: "application/json", Extensions: []string{"json"},
		Aliases: []string{"application/json", "text/json", "application/x-json"}, Examples: []string{"application/json; charset=utf-8"}},
	{Name: "GeoJSON", MediaType: "application/geo+json", Extensions: []string{"geojson"},
		Aliases: []string{"application/geo+json", "application/vnd.geo+json", "geo+json", "geo json"}, Examples: []string{"GEOJSON", "http://publications.europa.eu/resource/authority/file-type/GEOJSON"}},
	{Name: "JSON-LD", MediaType: "application/ld+json", Extensions: []string{"jsonld"},
		Aliases: []string{"application/ld+json", "json-ld", "json ld"}},
	{Name: "NDJSON", MediaType: "application/x-ndjson", Extensions: []string{"ndjson", "jsonl"},
		Aliases: []string{"application/x-ndjson", "application/jsonl", "json lines"}},
	{Name: "XML", MediaType: "application/xml", Extensions: []string{"xml"},
		Aliases: []string{"application/xml", "text/xml"}},
	{Name: "RDF", MediaType: "application/rdf+xml", Extensions: []string{"rdf", "owl"},
		Aliases: []string{"application/rdf+xml", "rdf/xml", "rdf-xml", "rdfxml"}},
	{Name: "Turtle", MediaType: "text/turtle", Extensions: []string{"ttl"},
		Aliases: []string{"text/turtle", "application/x-turtle", "turtle"}},
	{Name: "N-Triples", MediaType: "application/n-triples", Extensions: []string{"nt"},
		Aliases: []string{"application/n-triples", "n-triples", "ntriples"}},
	{Name: "XLSX", MediaType: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", Extensions: []string{"xlsx"},
		Aliases: []string{"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "excel 2007", "ms excel 2007"}},
	{Name: "XLS", MediaType: "application/vnd.ms-excel", Extensions: []string{"xls"},
		Aliases: []string{"application/vnd.ms-excel", "application/xls", "application/excel", "application/x-excel", "application/x-msexcel", "excel", "ms excel"}},
	{Name: "ODS", MediaType: "application/vnd.oasis.opendocument.spreadsheet", Extensions: []string{"ods"},
		Aliases: []string{"application/vnd.oasis.opendocument.spreadsheet"}},
	{Name: "DOCX", MediaType: "application/vnd.openxmlformats-officedocument.wordprocessingml.document", Extensions: []string{"docx"},
		Aliases: []string{"application/vnd.openxmlformats-officedocument.wordprocessingml.document"}},
	{Name: "DOC", MediaType: "application/msword", Extensions: []string{"doc"},
		Aliases: []string{"application/msword", "word"}},
	{Name: "ODT", MediaType: "application/vnd.oasis.opendocument.text", Extensions: []string{"odt"},
		Aliases: []string{"application/vnd.oasis.opendocument.text"}},
	{Name: "PPTX", MediaType: "application/vnd.openxmlformats-officedocument.presentationml.presentation", Extensions: []string{"pptx"},
		Aliases: []string{"application/vnd.openxmlformats-officedocument.presentationml.presentation"}},
	{Name: "PDF", MediaType: "application/pdf", Extensions: []string{"pdf"},
		Aliases: []string{"application/pdf", "application/x-pdf"}},
	{Name: "HTML", MediaType: "text/html", Extensions: []string{"html", "htm"},
		Aliases: []string{"text/html", "application/xhtml+xml", "web page", "page web", "webpage", "site web", "www", "web"}},
	{Name: "TXT", MediaType: "text/plain", Extensions: []string{"txt"},
		Aliases: []string{"text/plain", "text", "texte"}},
	{Name: "ZIP", MediaType: "application/zip", Extensions: []string{"zip"},
		Aliases: []string{"application/zip", "application/x-zip-compressed", "application/x-zip", "multipart/x-zip"}},
	{Name: "7Z", MediaType: "application/x-7z-compressed", Extensions: []string{"7z"},
		Aliases: []string{"application/x-7z-compressed"}},
	{Name: "GZIP", MediaType: "application/gzip", Extensions: []string{"gz", "tgz"},
		Aliases: []string{"application/gzip", "application/x-gzip", "gzip"}},
	{Name: "SHP", MediaType: "application/x-shapefile", Extensions: []string{"shp"},
		Aliases: []string{"shapefile", "esri shapefile", "esri shapefile (shp)", "shape", "application/x-shapefile",
			"application/vnd.shp", "x-gis/x-shapefile", "shp (zip)", "zip (shp)", "shapefile (zip)"},
		Examples: []string{"ESRI Shapefile", "ESRI Shapefile (SHP)", "shp", "Shapefile"}},
	{Name: "KML", MediaType: "application/vnd.google-earth.kml+xml", Extensions: []string{"kml"},
		Aliases: []string{"application/vnd.google-earth.kml+xml", "GLG:KML"}, Examples: []string{"GLG:KML-2.0-http-get-map"}},
	{Name: "KMZ", MediaType: "application/vnd.google-earth.kmz", Extensions: []string{"kmz"},
		Aliases: []string{"application/vnd.google-earth.kmz"}},
	{Name: "GML", MediaType: "application/gml+xml", Extensions: []string{"gml"},
		Aliases: []string{"application/gml+xml", "gml2", "gml3", "gml 3.2"}},
	{Name: "GPX", MediaType: "application/gpx+xml", Extensions: []string{"gpx"},
		Aliases: []string{"application/gpx+xml"}},
	{Name: "GPKG", MediaType: "application/geopackage+sqlite3", Extensions: []string{"gpkg"},
		Aliases: []string{"application/geopackage+sqlite3", "geopackage", "ogc geopackage"}},
	{Name: "MapInfo", Extensions: []string{"tab", "mif"},
		Aliases: []string{"mapinfo tab", "mapinfo mif", "mapinfo mif/mid", "mapinfo"}, Examples: []string{"MapInfo TAB"}},
	{Name: "DXF", MediaType: "image/vnd.dxf", Extensions: []string{"dxf"}, Aliases: []string{"image/vnd.dxf", "application/dxf"}},
	{Name: "GeoTIFF", MediaType: "image/tiff; application=geotiff", Extensions: []string{"geotiff"},
		Aliases: []string{"geotiff", "image/geotiff", "image/tiff; application=geotiff"}},
	{Name: "TIFF", MediaType: "image/tiff", Extensions: []string{"tif", "tiff"}, Aliases: []string{"image/tiff"}},
	{Name: "JPEG", MediaType: "image/jpeg", Extensions: []string{"jpg", "jpeg"}, Aliases: []string{"image/jpeg", "image/jpg"}},
	{Name: "PNG", MediaType: "image/png", Extensions: []string{"png"}, Aliases: []string{"image/png"}},
	{Name: "SVG", MediaType: "image/svg+xml", Extensions: []string{"svg"}, Aliases: []string{"image/svg+xml"}},
	{Name: "MP4", MediaType: "video/mp4", Extensions: []string{"mp4"}, Aliases: []string{"video/mp4"}},
	{Name: "NetCDF", MediaType: "application/x-netcdf", Extensions: []string{"nc", "netcdf"},
		Aliases: []string{"application/x-netcdf", "application/netcdf", "netcdf4", "netcdf3", "netcdf-4"}, Examples: []string{"NetCDF4"}},
	{Name: "Parquet", MediaType: "application/vnd.apache.parquet", Extensions: []string{"parquet"},
		Aliases: []string{"application/vnd.apache.parquet", "application/x-parquet", "apache parquet"}},
	{Name: "SQL", MediaType: "application/sql", Extensions: []string{"sql"}, Aliases: []string{"application/sql"}},
	{Name: "GTFS", Extensions: []string{"gtfs"}, Aliases: []string{"gtfs-rt", "netex"}},
	{Name: "WMS", Aliases: []string{"OGC:WMS", "wms", "application/vnd.ogc.wms_xml", "ogc wms"},
		Examples: []string{"OGC:WMS-1.3.0-http-get-map", "OGC:WMS-1.3.0-http-get-capabilities"}},
	{Name: "WMTS", Aliases: []string{"OGC:WMTS", "wmts"}, Examples: []string{"OGC:WMTS-1.0.0-http-get-capabilities"}},
	{Name: "WFS", Aliases: []string{"OGC:WFS", "wfs", "ogc wfs"}, Examples: []string{"OGC:WFS-1.1.0-http-get-feature"}},
	{Name: "WCS", Aliases: []string{"OGC:WCS", "wcs"}},
	{Name: "CSW", Aliases: []string{"OGC:CSW", "csw", "application/vnd.ogc.csw_xml"}},
	{Name: "ArcGIS REST", Aliases: []string{"ArcGIS GeoServices REST API", "esri rest", "ESRI:REST", "arcgis rest api", "arcgis"}},
	{Name: "API", Aliases: []string{"api", "rest api", "api rest", "REST", "application/vnd.oai.openapi+json", "openapi", "swagger"}},
}

var (
	formatByKey    map[string]*formatRow
	formatByExt    map[string]*formatRow
	formatByName   map[string]*formatRow
	formatProtocol = regexp.MustCompile(`^([a-z0-9]+:[a-z0-9_]+)-[0-9]`)
	formatPrefixes = []string{
		"http://publications.europa.eu/resource/authority/file-type/",
		"https://publications.europa.eu/resource/authority/file-type/",
		"http://www.iana.org/assignments/media-types/",
		"https://www.iana.org/assignments/media-types/",
		"http://iana.org/assignments/media-types/",
		"https://iana.org/assignments/media-types/",
	}
)

func init() {
	formatByKey = map[string]*formatRow{}
	formatByExt = map[string]*formatRow{}
	formatByName = map[string]*formatRow{}
	for i := range formats {
		r := &formats[i]
		if r.Name != "" {
			formatByName[strings.ToLower(r.Name)] = r
			formatByKey[formatKey(r.Name)] = r
		}
		for _, e := range r.Extensions {
			formatByExt[e] = r
			formatByKey[formatKey(e)] = r
		}
		for _, a := range r.Aliases {
			formatByKey[formatKey(a)] = r
		}
	}
}

// formatKey is the comparison form of format values.
func formatKey(s string) string {
	s = strings.ToLower(strings.TrimSpace(s))
	for _, p := range formatPrefixes {
		if strings.HasPrefix(s, p) {
			s = s[len(p):]
			break
		}
	}
	if i := strings.IndexByte(s, ';'); i >= 0 && !strings.Contains(s, "application=geotiff") {
		s = s[:i]
	}
	s = strings.TrimPrefix(strings.TrimSpace(s), ".")
	return strings.Join(strings.Fields(s), " ")
}

// Format maps a media type, file extension, EU file-type URI, IANA URI,
// GeoNetwork protocol or label to a canonical format name (see the formats
// table); "" when the value says nothing about the format; otherwise the
// raw value trimmed and upper-cased.
func Format(raw string) string {
	k := formatKey(raw)
	if k == "" {
		return ""
	}
	if r, ok := formatByKey[k]; ok {
		return r.Name
	}
	if m := formatProtocol.FindStringSubmatch(k); m != nil {
		if r, ok := formatByKey[m[1]]; ok {
			return r.Name
		}
	}
	return strings.ToUpper(strings.Join(strings.Fields(raw), " "))
}

// FormatFromURL guesses the format from the extension of the URL's last
// path segment (query and fragment ignored): ".../data.csv?x=1" → CSV. A
// double extension counts its last part ("data.csv.zip" → ZIP). OpenDataSoft
// export paths without extension (".../exports/csv", ".../exports/geojson")
// count too. "" when there is no known extension.
func FormatFromURL(u string) string {
	p := u
	if pu, err := url.Parse(strings.TrimSpace(u)); err == nil {
		p = pu.Path
	} else if i := strings.IndexAny(p, "?#"); i >= 0 {
		p = p[:i]
	}
	p = strings.TrimSuffix(p, "/")
	base := strings.ToLower(path.Base(p))
	if ext := path.Ext(base); len(ext) > 1 {
		if r, ok := formatByExt[ext[1:]]; ok {
			return r.Name
		}
		return ""
	}
	if strings.EqualFold(path.Base(path.Dir(p)), "exports") {
		if r, ok := formatByExt[base]; ok {
			return r.Name
		}
	}
	return ""
}

// MediaType gives the canonical media type of a canonical format name
// (case-insensitive: "CSV" or "csv" → "text/csv"); "" when the format has
// none or is not known.
func MediaType(format string) string {
	if r, ok := formatByName[strings.ToLower(strings.TrimSpace(format))]; ok {
		return r.MediaType
	}
	return ""
}
