package normalize

import (
	"html"
	"net/url"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"
)

var (
	// script, style and comments are dropped with their content.
	htmlDrop = regexp.MustCompile(`(?is)<script\b.*?</script\s*>|<style\b.*?</style\s*>|<!--.*?-->`)
	// line breaks and the ends of block elements become paragraph breaks.
	htmlBreak = regexp.MustCompile(`(?i)<br\s*/?>`)
	htmlBlock = regexp.MustCompile(`(?i)</?(p|div|li|ul|ol|h[1-6]|tr|table|blockquote|pre|section|article|header|footer|dl|dt|dd|hr)\b[^>]*>`)
	// any other tag: '<' then a letter, '/', '!' or '?', up to '>'; "a < b" stays.
	htmlTag = regexp.MustCompile(`<[a-zA-Z/!?][^<>]*>`)
)

// collapseSpace turns runs of horizontal white space (not newlines) into
// one space, leaving clean lines as they are.
func collapseSpace(l string) string {
	clean := true
	prevSpace := false
	for _, r := range l {
		sp := isHSpace(r)
		if sp && (prevSpace || r != ' ') {
			clean = false
			break
		}
		prevSpace = sp
	}
	if clean {
		return l
	}
	var b strings.Builder
	b.Grow(len(l))
	prevSpace = false
	for _, r := range l {
		if isHSpace(r) {
			if !prevSpace {
				b.WriteByte(' ')
			}
			prevSpace = true
			continue
		}
		prevSpace = false
		b.WriteRune(r)
	}
	return b.String()
}

func isHSpace(r rune) bool {
	switch r {
	case ' ', '\t', '\f', '\v', '\u00a0', '\u2007', '\u202f':
		return true
	}
	return false
}

// Text cleans a human string into plain text: it drops <script>/<style>/
// comments, turns <br> into a line break and block elements (p, div, li,
// h1…, tr…) into paragraph breaks, strips the other tags, decodes HTML
// entities (&eacute; &#39; &nbsp;) and strips the tags they hid,
// removes zero-width characters, collapses horizontal white space, trims each
// line and keeps at most one empty line between paragraphs. Markdown is left
// as it is (its line structure survives).
func Text(s string) string {
	if plainText(s) {
		return s
	}
	return cleanText(s)
}

// plainText reports whether Text leaves s as it is, as most titles are: one
// line without markup, entity, control, invisible or special white space
// rune, single spaces inside. FuzzText holds cleanText to that.
func plainText(s string) bool {
	prevSpace := true // a leading space is trimmed
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if c < ' ' || c == '<' || c == '&' || c == 0x7f || c == ' ' && prevSpace {
				return false
			}
			prevSpace = c == ' '
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		// Latin letters (U+00C0 to U+024F) are neither space nor format.
		if r == utf8.RuneError || (r < 0xC0 || r > 0x24F) && (unicode.IsSpace(r) || unicode.Is(unicode.Cf, r)) {
			return false
		}
		prevSpace = false
		i += n
	}
	return !prevSpace // a trailing space is trimmed; "" is plain too, but Text("") is cheap
}

