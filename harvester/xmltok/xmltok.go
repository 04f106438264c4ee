// Package xmltok is a fast XML 1.0 tokeniser for the parsers of catalogue
// documents (RDF/XML, CSW answers). It replaces encoding/xml's Decoder,
// which reads its input one byte at a time through an interface and
// allocates for every name, attribute and text token: that was half the
// time of reading a large catalogue. This one scans a buffer of its own,
// interns element and attribute names, and hands out text and attribute
// values as slices of reused buffers.
//
// It checks well-formedness as far as a token goes; matching start and end
// tags and resolving namespace prefixes are left to the parser, which keeps
// the stack of open elements anyway. It supports: the XML declaration, with
// a single-byte charset (ISO-8859-1/15, windows-1252, US-ASCII) decoded from
// there on; comments (skipped); processing instructions; CDATA sections;
// DOCTYPE and other declarations (returned whole: no entity is ever
// expanded, and parsers refuse entity declarations); character references
// and the five predefined entities; line-end normalisation; attribute value
// normalisation (XML 1.0 section 3.3.3, for CDATA attributes: each literal
// tab, newline or carriage return becomes a space, character references are
// kept); strict UTF-8 and Char checks. A token (tag with its attributes,
// text run, comment...) may take at most MaxTokenSize bytes of input.
package xmltok

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
)

// MaxTokenSize bounds one token: a tag with its attributes, a run of
// character data, a comment, a declaration.
const MaxTokenSize = 16 << 20

var errTokenTooLarge = errors.New("token too large")

// ErrKeptTooLarge is what a SyntaxError wraps when the input kept from a
// Mark outgrew its bound.
var ErrKeptTooLarge = errors.New("xml: kept input exceeds its bound")

// SyntaxError is a document that is not well-formed XML (or uses what the
// tokeniser refuses), at a 1-based line and column (in characters).
type SyntaxError struct {
	Line, Col int
	Msg       string
	Err       error // ErrKeptTooLarge, or nil
}

func (e *SyntaxError) Unwrap() error { return e.Err }

func (e *SyntaxError) Error() string {
	return fmt.Sprintf("xml: line %d, col %d: %s", e.Line, e.Col, e.Msg)
}

// Tokenizer reads the tokens of one document. The current token's fields
// are valid until the next call to Next.
type Tokenizer struct {
	// The current token.
	Name      Name   // Start, End; the target of a ProcInst in Name.Local
	SelfClose bool   // Start: an empty-element tag (<a/>), with no End token of its own
	Attrs     []Attr // Start: the attributes, as written (xmlns ones included)
	Text      []byte // CharData: character data; ProcInst: instruction; Directive: body
	Entry     *Entry // Start: the element name's interned entry

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

	vals    []byte // attribute values, by offsets in Attrs
	charErr string // a bad character in the current text or attribute value

	names   map[string]*Entry
	recent  [128]*Entry // direct-mapped cache in front of names
	nameBuf []byte

	// Keeping the input from a mark (Mark, Kept).
	keeping bool
	kept    []byte
	keepPos int // buffer index from which bytes are not in kept yet
	maxKept int
}

// Entry is an interned qualified name. NS, URI and Stamp are the caller's:
// room to keep what the name last resolved to, and when, so that a parser
// resolves each name of a document once rather than at every element.
type Entry struct {
	Raw string
	Name
	NS, URI string
	Stamp   uint64
}

// Kind is the kind of a token.
type Kind uint8

// Kinds of tokens. Comments are skipped.
const (
	EOF Kind = iota
	Start
	End
	CharData
	ProcInst
	Directive
	comment
)

// Name is a raw qualified name: Prefix "" when it has none.
type Name struct{ Prefix, Local string }

// String is the name as written.
func (n Name) String() string {
	if n.Prefix == "" {
		return n.Local
	}
	return n.Prefix + ":" + n.Local
}

