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
