package dcat

// DCAT-US / Project Open Data "data.json" (https://resources.data.gov/resources/dcat-us/),
// served by ArcGIS Hub, Socrata, DKAN and CKAN (ckanext-datajson). Its
// @context is remote (project-open-data.cio.gov/v1.1/schema/catalog.jsonld)
// and a harvester must not fetch contexts, so the format is read natively:
// the "dataset" array is decoded one dataset at a time.

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/opendatafrance/moisson/harvester/normalize"
	"github.com/opendatafrance/moisson/harvester/rdf"
	"github.com/opendatafrance/moisson/harvester/source"
	"github.com/opendatafrance/moisson/harvester/source/jsonwalk"
	moissonv1 "github.com/opendatafrance/moisson/proto/moisson/v1"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// IsPOD tells from the first bytes of a JSON document whether it is a
// Project Open Data catalogue: it declares the POD schema, or its object has
// a "dataset" array and no JSON-LD @graph.
func IsPOD(head []byte) bool {
	s := string(bytes.TrimSpace(bytes.TrimPrefix(head, []byte("\ufeff"))))
	if !strings.HasPrefix(s, "{") {
		return false
	}
	if strings.Contains(s, "project-open-data.cio.gov") || strings.Contains(s, "resources.data.gov/schemas/dcat-us") {
		return true
	}
	return strings.Contains(s, `"dataset"`) && !strings.Contains(s, `"@graph"`) && !strings.Contains(s, `"@id"`) &&
		strings.Contains(s, `"accessLevel"`)
}

// podDataset is the part of a POD dataset Moisson reads.
type podDataset struct {
	ID                 string       `json:"@id"`
	Identifier         podText      `json:"identifier"`
	Title              podText      `json:"title"`
	Description        podText      `json:"description"`
	Keyword            podList      `json:"keyword"`
	Theme              podList      `json:"theme"`
	Issued             podText      `json:"issued"`
	Modified           podText      `json:"modified"`
	Publisher          *podAgent    `json:"publisher"`
	ContactPoint       *podContact  `json:"contactPoint"`
	LandingPage        podText      `json:"landingPage"`
	License            podText      `json:"license"`
	Rights             podText      `json:"rights"`
	Language           podList      `json:"language"`
	AccrualPeriodicity podText      `json:"accrualPeriodicity"`
	Spatial            podText      `json:"spatial"`
	Temporal           podText      `json:"temporal"`
	ConformsTo         podList      `json:"conformsTo"`
	Distribution       []podDistrib `json:"distribution"`
}

type podAgent struct {
	Name podText `json:"name"`
}

// UnmarshalJSON accepts {"name": ...} or a bare name.
func (a *podAgent) UnmarshalJSON(b []byte) error {
	var s podText
	if json.Unmarshal(b, &s) == nil && s != "" {
		a.Name = s
		return nil
	}
	var v struct {
		Name podText `json:"name"`
	}
	if json.Unmarshal(b, &v) == nil {
		a.Name = v.Name
	}
	return nil
}

type podContact struct {
	FN       podText `json:"fn"`
	HasEmail podText `json:"hasEmail"`
}

type podDistrib struct {
	Title       podText `json:"title"`
	DownloadURL podText `json:"downloadURL"`
	AccessURL   podText `json:"accessURL"`
	MediaType   podText `json:"mediaType"`
	Format      podText `json:"format"`
	ConformsTo  podText `json:"conformsTo"`
	DescribedBy podText `json:"describedBy"`
}

// podText is a string; numbers and booleans are kept as text, anything else ignored.
type podText string

func (t *podText) UnmarshalJSON(b []byte) error {
	if s, ok := jsonwalk.PlainString(b); ok {
		*t = podText(strings.TrimSpace(s))
		return nil
	}
	var s string
	if json.Unmarshal(b, &s) == nil {
		*t = podText(strings.TrimSpace(s))
		return nil
	}
	var n json.Number
	if json.Unmarshal(b, &n) == nil {
		*t = podText(n.String())
	}
	return nil
}