// NSDecl tells whether an attribute of this name declares a namespace
// (xmlns="…" or xmlns:p="…"), and the prefix it declares ("" for the
// default namespace).
func (n Name) NSDecl() (prefix string, ok bool) {
	switch {
	case n.Prefix == "xmlns":
		return n.Local, true
	case n.Prefix == "" && n.Local == "xmlns":
		return "", true
	}
	return "", false
}

// Attr is an attribute of the current start tag; its value is Value(a).
type Attr struct {
	Name       Name
	start, end int // value: vals[start:end]
}

// maxInternedNames bounds the name table against documents made of
// distinct names; past it the table starts over.
const maxInternedNames = 1 << 14

// New reads a document from r.
func New(r io.Reader) *Tokenizer {
	return &Tokenizer{src: r, buf: make([]byte, 64<<10), line: 1, names: map[string]*Entry{}}
}

// Value is the value of an attribute of the current start tag, normalised
// and with its references replaced; valid until the next call to Next.
func (z *Tokenizer) Value(a *Attr) []byte { return z.vals[a.start:a.end] }

// Mark starts keeping the input from the next unread byte, so that a
// parser can cut an element out of the document as it was written (after
// charset decoding); reading on past max bytes from the mark fails. A new
// Mark starts over.
func (z *Tokenizer) Mark(max int) {
	z.keeping, z.kept, z.keepPos, z.maxKept = true, z.kept[:0], z.pos, max
}

// Kept returns the input from the mark up to the next unread byte, valid
// until the next call to Next or Mark.
func (z *Tokenizer) Kept() []byte {
	if !z.keeping {
		return nil
	}
	z.kept = append(z.kept, z.buf[z.keepPos:z.pos]...)
	z.keepPos = z.pos
	return z.kept
}

// Position returns the 1-based line and column (in characters) of the next
// unread byte.
func (z *Tokenizer) Position() (line, col int) {
	z.countTo(z.pos)
	return z.line, z.col + 1
}

