package rdf

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
)

// xmlTokenizer is the XML 1.0 tokeniser under the RDF/XML parser. It
// replaces encoding/xml's Decoder, which reads its input one byte at a time
// through an interface and allocates for every name, attribute and text
// token: that was half the time of reading a large catalogue. This one scans
// a buffer of its own, interns element and attribute names, and hands out
// text and attribute values as slices of reused buffers.
//
// It checks well-formedness as the parser needs it (start and end tags are
// matched by the parser's own stack) and supports: the XML declaration, with
// a single-byte charset switched through SingleByteReader; comments;
// processing instructions; CDATA sections; DOCTYPE and other declarations
// (returned whole, the parser refuses entity declarations, so no entity is
// ever expanded); character references and the five predefined entities;
// line-end normalisation; attribute value normalisation (XML 1.0 section
// 3.3.3, for CDATA attributes: each literal tab, newline or carriage return
// becomes a space, character references are kept); strict UTF-8 and Char
// checks. A token (tag with its attributes, text run, comment...) may take
// at most maxTokenSize bytes of input.
type xmlTokenizer struct {
	src      io.Reader
	buf      []byte
	pos, end int
	base     int64 // input offset of buf[0]
	ioErr    error // sticky error of src (io.EOF included)
	tokOff   int64 // input offset of the current token
	declDone bool  // the XML declaration has been acted on

	// Position: scan is the buffer index up to which line and col count.
	scan      int
	line, col int // col: characters since the start of the line

	// The current token.
	name      xname // tokStart, tokEnd; PI target in name.local
	selfClose bool
	attrs     []xmlRawAttr
	text      []byte // tokText: character data; tokPI: instruction; tokDirective: body
	vals      []byte // attribute values, by offsets in attrs

	charErr string // a bad character in the current text or attribute value

	entry   *qnameEntry // tokStart: the element name's entry
	names   map[string]*qnameEntry
	recent  [128]*qnameEntry // direct-mapped cache in front of names
	nameBuf []byte
}

// qnameEntry is an interned qualified name, with room for the parser to
// keep the IRI it last resolved the name to.
type qnameEntry struct {
	raw string
	xname
	ns, uri string
}

type xmlTokKind uint8

const (
	tokEOF xmlTokKind = iota
	tokStart
	tokEnd
	tokText
	tokPI
	tokDirective
	tokComment // skipped by next
)

// xname is a raw qualified name: prefix "" when it has none.
type xname struct{ prefix, local string }

type xmlRawAttr struct {
	name       xname
	start, end int // value: vals[start:end]
}

// maxInternedNames bounds the name table against documents made of
// distinct names; past it the table starts over.
const maxInternedNames = 1 << 14

func newXMLTokenizer(r io.Reader) *xmlTokenizer {
	return &xmlTokenizer{src: r, buf: make([]byte, 64<<10), line: 1, names: map[string]*qnameEntry{}}
}

func (z *xmlTokenizer) val(a *xmlRawAttr) []byte { return z.vals[a.start:a.end] }

// position returns the 1-based line and column (in characters) of the next
// unread byte.
func (z *xmlTokenizer) position() (line, col int) {
	z.countTo(z.pos)
	return z.line, z.col + 1
}

func (z *xmlTokenizer) countTo(upto int) {
	if upto <= z.scan {
		return
	}
	seg := z.buf[z.scan:upto]
	if n := bytes.Count(seg, []byte{'\n'}); n > 0 {
		z.line += n
		seg = seg[bytes.LastIndexByte(seg, '\n')+1:]
		z.col = 0
	}
	z.col += utf8.RuneCount(seg)
	z.scan = upto
}

func (z *xmlTokenizer) errorf(format string, args ...any) *ParseError {
	line, col := z.position()
	return &ParseError{Syntax: "rdf/xml", Line: line, Col: col, Msg: fmt.Sprintf(format, args...)}
}

