package normalize

import (
	"html"
	"regexp"
	"strings"
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

// Text cleans a human string: it drops <script>/<style>/comments, turns <br>
// into a line break and block elements (p, div, li, h1…, tr…) into paragraph
// breaks, strips the other tags, decodes HTML entities (&eacute; &#39; &nbsp;),
// removes zero-width characters, collapses horizontal white space, trims each
// line and keeps at most one empty line between paragraphs. Markdown is left
// as it is (its line structure survives).
func Text(s string) string {
	if s == "" {
		return ""
	}
	s = strings.ReplaceAll(s, "\r\n", "\n")
	s = strings.ReplaceAll(s, "\r", "\n")
	if strings.ContainsRune(s, '<') {
		s = htmlDrop.ReplaceAllString(s, " ")
		s = htmlBreak.ReplaceAllString(s, "\n")
		s = htmlBlock.ReplaceAllString(s, "\n\n")
		s = htmlTag.ReplaceAllString(s, "")
	}
	if strings.ContainsRune(s, '&') {
		s = html.UnescapeString(s)
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
