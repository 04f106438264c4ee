package xmltok

import (
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
)

// Windows1252 and Latin9 (ISO-8859-15) give the runes of bytes 0x80-0xFF.
// Bytes windows-1252 leaves undefined map to the C1 control of the same
// value, as browsers do.
var Windows1252, Latin9 [128]rune

func init() {
	for i := range 128 {
		Windows1252[i] = rune(0x80 + i)
		Latin9[i] = rune(0x80 + i)
	}
	for i, r := range []rune{0x20AC, 0x81, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160, 0x2039, 0x0152, 0x8D, 0x017D, 0x8F,
		0x90, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014, 0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0x9D, 0x017E, 0x0178} {
		Windows1252[i] = r
	}
	for b, r := range map[int]rune{0xA4: 0x20AC, 0xA6: 0x0160, 0xA8: 0x0161, 0xB4: 0x017D, 0xB8: 0x017E, 0xBC: 0x0152, 0xBD: 0x0153, 0xBE: 0x0178} {
		Latin9[b-0x80] = r
	}
}

// SingleByteReader converts a single-byte encoding to UTF-8, byte by byte.
type SingleByteReader struct {
	r      io.ByteReader
	table  *[128]rune // nil: US-ASCII, bytes >= 0x80 are errors
	pend   [4]byte
	np, ip int
}

// NewSingleByteReader reads r through table (Windows1252, Latin9), or as
// strict US-ASCII when table is nil.
func NewSingleByteReader(r io.ByteReader, table *[128]rune) *SingleByteReader {
	return &SingleByteReader{r: r, table: table}
}

// ReadByte returns the next byte of the UTF-8 text.
func (s *SingleByteReader) ReadByte() (byte, error) {
	if s.ip < s.np {
		b := s.pend[s.ip]
		s.ip++
		return b, nil
	}
	b, err := s.r.ReadByte()
	if err != nil || b < 0x80 {
		return b, err
	}
	if s.table == nil {
		return 0, fmt.Errorf("byte 0x%02X is not US-ASCII", b)
	}
	s.np = utf8.EncodeRune(s.pend[:], s.table[b-0x80])
	s.ip = 1
	return s.pend[0], nil
}

// Read reads the UTF-8 text.
func (s *SingleByteReader) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		b, err := s.ReadByte()
		if err != nil {
			if n > 0 && err == io.EOF {
				return n, nil
			}
			return n, err
		}
		p[n] = b
		n++
	}
	return n, nil
}

type byteReaderAdapter struct{ r io.Reader }

func (b byteReaderAdapter) ReadByte() (byte, error) {
	var x [1]byte
	for {
		n, err := b.r.Read(x[:])
		if n == 1 {
			return x[0], nil
		}
		if err != nil {
			return 0, err
		}
	}
}

// charsetReader implements xml.Decoder.CharsetReader for the single-byte
// encodings commonly found on French portals.
func charsetReader(label string, input io.Reader) (io.Reader, error) {
	br, ok := input.(io.ByteReader)
	if !ok {
		br = byteReaderAdapter{input}
	}
	switch strings.ToLower(strings.TrimSpace(label)) {
	case "iso-8859-1", "iso8859-1", "latin1", "latin-1", "l1", "iso_8859-1", "cp819", "ibm819", "iso-ir-100":
		// As in the WHATWG encoding standard, ISO-8859-1 is decoded as its
		// windows-1252 superset: real-world files labelled latin-1 routinely
		// contain 0x80-0x9F bytes meaning €, ’, œ...
		return NewSingleByteReader(br, &Windows1252), nil
	case "windows-1252", "cp1252", "x-cp1252":
		return NewSingleByteReader(br, &Windows1252), nil
	case "iso-8859-15", "iso8859-15", "latin-9", "latin9", "l9":
		return NewSingleByteReader(br, &Latin9), nil
	case "us-ascii", "ascii", "iso646-us":
		return NewSingleByteReader(br, nil), nil
	case "utf8":
		return input, nil
	}
	return nil, fmt.Errorf("unsupported encoding %q (supported: UTF-8, ISO-8859-1, ISO-8859-15, windows-1252, US-ASCII)", label)
}
