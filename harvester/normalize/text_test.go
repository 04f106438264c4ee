package normalize

import "testing"

func TestText(t *testing.T) {
	for in, want := range map[string]string{
		"":                    "",
		"  Hello   world \t ": "Hello world",
		"<p>Un&nbsp;jeu de donn&eacute;es</p><p>Second §</p>":                                             "Un jeu de données\n\nSecond §",
		"ligne 1<br>ligne 2<br/>ligne 3":                                                                  "ligne 1\nligne 2\nligne 3",
		"<DIV STYLE=\"text-align:Left;\"><DIV><P><SPAN>Soumis à la licence Etalab</SPAN></P></DIV></DIV>": "Soumis à la licence Etalab",
		"a < b &amp;&amp; c > d":                                                                          "a < b && c > d",
		// Markup hidden behind entities is markup: plain text comes out.
		"&lt;b&gt;une balise cachée&lt;/b&gt;":             "une balise cachée",
		"&lt;script&gt;alert(1)&lt;/script&gt;Budget 2024": "Budget 2024",
		"&amp;lt;img src=x onerror=alert(1)&amp;gt;Titre":  "Titre",
		"a &lt; b et c &gt; d":                             "a < b et c > d",
		"x<script>alert(1)</script>y<!-- c -->z":           "x y z",
		"Para 1\r\n\r\n\r\n\r\nPara 2\n- item\n- item":     "Para 1\n\nPara 2\n- item\n- item",
		"<ul><li>un</li><li>deux</li></ul>":                "un\n\ndeux",
		"zero\u200bwidth\u00a0nbsp":                        "zerowidth nbsp",
		"l&#39;eau &#x2014; l&rsquo;air":                   "l'eau — l’air",
		"**Markdown** [lien](https://x.fr)":                "**Markdown** [lien](https://x.fr)",
	} {
		if got := Text(in); got != want {
			t.Errorf("Text(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestFold(t *testing.T) {
	for in, want := range map[string]string{
		"Délibérations": "Deliberations", "Œuvre cœur": "OEuvre coeur", "Équipements à Saint-Étienne": "Equipements a Saint-Etienne",
		"l’eau": "l'eau", "ça": "ca", "naïve": "naive", "Straße": "Strasse", "e\u0301": "e", "日本": "日本",
	} {
		if got := Fold(in); got != want {
			t.Errorf("Fold(%q) = %q, want %q", in, got, want)
		}
	}
	if got := key("  Licence Ouverte v2.0 (Etalab) "); got != "licence ouverte v2 0 etalab" {
		t.Errorf("key = %q", got)
	}
}

// Text and SafeLink answer plain inputs without their full work; the full
// work must agree on every input the fast path takes.
func FuzzText(f *testing.F) {
	for _, s := range []string{"Budget primitif 2024", " lead", "trail ", "two  spaces", "a\u00a0b", "zéro\u200bwidth", "a < b", "Tom &amp; Jerry", "<p>x</p>", "l1\nl2", "\xff", "a\tb"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if plainText(s) && cleanText(s) != s {
			t.Fatalf("plainText(%q) but cleanText gives %q", s, cleanText(s))
		}
	})
}

func FuzzSafeLink(f *testing.F) {
	for _, s := range []string{"https://data.rennesmetropole.fr/explore/dataset/x/export/?format=csv", "http://a:8080/b#c", "http://a:x/", "http://[::1]/", "http://a/%zz", "javascript:alert(1)", "http://a b/"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if _, _, ok := PlainHTTPURL(s); ok && !parsedSafeLink(s) {
			t.Fatalf("PlainHTTPURL(%q) but url.Parse refuses it", s)
		}
	})
}

func TestPlainFastPaths(t *testing.T) {
	for s, want := range map[string]bool{"Budget primitif 2024": true, "Délibérations du conseil": true, "two  spaces": false, " lead": false, "a\u00a0b": false, "Tom &amp; Jerry": false, "": false} {
		if plainText(s) != want {
			t.Errorf("plainText(%q) = %v", s, !want)
		}
	}
	for s, want := range map[string]bool{"https://data.example.fr/a?b=%C3%A9#c": true, "http://a:8080": true, "http://a:/": false, "http://a/%zz": false, "ftp://a/": false} {
		if _, _, ok := PlainHTTPURL(s); ok != want {
			t.Errorf("PlainHTTPURL(%q) = %v", s, !want)
		}
	}
}