// podList is a list of strings or one string.
type podList []string

func (l *podList) UnmarshalJSON(b []byte) error {
	var list []podText
	if json.Unmarshal(b, &list) == nil {
		for _, v := range list {
			if v != "" {
				*l = append(*l, string(v))
			}
		}
		return nil
	}
	var s podText
	if json.Unmarshal(b, &s) == nil && s != "" {
		*l = podList{string(s)}
	}
	return nil
}

// readPOD streams a POD catalogue: {"conformsTo", ..., "dataset": [ ... ]}.
func readPOD(r io.Reader, fn func(source.Record) error, problem func(id, msg string)) error {
	dec := json.NewDecoder(r)
	dec.UseNumber()
	perr := func(msg string) error {
		return &rdf.ParseError{Syntax: "data.json", Line: 1, Col: int(dec.InputOffset()) + 1,
			Msg: fmt.Sprintf("at byte %d: %s", dec.InputOffset(), msg)}
	}
	tok, err := dec.Token()
	if err != nil {
		return perr("not JSON: " + err.Error())
	}
	if tok != json.Delim('{') {
		return perr("a data.json catalogue is a JSON object")
	}
	found := false
	for dec.More() {
		k, err := dec.Token()
		if err != nil {
			return perr(err.Error())
		}
		if k != "dataset" {
			var skip json.RawMessage
			if err := dec.Decode(&skip); err != nil {
				return perr(fmt.Sprintf("%v: %v", k, err))
			}
			continue
		}
		found = true
		t, err := dec.Token()
		if err != nil {
			return perr("dataset: " + err.Error())
		}
		if t != json.Delim('[') {
			return perr("dataset is not a list")
		}
		for i := 1; dec.More(); i++ {
			var d podDataset
			if err := dec.Decode(&d); err != nil {
				var te *json.UnmarshalTypeError
				if errors.As(err, &te) {
					// a dataset of the wrong shape: report it, go on
					if problem != nil {
						problem(fmt.Sprintf("#%d", i), "dataset: "+err.Error())
					}
					continue
				}
				return perr(fmt.Sprintf("dataset %d: %v", i, err))
			}
			rec, err := podRecord(&d)
			if err != nil {
				if problem != nil {
					problem(normalize.First(string(d.Identifier), fmt.Sprintf("#%d", i)), err.Error())
				}
				continue
			}
			if err := fn(rec); err != nil {
				return err
			}
		}
		if _, err := dec.Token(); err != nil {
			return perr("truncated dataset list: " + err.Error())
		}
	}
	if _, err := dec.Token(); err != nil {
		return perr("truncated catalogue: " + err.Error())
	}
	if !found {
		return perr(`no "dataset" list: not a data.json catalogue`)
	}
	return nil
}