// cleanText is Text's work on a string that is not plainText.
func cleanText(s string) string {
	if s == "" {
		return ""
	}
	s = strings.ReplaceAll(s, "\r\n", "\n")
	s = strings.ReplaceAll(s, "\r", "\n")
	// Markup may hide behind entities ("&lt;script&gt;"): the text is
	// unescaped, then stripped again, until no tag is left (at most a few
	// rounds; the result is plain text, never markup).
	for round := 0; round < 4; round++ {
		if strings.ContainsRune(s, '<') {
			s = htmlDrop.ReplaceAllString(s, " ")
			s = htmlBreak.ReplaceAllString(s, "\n")
			s = htmlBlock.ReplaceAllString(s, "\n\n")
			s = htmlTag.ReplaceAllString(s, "")
		}
		if !strings.ContainsRune(s, '&') {
			break
		}
		u := html.UnescapeString(s)
		if u == s {
			break
		}
		s = u
	}
	if htmlTag.MatchString(s) { // still markup after the rounds: stripped
		s = htmlTag.ReplaceAllString(s, "")
	}
	s = strings.Map(func(r rune) rune {
		switch r {
		case '\u200b', '\u200c', '\u200d', '\ufeff', '\u00ad':
			return -1
		case '\u2028', '\u2029':
			return '\n'
		}
		return r
	}, s)
	lines := strings.Split(s, "\n")
	out := make([]string, 0, len(lines))
	blank := false
	for _, l := range lines {
		l = strings.TrimSpace(collapseSpace(l))
		if l == "" {
			blank = len(out) > 0
			continue
		}
		if blank {
			out = append(out, "")
			blank = false
		}
		out = append(out, l)
	}
	return strings.Join(out, "\n")
}

// SafeLink tells whether u is a link a page may offer: an absolute http,
// https or ftp URL with a host (never javascript:, data:, file:…).
func SafeLink(u string) bool {
	if _, _, ok := PlainHTTPURL(u); ok {
		return true
	}
	return parsedSafeLink(u)
}

// parsedSafeLink is SafeLink by url.Parse.
func parsedSafeLink(u string) bool {
	p, err := url.Parse(strings.TrimSpace(u))
	if err != nil || p.Host == "" {
		return false
	}
	switch strings.ToLower(p.Scheme) {
	case "http", "https", "ftp":
		return true
	}
	return false
}

// PlainHTTPURL reads, without url.Parse, a link of the plainest shape:
// "http://" or "https://", an ASCII host name (letters, digits, '.' and
// '-'), an optional port of digits, then a path, query or fragment of
// printable bytes with well-formed %-escapes; all of which url.Parse takes.
// It returns the host and the port; ok false for any other shape (which may
// still be a fine URL: ask url.Parse). FuzzSafeLink holds parsedSafeLink
// to it.
func PlainHTTPURL(u string) (host, port string, ok bool) {
	rest, ok := strings.CutPrefix(u, "https://")
	if !ok {
		if rest, ok = strings.CutPrefix(u, "http://"); !ok {
			return "", "", false
		}
	}
	i := 0
	for i < len(rest) && (rest[i] >= 'a' && rest[i] <= 'z' || rest[i] >= 'A' && rest[i] <= 'Z' || rest[i] >= '0' && rest[i] <= '9' || rest[i] == '.' || rest[i] == '-') {
		i++
	}
	if i == 0 {
		return "", "", false
	}
	host = rest[:i]
	if i < len(rest) && rest[i] == ':' {
		j := i + 1
		for j < len(rest) && rest[j] >= '0' && rest[j] <= '9' {
			j++
		}
		if j == i+1 {
			return "", "", false
		}
		port, i = rest[i+1:j], j
	}
	if i < len(rest) && rest[i] != '/' && rest[i] != '?' && rest[i] != '#' {
		return "", "", false
	}
	for ; i < len(rest); i++ {
		c := rest[i]
		if c <= ' ' || c == 0x7f || c == '%' && (i+2 >= len(rest) || !isHex(rest[i+1]) || !isHex(rest[i+2])) {
			return "", "", false
		}
	}
	return host, port, true
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// UnsafeIRI tells whether an identifier IRI would run or embed something
// where a page shows it as a link (javascript:, vbscript:, data:, file:);
// other schemes (urn:, tag:…) are names, and stay.
func UnsafeIRI(u string) bool {
	scheme, _, ok := strings.Cut(strings.ToLower(strings.TrimSpace(u)), ":")
	if !ok {
		return false
	}
	scheme = strings.Map(func(r rune) rune {
		if r <= ' ' {
			return -1
		}
		return r
	}, scheme)
	switch scheme {
	case "javascript", "vbscript", "data", "file", "blob":
		return true
	}
	return false
}