func (z *Tokenizer) countTo(upto int) {
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

func (z *Tokenizer) errorf(format string, args ...any) *SyntaxError {
	line, col := z.Position()
	return &SyntaxError{Line: line, Col: col, Msg: fmt.Sprintf(format, args...)}
}

// fill reads more input, keeping buf[pos:end]. It reports false at the end
// of the input or on an error (then in z.ioErr).
func (z *Tokenizer) fill() bool {
	if z.ioErr != nil {
		return false
	}
	if z.base+int64(z.pos)-z.tokOff > MaxTokenSize {
		z.ioErr = errTokenTooLarge
		return false
	}
	if z.pos > 0 {
		if z.keeping {
			if len(z.kept)+z.pos-z.keepPos > z.maxKept {
				z.ioErr = ErrKeptTooLarge
				return false
			}
			z.kept = append(z.kept, z.buf[z.keepPos:z.pos]...)
			z.keepPos = 0
		}
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
func (z *Tokenizer) ensure(n int) bool {
	for z.end-z.pos < n {
		if !z.fill() {
			return false
		}
	}
	return true
}

// inputErr turns the end of the input or a read error in the middle of a
// token into a SyntaxError.
func (z *Tokenizer) inputErr() error {
	switch {
	case z.ioErr == nil, z.ioErr == io.EOF, z.ioErr == io.ErrUnexpectedEOF:
		z.pos = z.end // positioned at the end of the input
		return z.errorf("unexpected EOF")
	case errors.Is(z.ioErr, errTokenTooLarge):
		return z.errorf("XML token exceeds %d bytes limit", MaxTokenSize)
	case errors.Is(z.ioErr, ErrKeptTooLarge):
		e := z.errorf("more than %d bytes from the mark", z.maxKept)
		e.Err = ErrKeptTooLarge
		return e
	}
	return z.errorf("%v", z.ioErr)
}

// peek returns the next byte, false at the end of the input.
func (z *Tokenizer) peek() (byte, bool) {
	if z.pos == z.end && !z.fill() {
		return 0, false
	}
	return z.buf[z.pos], true
}

// mustByte consumes the next byte; the input must have one.
func (z *Tokenizer) mustByte() (byte, error) {
	if z.pos == z.end && !z.fill() {
		return 0, z.inputErr()
	}
	b := z.buf[z.pos]
	z.pos++
	return b, nil
}

func (z *Tokenizer) skipSpace() {
	for {
		b, ok := z.peek()
		if !ok || !isXMLSpace(b) {
			return
		}
		z.pos++
	}
}

func isXMLSpace(b byte) bool { return b == ' ' || b == '\n' || b == '\t' || b == '\r' }

// Next reads the next token into z. At the end of the input it returns
// EOF (an error when the input ends inside a token).
func (z *Tokenizer) Next() (Kind, error) {
	for {
		z.tokOff = z.base + int64(z.pos)
		kind, err := z.token()
		if err != nil {
			return EOF, err
		}
		// fill stops a token that outgrows the limit by a buffer; this is
		// the exact check.
		if z.base+int64(z.pos)-z.tokOff > MaxTokenSize {
			return EOF, z.errorf("XML token exceeds %d bytes limit", MaxTokenSize)
		}
		if kind != comment {
			return kind, nil
		}
	}
}

func (z *Tokenizer) token() (Kind, error) {
	b, ok := z.peek()
	if !ok {
		if z.ioErr == io.EOF {
			return EOF, nil
		}
		return EOF, z.inputErr()
	}
	if b != '<' {
		return CharData, z.readText(false)
	}
	z.pos++
	b, err := z.mustByte()
	if err != nil {
		return EOF, err
	}
	switch b {
	case '/':
		return End, z.readEndTag()
	case '?':
		return ProcInst, z.readPI()
	case '!':
		return z.readBang()
	}
	z.pos--
	return Start, z.readStartTag()
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
func (z *Tokenizer) readNameBytes() ([]byte, error) {
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
func (z *Tokenizer) readQName() (e *Entry, ok bool, err error) {
	b, err := z.readNameBytes()
	if err != nil || len(b) == 0 {
		return nil, false, err
	}
	// A document uses a few names over and over: a cheap hash of the length
	// and two bytes finds most of them without hashing the whole name.
	slot := &z.recent[(len(b)*31+int(b[len(b)-1])*7+int(b[len(b)/2]))%len(z.recent)]
	if e := *slot; e != nil && e.Raw == string(b) {
		return e, true, nil
	}
	if e, ok := z.names[string(b)]; ok {
		*slot = e
		return e, true, nil
	}
	s := string(b)
	e = &Entry{Raw: s}
	// As encoding/xml: a leading or trailing colon makes no prefix.
	switch i := strings.IndexByte(s, ':'); {
	case strings.Count(s, ":") > 1:
		return nil, false, nil
	case i < 1 || i == len(s)-1:
		e.Local = s
	default:
		e.Prefix, e.Local = s[:i], s[i+1:]
	}
	if len(z.names) >= maxInternedNames {
		clear(z.names)
	}
	z.names[s] = e
	*slot = e
	return e, true, nil
}

func (z *Tokenizer) readEndTag() error {
	e, ok, err := z.readQName()
	if err != nil {
		return err
	}
	if !ok {
		return z.errorf("expected element name after </")
	}
	n := e.Name
	z.Name = n
	z.skipSpace()
	b, err := z.mustByte()
	if err != nil {
		return err
	}
	if b != '>' {
		return z.errorf("invalid characters between </%s and >", n.Local)
	}
	return nil
}

func (z *Tokenizer) readStartTag() error {
	z.SelfClose = false
	z.Attrs = z.Attrs[:0]
	z.vals = z.vals[:0]
	e, ok, err := z.readQName()
	if err != nil {
		return err
	}
	if !ok {
		return z.errorf("expected element name after <")
	}
	z.Entry, z.Name = e, e.Name
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
			z.SelfClose = true
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
		z.Attrs = append(z.Attrs, Attr{Name: an.Name, start: start, end: len(z.vals)})
	}
}

// readAttrValue appends the normalised value up to the closing quote to
// z.vals.
func (z *Tokenizer) readAttrValue(quote byte) error {
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
func (z *Tokenizer) appendRune(dst []byte) []byte {
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

func (z *Tokenizer) badChar(r rune) {
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
func (z *Tokenizer) endValue() error {
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
func (z *Tokenizer) readReference(dst []byte) ([]byte, error) {
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
// section, up to "]]>") into z.Text.
func (z *Tokenizer) readText(cdata bool) error {
	z.Text = z.Text[:0]
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
		z.Text = append(z.Text, b[:i]...)
		z.pos += i
		if i == len(b) {
			continue
		}
		switch c := b[i]; c {
		case '<':
			if !cdata {
				return z.endValue()
			}
			z.Text = append(z.Text, c)
			z.pos++
		case '&':
			if cdata {
				z.Text = append(z.Text, c)
				z.pos++
				continue
			}
			var err error
			if z.Text, err = z.readReference(z.Text); err != nil {
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
			z.Text = append(z.Text, c)
			z.pos++
		case '\r':
			z.Text = append(z.Text, '\n')
			z.pos++
			if c, ok := z.peek(); ok && c == '\n' {
				z.pos++
			}
		default:
			z.Text = z.appendRune(z.Text)
		}
	}
}

// readUntil appends the input up to the terminator to dst, and consumes
// the terminator.
func (z *Tokenizer) readUntil(dst []byte, term string) ([]byte, error) {
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

func (z *Tokenizer) readPI() error {
	target, err := z.readNameBytes()
	if err != nil {
		return err
	}
	if len(target) == 0 {
		return z.errorf("expected target name after <?")
	}
	z.Name = Name{Local: string(target)}
	z.skipSpace()
	if z.Text, err = z.readUntil(z.Text[:0], "?>"); err != nil {
		return err
	}
	if z.Name.Local == "xml" && !z.declDone {
		z.declDone = true
		return z.xmlDecl()
	}
	return nil
}

// xmlDecl acts on the XML declaration in z.Text: the version must be 1.0
// and a declared encoding other than UTF-8 is decoded from here on.
func (z *Tokenizer) xmlDecl() error {
	if v := declParam(z.Text, "version"); v != "" && v != "1.0" {
		return z.errorf("xml: unsupported version %q; only version 1.0 is supported", v)
	}
	enc := declParam(z.Text, "encoding")
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
func (z *Tokenizer) readBang() (Kind, error) {
	z.ensure(7)
	rest := z.buf[z.pos:z.end]
	switch {
	case bytes.HasPrefix(rest, []byte("--")):
		z.pos += 2
		return comment, z.skipComment()
	case bytes.HasPrefix(rest, []byte("[CDATA[")):
		z.pos += 7
		return CharData, z.readText(true)
	case len(rest) > 0 && rest[0] == '-':
		if len(rest) < 2 {
			z.pos++
			return EOF, z.inputErr()
		}
		z.pos += 2 // positioned as encoding/xml, after the offending byte
		return EOF, z.errorf("invalid sequence <!- not part of <!--")
	case len(rest) > 0 && rest[0] == '[':
		i := 1
		for i < len(rest) && rest[i] == "[CDATA["[i] {
			i++
		}
		if i == len(rest) {
			z.pos += i
			return EOF, z.inputErr()
		}
		z.pos += i + 1
		return EOF, z.errorf("invalid <![ sequence")
	}
	return Directive, z.readDirective()
}

func (z *Tokenizer) skipComment() error {
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
// z.Text.
func (z *Tokenizer) readDirective() error {
	// As encoding/xml, the first byte (the D of DOCTYPE) is taken as is.
	b, err := z.mustByte()
	if err != nil {
		return err
	}
	z.Text = append(z.Text[:0], b)
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
				z.Text = append(z.Text, ' ')
				continue
			}
			depth++
		}
		z.Text = append(z.Text, b)
	}
}