// fill reads more input, keeping buf[pos:end]. It reports false at the end
// of the input or on an error (then in z.ioErr).
func (z *xmlTokenizer) fill() bool {
	if z.ioErr != nil {
		return false
	}
	if z.base+int64(z.pos)-z.tokOff > maxTokenSize {
		z.ioErr = errTokenTooLarge
		return false
	}
	if z.pos > 0 {
		z.countTo(z.pos)
		n := copy(z.buf, z.buf[z.pos:z.end])
		z.base += int64(z.pos)
		z.scan -= z.pos
		z.end = n
		z.pos = 0
	}
	for empty := 0; empty < 100; empty++ { // as bufio, give up on a reader that returns nothing
		n, err := z.src.Read(z.buf[z.end:])
		z.end += n
		if err != nil {
			z.ioErr = err
			return n > 0
		}
		if n > 0 {
			return true
		}
	}
	z.ioErr = io.ErrNoProgress
	return false
}

// ensure makes n bytes available at pos if the input has them.
func (z *xmlTokenizer) ensure(n int) bool {
	for z.end-z.pos < n {
		if !z.fill() {
			return false
		}
	}
	return true
}

// inputErr turns the end of the input or a read error in the middle of a
// token into a ParseError.
func (z *xmlTokenizer) inputErr() error {
	switch {
	case z.ioErr == nil, z.ioErr == io.EOF, z.ioErr == io.ErrUnexpectedEOF:
		z.pos = z.end // positioned at the end of the input
		return z.errorf("unexpected EOF")
	case errors.Is(z.ioErr, errTokenTooLarge):
		return z.errorf("XML token exceeds %d bytes limit", maxTokenSize)
	}
	return z.errorf("%v", z.ioErr)
}

// peek returns the next byte, false at the end of the input.
func (z *xmlTokenizer) peek() (byte, bool) {
	if z.pos == z.end && !z.fill() {
		return 0, false
	}
	return z.buf[z.pos], true
}

// mustByte consumes the next byte; the input must have one.
func (z *xmlTokenizer) mustByte() (byte, error) {
	if z.pos == z.end && !z.fill() {
		return 0, z.inputErr()
	}
	b := z.buf[z.pos]
	z.pos++
	return b, nil
}

func (z *xmlTokenizer) skipSpace() {
	for {
		b, ok := z.peek()
		if !ok || !isXMLSpace(b) {
			return
		}
		z.pos++
	}
}

func isXMLSpace(b byte) bool { return b == ' ' || b == '\n' || b == '\t' || b == '\r' }

// next reads the next token into z. At the end of the input it returns
// tokEOF (an error when the input ends inside a token).
func (z *xmlTokenizer) next() (xmlTokKind, error) {
	for {
		z.tokOff = z.base + int64(z.pos)
		kind, err := z.token()
		if err != nil {
			return tokEOF, err
		}
		// fill stops a token that outgrows the limit by a buffer; this is
		// the exact check.
		if z.base+int64(z.pos)-z.tokOff > maxTokenSize {
			return tokEOF, z.errorf("XML token exceeds %d bytes limit", maxTokenSize)
		}
		if kind != tokComment {
			return kind, nil
		}
	}
}

func (z *xmlTokenizer) token() (xmlTokKind, error) {
	b, ok := z.peek()
	if !ok {
		if z.ioErr == io.EOF {
			return tokEOF, nil
		}
		return tokEOF, z.inputErr()
	}
	if b != '<' {
		return tokText, z.readText(false)
	}
	z.pos++
	b, err := z.mustByte()
	if err != nil {
		return tokEOF, err
	}
	switch b {
	case '/':
		return tokEnd, z.readEndTag()
	case '?':
		return tokPI, z.readPI()
	case '!':
		return z.readBang()
	}
	z.pos--
	return tokStart, z.readStartTag()
}

var (
	nameStartASCII, nameASCII [256]bool
	textPlain, attrPlain      [256]bool
)