func podRecord(p *podDataset) (source.Record, error) {
	d := &moissonv1.Dataset{
		OriginalId:  string(p.Identifier),
		Title:       normalize.Text(string(p.Title)),
		Description: normalize.Text(string(p.Description)),
		Keywords:    normalize.Unique(p.Keyword),
		LandingPage: string(p.LandingPage),
	}
	if strings.HasPrefix(p.ID, "http://") || strings.HasPrefix(p.ID, "https://") {
		d.Uri = p.ID
	}
	if d.OriginalId == "" {
		d.OriginalId = d.Uri
	}
	if d.OriginalId == "" {
		return source.Record{}, errors.New("dataset without identifier")
	}
	if d.Title == "" {
		return source.Record{}, fmt.Errorf("dataset %s has no title", d.OriginalId)
	}
	d.RawThemes = normalize.Unique(p.Theme)
	d.Themes = normalize.Themes(append(append([]string{}, d.RawThemes...), d.Keywords...))
	if len(p.Language) > 0 {
		d.Language = languageCode(p.Language[0])
	}
	if p.Publisher != nil && p.Publisher.Name != "" {
		d.Publisher = &moissonv1.Publisher{Name: normalize.Text(string(p.Publisher.Name))}
	}
	if c := p.ContactPoint; c != nil && (c.FN != "" || c.HasEmail != "") {
		d.ContactPoint = &moissonv1.ContactPoint{Name: string(c.FN), Email: strings.TrimPrefix(string(c.HasEmail), "mailto:")}
	}
	if t, ok := normalize.Date(d, "issued", string(p.Issued)); ok {
		d.Issued = timestamppb.New(t)
	}
	if t, ok := normalize.Date(d, "modified", string(p.Modified)); ok {
		d.Modified = timestamppb.New(t)
	}
	d.AccrualPeriodicity = string(p.AccrualPeriodicity)
	if v := string(p.Temporal); v != "" {
		if a, b, ok := strings.Cut(v, "/"); ok {
			tp := &moissonv1.Temporal{}
			if t, ok := normalize.Time(a); ok {
				tp.Start = timestamppb.New(t)
			}
			if t, ok := normalize.Time(b); ok {
				tp.End = timestamppb.New(t)
			}
			if tp.Start != nil || tp.End != nil {
				d.Temporal = tp
			}
		}
	}
	if v := string(p.Spatial); v != "" {
		sp := &moissonv1.Spatial{}
		if strings.HasPrefix(v, "http://") || strings.HasPrefix(v, "https://") {
			sp.Uri = v
			sp.InseeCode = normalize.INSEE(v)
		} else if bb, ok := podBBox(v); ok {
			sp.Bbox = bb // POD: "west,south,east,north"
		} else {
			sp.Label = v
		}
		d.Spatial = sp
	}
	d.ConformsTo = append(d.ConformsTo, p.ConformsTo...)
	for _, x := range p.Distribution {
		dist := &moissonv1.Distribution{
			Title:       normalize.Text(string(x.Title)),
			DownloadUrl: string(x.DownloadURL),
			Url:         normalize.First(string(x.AccessURL), string(x.DownloadURL)),
			MediaType:   string(x.MediaType),
		}
		dist.Format = normalize.Format(string(x.Format))
		if dist.Format == "" && dist.MediaType != "" {
			dist.Format = normalize.Format(dist.MediaType)
		}
		if dist.Format == "" {
			dist.Format = normalize.FormatFromURL(normalize.First(dist.DownloadUrl, dist.Url))
		}
		if dist.MediaType == "" {
			dist.MediaType = normalize.MediaType(dist.Format)
		}
		if v := normalize.First(string(x.ConformsTo), string(x.DescribedBy)); v != "" {
			dist.ConformsTo = []string{v}
			d.ConformsTo = append(d.ConformsTo, v)
		}
		d.Distributions = append(d.Distributions, dist)
	}
	d.ConformsTo = normalize.Unique(d.ConformsTo)
	raw := normalize.Text(normalize.First(string(p.License), string(p.Rights)))
	d.License = &moissonv1.License{Raw: raw, Normalized: normalize.License(raw)}
	return source.Record{Dataset: d}, nil
}

func podBBox(v string) (*moissonv1.BBox, bool) {
	parts := strings.Split(v, ",")
	if len(parts) != 4 {
		return nil, false
	}
	var f [4]float64
	for i, p := range parts {
		x, err := strconv.ParseFloat(strings.TrimSpace(p), 64)
		if err != nil {
			return nil, false
		}
		f[i] = x
	}
	if f[0] > f[2] || f[1] > f[3] || f[1] < -90 || f[3] > 90 || f[0] < -180 || f[2] > 180 {
		return nil, false
	}
	return &moissonv1.BBox{West: f[0], South: f[1], East: f[2], North: f[3]}, true
}
