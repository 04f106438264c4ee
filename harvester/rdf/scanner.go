package rdf

import (
	"bufio"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
)

const (
	runeEOF = -1
	runeBad = -2 // invalid UTF-8
)

// scanner is a rune reader with arbitrary lookahead, position tracking and
// strict UTF-8 validation, shared by the N-Triples and Turtle parsers.
type scanner struct {
	br     *bufio.Reader
	la     []rune
	head   int
	line   int
	col    int
	syntax string
	ioErr  error
	buf    []byte
}

func newScanner(r io.Reader, syntax string) *scanner {
	br, ok := r.(*bufio.Reader)
	if !ok {
		br = bufio.NewReaderSize(r, 64<<10)
	}
	return &scanner{br: br, la: make([]rune, 0, 16), line: 1, col: 1, syntax: syntax}
}

func (s *scanner) fill() {
	if s.head == len(s.la) {
		s.la = s.la[:0]
		s.head = 0
	}
	r, size, err := s.br.ReadRune()
	switch {
	case err != nil:
		if err != io.EOF && s.ioErr == nil {
			s.ioErr = err
		}
		r = runeEOF
	case r == utf8.RuneError && size == 1:
		r = runeBad
	}
	s.la = append(s.la, r)
}

// peek returns the next rune without consuming it.
func (s *scanner) peek() rune {
	if s.head < len(s.la) {
		return s.la[s.head]
	}
	s.fill()
	return s.la[s.head]
}

// peekAt returns the rune k positions ahead (0 = next).
func (s *scanner) peekAt(k int) rune {
	for len(s.la)-s.head <= k {
		s.fill()
	}
	return s.la[s.head+k]
}

// next consumes and returns the next rune.
func (s *scanner) next() rune {
	r := s.peek()
	if r < 0 {
		return r
	}
	s.head++
	if r == '\n' {
		s.line++
		s.col = 1
	} else {
		s.col++
	}
	return r
}

func (s *scanner) errorf(format string, args ...any) *ParseError {
	return &ParseError{Syntax: s.syntax, Line: s.line, Col: s.col, Msg: fmt.Sprintf(format, args...)}
}

// unexpected builds an error describing the next rune.
func (s *scanner) unexpected(context string) *ParseError {
	r := s.peek()
	switch r {
	case runeEOF:
		if s.ioErr != nil {
			return s.errorf("read error: %v", s.ioErr)
		}
		return s.errorf("unexpected end of input, %s", context)
	case runeBad:
		return s.errorf("invalid UTF-8 byte sequence (wrong encoding? input must be UTF-8)")
	}
	return s.errorf("unexpected %q, %s", r, context)
}

func (s *scanner) expect(r rune, context string) error {
	if s.peek() != r {
		return s.unexpected(context)
	}
	s.next()
	return nil
}

func (s *scanner) addRune(r rune) error {
	if len(s.buf) >= maxTokenSize {
		return s.errorf("token exceeds %d bytes limit", maxTokenSize)
	}
	s.buf = utf8.AppendRune(s.buf, r)
	return nil
}

func isHex(r rune) bool {
	return '0' <= r && r <= '9' || 'a' <= r && r <= 'f' || 'A' <= r && r <= 'F'
}

func hexVal(r rune) rune {
	switch {
	case '0' <= r && r <= '9':
		return r - '0'
	case 'a' <= r && r <= 'f':
		return r - 'a' + 10
	default:
		return r - 'A' + 10
	}
}

// readUCHAR reads the part of a \u or \U escape after the backslash.
func (s *scanner) readUCHAR() (rune, error) {
	n := 4
	if s.next() == 'U' {
		n = 8
	}
	var v rune
	for i := 0; i < n; i++ {
		c := s.peek()
		if !isHex(c) {
			return 0, s.unexpected("expected hexadecimal digit in \\u escape")
		}
		s.next()
		v = v<<4 | hexVal(c)
	}
	if v > utf8.MaxRune || (v >= 0xD800 && v <= 0xDFFF) {
		return 0, s.errorf("escape \\u%X is not a valid Unicode code point", v)
	}
	return v, nil
}