func init() {
	for c := 0; c < 128; c++ {
		b := byte(c)
		nameStartASCII[c] = 'a' <= b && b <= 'z' || 'A' <= b && b <= 'Z' || b == '_' || b == ':'
		nameASCII[c] = nameStartASCII[c] || '0' <= b && b <= '9' || b == '-' || b == '.'
		// bytes a run of character data or attribute value takes as they are
		plain := b >= 0x20 && b != '<' && b != '&' || b == '\t' || b == '\n'
		textPlain[c] = plain && b != ']'
		attrPlain[c] = plain && b != '"' && b != '\'' && b != '\t' && b != '\n'
	}
}

// isNameRune reports whether a non-ASCII rune may appear in an XML name
// (XML 1.0 fifth edition, NameStartChar and NameChar).
func isNameRune(r rune, first bool) bool {
	switch {
	case 0xC0 <= r && r <= 0xD6, 0xD8 <= r && r <= 0xF6, 0xF8 <= r && r <= 0x2FF,
		0x370 <= r && r <= 0x37D, 0x37F <= r && r <= 0x1FFF, 0x200C <= r && r <= 0x200D,
		0x2070 <= r && r <= 0x218F, 0x2C00 <= r && r <= 0x2FEF, 0x3001 <= r && r <= 0xD7FF,
		0xF900 <= r && r <= 0xFDCF, 0xFDF0 <= r && r <= 0xFFFD, 0x10000 <= r && r <= 0xEFFFF:
		return true
	}
	return !first && (r == 0xB7 || 0x300 <= r && r <= 0x36F || 0x203F <= r && r <= 0x2040)
}

func isXMLChar(r rune) bool {
	return r == 0x09 || r == 0x0A || r == 0x0D || r >= 0x20 && r <= 0xD7FF ||
		r >= 0xE000 && r <= 0xFFFD || r >= 0x10000 && r <= 0x10FFFF
}

// readNameBytes reads a name; empty if none starts at pos. The result is
// valid until the next read.
func (z *xmlTokenizer) readNameBytes() ([]byte, error) {
	// Fast path: an ASCII name that ends inside the buffer is returned in
	// place.
	if b := z.buf[z.pos:z.end]; len(b) > 0 && nameStartASCII[b[0]] {
		i := 1
		for i < len(b) && nameASCII[b[i]] {
			i++
		}
		if i < len(b) && b[i] < utf8.RuneSelf {
			z.pos += i
			return b[:i], nil
		}
	}
	z.nameBuf = z.nameBuf[:0]
	for {
		if z.pos == z.end && !z.fill() {
			return z.nameBuf, z.inputErr()
		}
		b := z.buf[z.pos:z.end]
		i := 0
		for i < len(b) && nameASCII[b[i]] {
			i++
		}
		z.nameBuf = append(z.nameBuf, b[:i]...)
		z.pos += i
		if i == len(b) {
			continue
		}
		if b[i] < utf8.RuneSelf {
			break
		}
		z.ensure(utf8.UTFMax)
		r, size := utf8.DecodeRune(z.buf[z.pos:z.end])
		if r == utf8.RuneError && size == 1 {
			return nil, z.errorf("invalid UTF-8 in a name")
		}
		if !isNameRune(r, len(z.nameBuf) == 0) {
			return nil, z.errorf("invalid XML name: %s", append(z.nameBuf, z.buf[z.pos:z.pos+size]...))
		}
		z.nameBuf = append(z.nameBuf, z.buf[z.pos:z.pos+size]...)
		z.pos += size
	}
	if len(z.nameBuf) > 0 && z.nameBuf[0] < utf8.RuneSelf && !nameStartASCII[z.nameBuf[0]] {
		return nil, z.errorf("invalid XML name: %s", z.nameBuf)
	}
	return z.nameBuf, nil
}

