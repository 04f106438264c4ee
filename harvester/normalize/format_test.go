package normalize

import "testing"

func TestFormatTableRows(t *testing.T) {
	seenKey := map[string]string{}
	seenExt := map[string]string{}
	names := map[string]bool{}
	for _, row := range formats {
		if names[row.Name] {
			t.Errorf("format %q appears twice", row.Name)
		}
		names[row.Name] = true
		if len(row.Aliases)+len(row.Extensions)+len(row.Examples) == 0 {
			t.Errorf("format %q: no alias, extension nor example", row.Name)
		}
		if row.Name != "" {
			if got := Format(row.Name); got != row.Name {
				t.Errorf("Format(name %q) = %q", row.Name, got)
			}
			if got := MediaType(row.Name); got != row.MediaType {
				t.Errorf("MediaType(%q) = %q, want %q", row.Name, got, row.MediaType)
			}
			if row.MediaType != "" {
				if got := Format(row.MediaType); got != row.Name {
					t.Errorf("Format(media type %q) = %q, want %q", row.MediaType, got, row.Name)
				}
			}
		}
		check := func(kind, in string) {
			k := formatKey(in)
			if prev, dup := seenKey[k]; dup && prev != row.Name {
				t.Errorf("%s %q (key %q) in formats %q and %q", kind, in, k, prev, row.Name)
			}
			seenKey[k] = row.Name
			if got := Format(in); got != row.Name {
				t.Errorf("Format(%s %q) = %q, want %q", kind, in, got, row.Name)
			}
		}
		for _, e := range row.Extensions {
			if prev, dup := seenExt[e]; dup {
				t.Errorf("extension %q in %q and %q", e, prev, row.Name)
			}
			seenExt[e] = row.Name
			check("extension", e)
			check("extension", "."+e)
			if got := FormatFromURL("https://example.org/a/b/file." + e + "?x=1.zip#y"); got != row.Name {
				t.Errorf("FormatFromURL(*.%s) = %q, want %q", e, got, row.Name)
			}
		}
		for _, a := range row.Aliases {
			check("alias", a)
		}
		for _, e := range row.Examples {
			if got := Format(e); got != row.Name {
				t.Errorf("Format(example %q) = %q, want %q", e, got, row.Name)
			}
		}
	}
}

func TestFormatMore(t *testing.T) {
	for in, want := range map[string]string{
		"text/csv":                "CSV",
		"text/csv; charset=utf-8": "CSV",
		"csv":                     "CSV",
		".csv":                    "CSV",
		"CSV":                     "CSV",
		" Csv ":                   "CSV",
		"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "XLSX",
		"http://publications.europa.eu/resource/authority/file-type/CSV":    "CSV",
		"https://www.iana.org/assignments/media-types/text/csv":             "CSV",
		"https://www.iana.org/assignments/media-types/application/json":     "JSON",
		"ESRI Shapefile":           "SHP",
		"shp":                      "SHP",
		"application/zip":          "ZIP",
		"geojson":                  "GeoJSON",
		"application/geo+json":     "GeoJSON",
		"OGC:WMS":                  "WMS",
		"OGC:WFS":                  "WFS",
		"image/tiff":               "TIFF",
		"Web Page":                 "HTML",
		"page web":                 "HTML",
		"application/octet-stream": "",
		"":                         "",
		"csv excel":                "CSV EXCEL",
		"  r   package ":           "R PACKAGE",
		"xcls":                     "XCLS",
	} {
		if got := Format(in); got != want {
			t.Errorf("Format(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestFormatFromURL(t *testing.T) {
	for in, want := range map[string]string{
		"https://data.example.fr/files/budget.csv":                                                      "CSV",
		"https://data.example.fr/files/BUDGET.CSV?download=1&f=x.json":                                  "CSV",
		"https://data.example.fr/files/data.csv.zip":                                                    "ZIP",
		"https://data.rennesmetropole.fr/api/explore/v2.1/catalog/datasets/x/exports/geojson":           "GeoJSON",
		"https://data.rennesmetropole.fr/api/explore/v2.1/catalog/datasets/x/exports/csv?delimiter=%3B": "CSV",
		"https://data.example.fr/dataset/x":                                                             "",
		"https://data.example.fr/page.php":                                                              "",
		"https://data.example.fr/":                                                                      "",
		"":                                                                                              "",
		"/relative/path/carte.kmz":                                                                      "KMZ",
		"https://example.org/ows?service=WMS&request=GetCapabilities":                                   "",
	} {
		if got := FormatFromURL(in); got != want {
			t.Errorf("FormatFromURL(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestMediaTypeUnknown(t *testing.T) {
	for in, want := range map[string]string{"csv": "text/csv", " GeoJSON ": "application/geo+json", "WMS": "", "NOPE": "", "": ""} {
		if got := MediaType(in); got != want {
			t.Errorf("MediaType(%q) = %q, want %q", in, got, want)
		}
	}
}
