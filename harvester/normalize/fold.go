package normalize

import (
	"strings"
	"unicode"
)

// foldMap lists the letters that do not decompose into an ASCII base letter
// plus combining marks, or that fold to more than one letter.
var foldMap = map[rune]string{
	'œ': "oe", 'Œ': "OE", 'æ': "ae", 'Æ': "AE", 'ß': "ss", 'ø': "o", 'Ø': "O",
	'đ': "d", 'Đ': "D", 'ł': "l", 'Ł': "L", 'ı': "i",
	'à': "a", 'â': "a", 'ä': "a", 'á': "a", 'ã': "a", 'å': "a",
	'À': "A", 'Â': "A", 'Ä': "A", 'Á': "A", 'Ã': "A", 'Å': "A",
	'ç': "c", 'Ç': "C",
	'é': "e", 'è': "e", 'ê': "e", 'ë': "e", 'É': "E", 'È': "E", 'Ê': "E", 'Ë': "E",
	'î': "i", 'ï': "i", 'í': "i", 'ì': "i", 'Î': "I", 'Ï': "I", 'Í': "I", 'Ì': "I",
	'ô': "o", 'ö': "o", 'ó': "o", 'ò': "o", 'õ': "o", 'Ô': "O", 'Ö': "O", 'Ó': "O", 'Ò': "O", 'Õ': "O",
	'ù': "u", 'û': "u", 'ü': "u", 'ú': "u", 'Ù': "U", 'Û': "U", 'Ü': "U", 'Ú': "U",
	'ÿ': "y", 'ý': "y", 'Ÿ': "Y", 'Ý': "Y",
	'ñ': "n", 'Ñ': "N",
	'’': "'", '‘': "'", 'ʼ': "'", '«': "\"", '»': "\"", '–': "-", '—': "-", '\u00a0': " ",
}

// Fold folds a string to ASCII where it can (é→e, œ→oe, ’→'), drops
// combining marks and keeps every other rune as is. Case is kept.
func Fold(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		if r < 0x80 {
			b.WriteRune(r)
			continue
		}
		if f, ok := foldMap[r]; ok {
			b.WriteString(f)
			continue
		}
		if unicode.Is(unicode.Mn, r) { // combining accent of a decomposed letter
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// key folds, lower-cases, turns every run of non-alphanumeric runes into one
// space and trims: "Licence Ouverte v2.0 (Etalab)" → "licence ouverte v2 0 etalab".
// Patterns of the tables below are written against this form.
func key(s string) string {
	s = strings.ToLower(Fold(s))
	var b strings.Builder
	b.Grow(len(s))
	space := false
	for _, r := range s {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			if space && b.Len() > 0 {
				b.WriteByte(' ')
			}
			space = false
			b.WriteRune(r)
			continue
		}
		space = true
	}
	return b.String()
}