// readQName reads a qualified name (interned); ok is false when no name
// starts at pos or the name has more than one colon.
func (z *xmlTokenizer) readQName() (e *qnameEntry, ok bool, err error) {
	b, err := z.readNameBytes()
	if err != nil || len(b) == 0 {
		return nil, false, err
	}
	// A document uses a few names over and over: a cheap hash of the length
	// and two bytes finds most of them without hashing the whole name.
	slot := &z.recent[(len(b)*31+int(b[len(b)-1])*7+int(b[len(b)/2]))%len(z.recent)]
	if e := *slot; e != nil && e.raw == string(b) {
		return e, true, nil
	}
	if e, ok := z.names[string(b)]; ok {
		*slot = e
		return e, true, nil
	}
	s := string(b)
	e = &qnameEntry{raw: s}
	// As encoding/xml: a leading or trailing colon makes no prefix.
	switch i := strings.IndexByte(s, ':'); {
	case strings.Count(s, ":") > 1:
		return nil, false, nil
	case i < 1 || i == len(s)-1:
		e.local = s
	default:
		e.prefix, e.local = s[:i], s[i+1:]
	}
	if len(z.names) >= maxInternedNames {
		clear(z.names)
	}
	z.names[s] = e
	*slot = e
	return e, true, nil
}

func (z *xmlTokenizer) readEndTag() error {
	e, ok, err := z.readQName()
	if err != nil {
		return err
	}
	if !ok {
		return z.errorf("expected element name after </")
	}
	n := e.xname
	z.name = n
	z.skipSpace()
	b, err := z.mustByte()
	if err != nil {
		return err
	}
	if b != '>' {
		return z.errorf("invalid characters between </%s and >", n.local)
	}
	return nil
}

func (z *xmlTokenizer) readStartTag() error {
	z.selfClose = false
	z.attrs = z.attrs[:0]
	z.vals = z.vals[:0]
	e, ok, err := z.readQName()
	if err != nil {
		return err
	}
	if !ok {
		return z.errorf("expected element name after <")
	}
	z.entry, z.name = e, e.xname
	for {
		z.skipSpace()
		b, err := z.mustByte()
		if err != nil {
			return err
		}
		switch b {
		case '/':
			if b, err = z.mustByte(); err != nil {
				return err
			}
			if b != '>' {
				return z.errorf("expected /> in element")
			}
			z.selfClose = true
			return nil
		case '>':
			return nil
		}
		z.pos--
		an, ok, err := z.readQName()
		if err != nil {
			return err
		}
		if !ok {
			return z.errorf("expected attribute name in element")
		}
		z.skipSpace()
		if b, err = z.mustByte(); err != nil {
			return err
		}
		if b != '=' {
			return z.errorf("attribute name without = in element")
		}
		z.skipSpace()
		if b, err = z.mustByte(); err != nil {
			return err
		}
		if b != '"' && b != '\'' {
			return z.errorf("unquoted or missing attribute value in element")
		}
		start := len(z.vals)
		if err := z.readAttrValue(b); err != nil {
			return err
		}
		z.attrs = append(z.attrs, xmlRawAttr{name: an.xname, start: start, end: len(z.vals)})
	}
}

// readAttrValue appends the normalised value up to the closing quote to
// z.vals.
func (z *xmlTokenizer) readAttrValue(quote byte) error {
	for {
		if z.pos == z.end && !z.fill() {
			return z.inputErr()
		}
		b := z.buf[z.pos:z.end]
		i := 0
		for i < len(b) && attrPlain[b[i]] {
			i++
		}
		z.vals = append(z.vals, b[:i]...)
		z.pos += i
		if i == len(b) {
			continue
		}
		switch c := b[i]; c {
		case quote:
			z.pos++
			return z.endValue()
		case '"', '\'':
			z.vals = append(z.vals, c)
			z.pos++
		case '\t', '\n':
			z.vals = append(z.vals, ' ')
			z.pos++
		case '\r':
			z.vals = append(z.vals, ' ')
			z.pos++
			if c, ok := z.peek(); ok && c == '\n' {
				z.pos++
			}
		case '<':
			return z.errorf("unescaped < inside quoted string")
		case '&':
			var err error
			if z.vals, err = z.readReference(z.vals); err != nil {
				return err
			}
		default:
			z.vals = z.appendRune(z.vals)
		}
	}
}

