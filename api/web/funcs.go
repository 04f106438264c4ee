package web

import (
	"fmt"
	"html/template"
	"net/url"
	"strings"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"
)

func funcs(now func() time.Time) template.FuncMap {
	ts := func(t any) time.Time {
		switch x := t.(type) {
		case time.Time:
			return x
		case *time.Time:
			if x != nil {
				return *x
			}
		case *timestamppb.Timestamp:
			if x != nil {
				return x.AsTime()
			}
		}
		return time.Time{}
	}
	return template.FuncMap{
		"date":     func(t any) string { return frDate(ts(t)) },
		"datetime": func(t any) string { return frDateTime(ts(t)) },
		"iso": func(t any) string {
			if x := ts(t); !x.IsZero() {
				return x.UTC().Format(time.RFC3339)
			}
			return ""
		},
		"ago":       func(t any) string { return frAgo(ts(t), now()) },
		"isset":     func(t any) bool { return !ts(t).IsZero() },
		"duration":  frDuration,
		"int":       frInt,
		"bytes":     frBytes,
		"plural":    plural,
		"license":   LicenseLabel,
		"scdl":      SCDLLabel,
		"theme":     func(c string) string { return valueLabel("theme", c) },
		"territory": func(id string) string { return valueLabel("territory", id) },
		"status": func(s string) struct{ Label, Icon, Class string } {
			if l, ok := statusLabels[s]; ok {
				return l
			}
			return struct{ Label, Icon, Class string }{s, "?", "none"}
		},
		"errkind": func(k string) string {
			if l, ok := errorKindLabels[k]; ok {
				return l
			}
			return k
		},
		"disabled":  disabledReason,
		"schedule":  frSchedule,
		"protocol":  func(id string) string { return labelOr(protocolLabels, id) },
		"software":  func(id string) string { return labelOr(softwareLabels, id) },
		"diagnosis": diagnosis,
		"excerpt":   excerpt,
		"join":      strings.Join,
		"add":       func(a, b int) int { return a + b },
		"sub":       func(a, b int) int { return a - b },
		"mul":       func(a, b int) int { return a * b },
		"mulf":      func(a, b float64) float64 { return a * b },
		"addf":      func(a, b float64) float64 { return a + b },
		"int64":     func(n int) int64 { return int64(n) },
	}
}

// disabledReason says in French why a source is not harvested. The
// configuration writes it in English; its usual form, "alternative to
// <source> (<details>)", becomes a French sentence linking that source, the
// details kept in English (marked so for screen readers).
func disabledReason(reason string) template.HTML {
	rest, ok := strings.CutPrefix(reason, "alternative to ")
	if !ok {
		return template.HTML(`<span lang="en">` + template.HTMLEscapeString(reason) + `</span>`)
	}
	id, details, _ := strings.Cut(rest, " ")
	details = strings.TrimSuffix(strings.TrimPrefix(strings.TrimSpace(details), "("), ")")
	out := `Autre accès au même portail, non moissonné&nbsp;: la source <a href="/moissons/` + template.HTMLEscapeString(url.PathEscape(id)) + `">` +
		template.HTMLEscapeString(id) + `</a> le moissonne.`
	if details != "" {
		out += ` <span lang="en">(` + template.HTMLEscapeString(details) + `)</span>`
	}
	return template.HTML(out)
}

// diagnosisLabels say in French what stopped a source, by diagnosis code
// (%s is the portal's host).
var diagnosisLabels = map[string]string{
	"dns":        "Portail injoignable : le nom d'hôte %s est introuvable (DNS). Le portail a changé d'adresse ou a fermé, ou cette machine n'a pas de réseau.",
	"connection": "Portail injoignable : %s refuse ou coupe la connexion.",
	"tls":        "Portail injoignable : la connexion sécurisée (TLS) avec %s a échoué (certificat invalide ou expiré ?).",
	"timeout":    "Portail injoignable : %s n'a pas répondu à temps.",
	"moved":      "Portail déplacé : %s redirige vers un autre site. Mettez à jour l'adresse dans la configuration.",
	"gone":       "Portail déplacé ou fermé : %s répond « introuvable » (404 ou 410) sur son API.",
	"robots":     "Moisson interdite : le fichier robots.txt de %s n'autorise pas ce point d'accès.",
	"forbidden":  "Adresse refusée : %s n'est pas une adresse publique.",
	"too_large":  "Réponse trop volumineuse de %s : la limite de taille a été atteinte.",
}

// diagnosis says in French what stopped the source, the harvester's own
// words in English beside it (marked so for screen readers).
func diagnosis(s Source) template.HTML {
	if s.Diagnosis == "" {
		return ""
	}
	msg, ok := diagnosisLabels[s.DiagnosisCode]
	if !ok {
		return template.HTML(`<span lang="en">` + template.HTMLEscapeString(s.Diagnosis) + `</span>`)
	}
	host := s.PortalURL
	if u, err := url.Parse(s.Endpoint); err == nil && u.Host != "" {
		host = u.Host
	}
	return template.HTML(template.HTMLEscapeString(fmt.Sprintf(msg, host)) +
		` <span class="small block" lang="en">` + template.HTMLEscapeString(s.Diagnosis) + `</span>`)
}