// Bytes that may be taken as they are (plain[c]): in an IRI, and in a
// string between double or single quotes (the quote is the stop byte).
var iriPlain, stringPlain = func() (iri, str [256]bool) {
	for c := 0; c < 256; c++ {
		iri[c] = c > 0x20 && !strings.ContainsRune(`<>"{}|^`+"`\\", rune(c))
		str[c] = c != '\\' && c != '\n' && c != '\r'
	}
	return iri, str
}()

// run is the fast path of a token without escapes: when no rune is looked
// ahead and the read buffer holds the whole token, it returns the bytes
// before the next stop byte if they are all plain and valid UTF-8, and
// consumes them with the stop byte. ok false: nothing is consumed, and the
// caller reads rune by rune (escapes, errors, a token across buffers).
func (s *scanner) run(stop byte, plain *[256]bool) (v string, ok bool) {
	if s.head != len(s.la) {
		return "", false
	}
	b, _ := s.br.Peek(s.br.Buffered())
	ascii := true
	for i, c := range b {
		if c == stop {
			if !ascii && !utf8.Valid(b[:i]) {
				return "", false
			}
			v = string(b[:i])
			if ascii {
				s.col += i + 1
			} else {
				s.col += utf8.RuneCount(b[:i]) + 1
			}
			s.br.Discard(i + 1)
			return v, true
		}
		if !plain[c] {
			return "", false
		}
		ascii = ascii && c < utf8.RuneSelf
	}
	return "", false
}

// readIRIRef reads '<' ... '>' and returns the unescaped content.
func (s *scanner) readIRIRef() (string, error) {
	if err := s.expect('<', "expected '<'"); err != nil {
		return "", err
	}
	if v, ok := s.run('>', &iriPlain); ok {
		return v, nil
	}
	s.buf = s.buf[:0]
	for {
		r := s.peek()
		switch {
		case r == '>':
			s.next()
			return string(s.buf), nil
		case r == '\\':
			s.next()
			if c := s.peek(); c != 'u' && c != 'U' {
				return "", s.unexpected("only \\u and \\U escapes are allowed in IRIs")
			}
			v, err := s.readUCHAR()
			if err != nil {
				return "", err
			}
			if v <= 0x20 || v == '<' || v == '>' || v == '"' || v == '{' || v == '}' || v == '|' || v == '^' || v == '`' || v == '\\' {
				return "", s.errorf("escaped character U+%04X not allowed in IRI", v)
			}
			if err := s.addRune(v); err != nil {
				return "", err
			}
		case r < 0 || r <= 0x20 || r == '<' || r == '"' || r == '{' || r == '}' || r == '|' || r == '^' || r == '`':
			return "", s.unexpected("invalid character in IRI")
		default:
			s.next()
			if err := s.addRune(r); err != nil {
				return "", err
			}
		}
	}
}

// readEscape reads an ECHAR or UCHAR in a string (after the backslash).
func (s *scanner) readStringEscape() (rune, error) {
	c := s.peek()
	switch c {
	case 'u', 'U':
		return s.readUCHAR()
	case 't':
		c = '\t'
	case 'b':
		c = '\b'
	case 'n':
		c = '\n'
	case 'r':
		c = '\r'
	case 'f':
		c = '\f'
	case '"', '\'', '\\':
	default:
		return 0, s.unexpected("invalid escape sequence")
	}
	s.next()
	return c, nil
}

// readString reads a quoted string starting at the opening quote. If
// allowLong is set, triple-quoted strings and single quotes are accepted.
func (s *scanner) readString(turtle bool) (string, error) {
	q := s.peek()
	if q != '"' && (!turtle || q != '\'') {
		return "", s.unexpected("expected string")
	}
	s.next()
	// A string that does not start with a quote is neither empty nor long.
	if s.head == len(s.la) {
		if b, _ := s.br.Peek(1); len(b) == 1 && b[0] != byte(q) {
			if v, ok := s.run(byte(q), &stringPlain); ok {
				return v, nil
			}
		}
	}
	long := false
	if turtle && s.peek() == q && s.peekAt(1) == q {
		s.next()
		s.next()
		long = true
	}
	s.buf = s.buf[:0]
	for {
		r := s.peek()
		switch {
		case r == q:
			if !long {
				s.next()
				return string(s.buf), nil
			}
			if s.peekAt(1) == q && s.peekAt(2) == q {
				s.next()
				s.next()
				s.next()
				return string(s.buf), nil
			}
			s.next()
			if err := s.addRune(r); err != nil {
				return "", err
			}
		case r == '\\':
			s.next()
			v, err := s.readStringEscape()
			if err != nil {
				return "", err
			}
			if err := s.addRune(v); err != nil {
				return "", err
			}
		case r < 0:
			return "", s.unexpected("in string literal")
		case !long && (r == '\n' || r == '\r'):
			return "", s.errorf("line break in single-line string literal")
		default:
			s.next()
			if err := s.addRune(r); err != nil {
				return "", err
			}
		}
	}
}