// appendRune appends the character at pos (a control character or a
// non-ASCII one). A character XML does not allow is skipped and kept in
// z.charErr, reported at the end of the text or attribute value, where
// encoding/xml reported it.
func (z *xmlTokenizer) appendRune(dst []byte) []byte {
	c := z.buf[z.pos]
	if c < utf8.RuneSelf {
		z.badChar(rune(c))
		z.pos++
		return dst
	}
	z.ensure(utf8.UTFMax)
	r, size := utf8.DecodeRune(z.buf[z.pos:z.end])
	if r == utf8.RuneError && size == 1 || !isXMLChar(r) {
		z.badChar(r)
		z.pos += size
		return dst
	}
	dst = append(dst, z.buf[z.pos:z.pos+size]...)
	z.pos += size
	return dst
}

func (z *xmlTokenizer) badChar(r rune) {
	switch {
	case z.charErr != "":
	case r == utf8.RuneError:
		z.charErr = "invalid UTF-8 (wrong encoding? declare it with <?xml version=\"1.0\" encoding=\"...\"?>)"
	default:
		z.charErr = fmt.Sprintf("illegal character code %U", r)
	}
}

// endValue ends a text or attribute value: the error of a bad character in
// it, if any.
func (z *xmlTokenizer) endValue() error {
	if z.charErr == "" {
		return nil
	}
	err := z.errorf("%s", z.charErr)
	z.charErr = ""
	return err
}

// readReference reads a character or entity reference at pos ('&') and
// appends its character. Only the predefined entities exist: the parser
// refuses documents that declare others.
func (z *xmlTokenizer) readReference(dst []byte) ([]byte, error) {
	z.pos++ // '&'
	b, err := z.mustByte()
	if err != nil {
		return dst, err
	}
	if b != '#' {
		z.pos--
		name, err := z.readNameBytes()
		if err != nil {
			return dst, err
		}
		if c, ok := z.peek(); !ok || c != ';' {
			return dst, z.errorf("invalid character entity &%s (no semicolon)", name)
		}
		z.pos++
		switch string(name) {
		case "lt":
			return append(dst, '<'), nil
		case "gt":
			return append(dst, '>'), nil
		case "amp":
			return append(dst, '&'), nil
		case "apos":
			return append(dst, '\''), nil
		case "quot":
			return append(dst, '"'), nil
		}
		return dst, z.errorf("invalid character entity &%s;", name)
	}
	hex := false
	if c, ok := z.peek(); ok && c == 'x' {
		hex = true
		z.pos++
	}
	var r rune
	var dbuf [16]byte
	digits := dbuf[:0] // for the error message
	for {
		c, ok := z.peek()
		if !ok {
			return dst, z.inputErr()
		}
		var d rune
		switch {
		case '0' <= c && c <= '9':
			d = rune(c - '0')
		case hex && 'a' <= c && c <= 'f':
			d = rune(c-'a') + 10
		case hex && 'A' <= c && c <= 'F':
			d = rune(c-'A') + 10
		default:
			d = -1
		}
		if d < 0 {
			break
		}
		z.pos++
		if len(digits) < len(dbuf) {
			digits = append(digits, c)
		}
		if r >= 0 {
			if hex {
				r = r*16 + d
			} else {
				r = r*10 + d
			}
			if r > utf8.MaxRune {
				r = -1 // too large; read on to report the whole reference
			}
		}
	}
	x := ""
	if hex {
		x = "x"
	}
	if c, ok := z.peek(); !ok || c != ';' {
		return dst, z.errorf("invalid character entity &#%s%s (no semicolon)", x, digits)
	}
	z.pos++
	if len(digits) == 0 || r < 0 {
		return dst, z.errorf("invalid character entity &#%s%s;", x, digits)
	}
	if !isXMLChar(r) {
		z.badChar(r)
		return dst, nil
	}
	return utf8.AppendRune(dst, r), nil
}

// readText reads character data up to the next '<' (or, in a CDATA
// section, up to "]]>") into z.text.
func (z *xmlTokenizer) readText(cdata bool) error {
	z.text = z.text[:0]
	for {
		if z.pos == z.end && !z.fill() {
			if cdata || z.ioErr != io.EOF {
				if cdata && z.ioErr == io.EOF {
					return z.errorf("unexpected EOF in CDATA section")
				}
				return z.inputErr()
			}
			return z.endValue()
		}
		b := z.buf[z.pos:z.end]
		i := 0
		for i < len(b) && textPlain[b[i]] {
			i++
		}
		z.text = append(z.text, b[:i]...)
		z.pos += i
		if i == len(b) {
			continue
		}
		switch c := b[i]; c {
		case '<':
			if !cdata {
				return z.endValue()
			}
			z.text = append(z.text, c)
			z.pos++
		case '&':
			if cdata {
				z.text = append(z.text, c)
				z.pos++
				continue
			}
			var err error
			if z.text, err = z.readReference(z.text); err != nil {
				return err
			}
		case ']':
			z.ensure(3)
			if bytes.HasPrefix(z.buf[z.pos:z.end], []byte("]]>")) {
				if cdata {
					z.pos += 3
					return z.endValue()
				}
				return z.errorf("unescaped ]]> not in CDATA section")
			}
			z.text = append(z.text, c)
			z.pos++
		case '\r':
			z.text = append(z.text, '\n')
			z.pos++
			if c, ok := z.peek(); ok && c == '\n' {
				z.pos++
			}
		default:
			z.text = z.appendRune(z.text)
		}
	}
}

// readUntil appends the input up to the terminator to dst, and consumes
// the terminator.
func (z *xmlTokenizer) readUntil(dst []byte, term string) ([]byte, error) {
	for {
		if !z.ensure(len(term)) {
			return dst, z.inputErr()
		}
		b := z.buf[z.pos:z.end]
		if i := bytes.Index(b, []byte(term)); i >= 0 {
			z.pos += i + len(term)
			return append(dst, b[:i]...), nil
		}
		// keep a possible start of the terminator
		n := len(b) - len(term) + 1
		dst = append(dst, b[:n]...)
		z.pos += n
		if !z.fill() {
			return dst, z.inputErr()
		}
	}
}

func (z *xmlTokenizer) readPI() error {
	target, err := z.readNameBytes()
	if err != nil {
		return err
	}
	if len(target) == 0 {
		return z.errorf("expected target name after <?")
	}
	z.name = xname{local: string(target)}
	z.skipSpace()
	if z.text, err = z.readUntil(z.text[:0], "?>"); err != nil {
		return err
	}
	if z.name.local == "xml" && !z.declDone {
		z.declDone = true
		return z.xmlDecl()
	}
	return nil
}

// xmlDecl acts on the XML declaration in z.text: the version must be 1.0
// and a declared encoding other than UTF-8 is decoded from here on.
func (z *xmlTokenizer) xmlDecl() error {
	if v := declParam(z.text, "version"); v != "" && v != "1.0" {
		return z.errorf("xml: unsupported version %q; only version 1.0 is supported", v)
	}
	enc := declParam(z.text, "encoding")
	if enc == "" || strings.EqualFold(enc, "utf-8") {
		return nil
	}
	// The bytes already read past the declaration are still undecoded.
	z.countTo(z.pos)
	rest := bytes.NewReader(append([]byte(nil), z.buf[z.pos:z.end]...))
	var in io.Reader = rest
	switch z.ioErr {
	case nil:
		in = io.MultiReader(rest, z.src)
	case io.EOF:
	default:
		in = io.MultiReader(rest, errorReader{z.ioErr})
	}
	r, err := charsetReader(enc, bufio.NewReaderSize(in, 16<<10))
	if err != nil {
		return z.errorf("xml: opening charset %q: %v", enc, err)
	}
	z.src, z.ioErr = r, nil
	z.end = z.pos
	return nil
}