func isAlpha(r rune) bool { return 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' }
func isDigit(r rune) bool { return '0' <= r && r <= '9' }

// readLangTag reads '@' LANGTAG.
func (s *scanner) readLangTag() (string, error) {
	s.next() // '@'
	s.buf = s.buf[:0]
	if !isAlpha(s.peek()) {
		return "", s.unexpected("invalid language tag")
	}
	for isAlpha(s.peek()) && len(s.buf) <= 256 {
		s.buf = append(s.buf, byte(s.next()))
	}
	for s.peek() == '-' {
		if len(s.buf) > 256 {
			return "", s.errorf("language tag too long")
		}
		if c := s.peekAt(1); !isAlpha(c) && !isDigit(c) {
			s.next()
			return "", s.unexpected("invalid language tag subtag")
		}
		s.buf = append(s.buf, byte(s.next()))
		for c := s.peek(); (isAlpha(c) || isDigit(c)) && len(s.buf) <= 256; c = s.peek() {
			s.buf = append(s.buf, byte(s.next()))
		}
		if len(s.buf) > 256 {
			return "", s.errorf("language tag too long")
		}
	}
	return string(s.buf), nil
}

func isPNCharsBase(r rune) bool {
	switch {
	case 'A' <= r && r <= 'Z', 'a' <= r && r <= 'z':
		return true
	case r < 0xC0:
		return false
	}
	return r <= 0xD6 || 0xD8 <= r && r <= 0xF6 || 0xF8 <= r && r <= 0x2FF ||
		0x370 <= r && r <= 0x37D || 0x37F <= r && r <= 0x1FFF || 0x200C <= r && r <= 0x200D ||
		0x2070 <= r && r <= 0x218F || 0x2C00 <= r && r <= 0x2FEF || 0x3001 <= r && r <= 0xD7FF ||
		0xF900 <= r && r <= 0xFDCF || 0xFDF0 <= r && r <= 0xFFFD || 0x10000 <= r && r <= 0xEFFFF
}

func isPNCharsU(r rune) bool { return r == '_' || isPNCharsBase(r) }

func isPNChars(r rune) bool {
	return isPNCharsU(r) || r == '-' || isDigit(r) || r == 0xB7 ||
		0x300 <= r && r <= 0x36F || 0x203F <= r && r <= 0x2040
}

// readBlankLabel reads "_:" label and returns the label.
func (s *scanner) readBlankLabel() (string, error) {
	s.next() // '_'
	if err := s.expect(':', "expected ':' after '_' in blank node label"); err != nil {
		return "", err
	}
	r := s.peek()
	if !isPNCharsU(r) && !isDigit(r) {
		return "", s.unexpected("invalid blank node label")
	}
	s.buf = append(s.buf[:0], string(s.next())...)
	for {
		r = s.peek()
		if isPNChars(r) {
			s.next()
			if err := s.addRune(r); err != nil {
				return "", err
			}
			continue
		}
		if r == '.' {
			// dots allowed only if followed (after the run) by PN_CHARS
			k := 1
			for s.peekAt(k) == '.' && k < maxTokenSize {
				k++
			}
			if !isPNChars(s.peekAt(k)) {
				break
			}
			for ; k > 0; k-- {
				s.next()
				s.buf = append(s.buf, '.')
			}
			continue
		}
		break
	}
	return string(s.buf), nil
}