type errorReader struct{ err error }

func (e errorReader) Read([]byte) (int, error) { return 0, e.err }

// declParam returns the value of a pseudo-attribute of the XML declaration.
func declParam(decl []byte, name string) string {
	s := string(decl)
	for {
		i := strings.Index(s, name)
		if i < 0 {
			return ""
		}
		s = strings.TrimLeft(s[i+len(name):], " \t\r\n")
		if !strings.HasPrefix(s, "=") {
			continue
		}
		s = strings.TrimLeft(s[1:], " \t\r\n")
		if s == "" || s[0] != '"' && s[0] != '\'' {
			continue
		}
		if j := strings.IndexByte(s[1:], s[0]); j >= 0 {
			return s[1 : 1+j]
		}
		return ""
	}
}

// readBang reads what follows "<!": a comment, a CDATA section or a
// declaration such as DOCTYPE.
func (z *xmlTokenizer) readBang() (xmlTokKind, error) {
	z.ensure(7)
	rest := z.buf[z.pos:z.end]
	switch {
	case bytes.HasPrefix(rest, []byte("--")):
		z.pos += 2
		return tokComment, z.skipComment()
	case bytes.HasPrefix(rest, []byte("[CDATA[")):
		z.pos += 7
		return tokText, z.readText(true)
	case len(rest) > 0 && rest[0] == '-':
		if len(rest) < 2 {
			z.pos++
			return tokEOF, z.inputErr()
		}
		z.pos += 2 // positioned as encoding/xml, after the offending byte
		return tokEOF, z.errorf("invalid sequence <!- not part of <!--")
	case len(rest) > 0 && rest[0] == '[':
		i := 1
		for i < len(rest) && rest[i] == "[CDATA["[i] {
			i++
		}
		if i == len(rest) {
			z.pos += i
			return tokEOF, z.inputErr()
		}
		z.pos += i + 1
		return tokEOF, z.errorf("invalid <![ sequence")
	}
	return tokDirective, z.readDirective()
}

func (z *xmlTokenizer) skipComment() error {
	var b0, b1 byte
	for {
		b, err := z.mustByte()
		if err != nil {
			return err
		}
		if b0 == '-' && b1 == '-' {
			if b != '>' {
				return z.errorf(`invalid sequence "--" not allowed in comments`)
			}
			return nil
		}
		b0, b1 = b1, b
	}
}

// readDirective reads a declaration up to its '>', skipping quoted strings,
// nested declarations (the internal subset of a DOCTYPE) and comments, into
// z.text.
func (z *xmlTokenizer) readDirective() error {
	// As encoding/xml, the first byte (the D of DOCTYPE) is taken as is.
	b, err := z.mustByte()
	if err != nil {
		return err
	}
	z.text = append(z.text[:0], b)
	var quote byte
	depth := 0
	for {
		b, err := z.mustByte()
		if err != nil {
			return err
		}
		switch {
		case quote != 0:
			if b == quote {
				quote = 0
			}
		case b == '"' || b == '\'':
			quote = b
		case b == '>':
			if depth == 0 {
				return nil
			}
			depth--
		case b == '<':
			z.ensure(3)
			if bytes.HasPrefix(z.buf[z.pos:z.end], []byte("!--")) {
				z.pos += 3
				if err := z.skipComment(); err != nil {
					return err
				}
				z.text = append(z.text, ' ')
				continue
			}
			depth++
		}
		z.text = append(z.text, b)
	}
}
