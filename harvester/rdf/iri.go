package rdf

import "strings"

// iriRef is an RFC 3986 reference split into its components.
type iriRef struct {
	scheme, authority, path, query, fragment       string
	hasScheme, hasAuthority, hasQuery, hasFragment bool
}

func isSchemeChar(c byte, first bool) bool {
	if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' {
		return true
	}
	if first {
		return false
	}
	return '0' <= c && c <= '9' || c == '+' || c == '-' || c == '.'
}

// schemeLen returns the length of the scheme of s (without ':') or -1.
func schemeLen(s string) int {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == ':' {
			if i == 0 {
				return -1
			}
			return i
		}
		if !isSchemeChar(c, i == 0) {
			return -1
		}
	}
	return -1
}

// isAbsoluteIRI reports whether s starts with a scheme.
func isAbsoluteIRI(s string) bool { return schemeLen(s) > 0 }

func splitIRI(s string) iriRef {
	var r iriRef
	if n := schemeLen(s); n > 0 {
		r.scheme, r.hasScheme = s[:n], true
		s = s[n+1:]
	}
	if i := strings.IndexByte(s, '#'); i >= 0 {
		r.fragment, r.hasFragment = s[i+1:], true
		s = s[:i]
	}
	if i := strings.IndexByte(s, '?'); i >= 0 {
		r.query, r.hasQuery = s[i+1:], true
		s = s[:i]
	}
	if strings.HasPrefix(s, "//") {
		s = s[2:]
		i := strings.IndexByte(s, '/')
		if i < 0 {
			i = len(s)
		}
		r.authority, r.hasAuthority = s[:i], true
		s = s[i:]
	}
	r.path = s
	return r
}

func (r *iriRef) String() string {
	var b strings.Builder
	if r.hasScheme {
		b.WriteString(r.scheme)
		b.WriteByte(':')
	}
	if r.hasAuthority {
		b.WriteString("//")
		b.WriteString(r.authority)
	}
	b.WriteString(r.path)
	if r.hasQuery {
		b.WriteByte('?')
		b.WriteString(r.query)
	}
	if r.hasFragment {
		b.WriteByte('#')
		b.WriteString(r.fragment)
	}
	return b.String()
}

// mayHaveDotSegment tells whether s has a '.' that starts it or follows a
// slash: without, no path in it has a dot segment. Faster than
// strings.Contains(s, "/.") on IRIs, which have many slashes and few dots.
func mayHaveDotSegment(s string) bool {
	for i := 0; ; i++ {
		j := strings.IndexByte(s[i:], '.')
		if j < 0 {
			return false
		}
		if i += j; i == 0 || s[i-1] == '/' {
			return true
		}
	}
}

// removeDotSegments implements RFC 3986 section 5.2.4.
func removeDotSegments(in string) string {
	if !mayHaveDotSegment(in) {
		return in
	}
	out := make([]byte, 0, len(in))
	for len(in) > 0 {
		switch {
		case strings.HasPrefix(in, "../"):
			in = in[3:]
		case strings.HasPrefix(in, "./"):
			in = in[2:]
		case strings.HasPrefix(in, "/./"):
			in = in[2:]
		case in == "/.":
			in = "/"
		case strings.HasPrefix(in, "/../"):
			in = in[3:]
			out = out[:lastSlash(out)]
		case in == "/..":
			in = "/"
			out = out[:lastSlash(out)]
		case in == "." || in == "..":
			in = ""
		default:
			start := 0
			if in[0] == '/' {
				start = 1
			}
			i := strings.IndexByte(in[start:], '/')
			if i < 0 {
				i = len(in)
			} else {
				i += start
			}
			out = append(out, in[:i]...)
			in = in[i:]
		}
	}
	return string(out)
}

func lastSlash(b []byte) int {
	for i := len(b) - 1; i >= 0; i-- {
		if b[i] == '/' {
			return i
		}
	}
	return 0
}

// resolveIRI resolves ref against base following RFC 3986 section 5.2.2
// (strict mode). If base is empty the reference is returned unchanged.
func resolveIRI(base, ref string) string {
	if n := schemeLen(ref); n > 0 {
		// Without a dot segment (one starts the path or follows a slash)
		// the path stays as it is, and so does the reference: most IRIs.
		if !mayHaveDotSegment(ref[n+1:]) {
			return ref
		}
		r := splitIRI(ref)
		p := removeDotSegments(r.path)
		if p == r.path {
			return ref
		}
		r.path = p
		return r.String()
	}
	if base == "" {
		return ref
	}
	b := splitIRI(base)
	r := splitIRI(ref)
	var t iriRef
	t.scheme, t.hasScheme = b.scheme, b.hasScheme
	if r.hasAuthority {
		t.authority, t.hasAuthority = r.authority, true
		t.path = removeDotSegments(r.path)
		t.query, t.hasQuery = r.query, r.hasQuery
	} else {
		t.authority, t.hasAuthority = b.authority, b.hasAuthority
		if r.path == "" {
			t.path = b.path
			if r.hasQuery {
				t.query, t.hasQuery = r.query, true
			} else {
				t.query, t.hasQuery = b.query, b.hasQuery
			}
		} else {
			if r.path[0] == '/' {
				t.path = removeDotSegments(r.path)
			} else {
				t.path = removeDotSegments(mergePaths(&b, r.path))
			}
			t.query, t.hasQuery = r.query, r.hasQuery
		}
	}
	t.fragment, t.hasFragment = r.fragment, r.hasFragment
	return t.String()
}

func mergePaths(b *iriRef, rpath string) string {
	if b.hasAuthority && b.path == "" {
		return "/" + rpath
	}
	i := strings.LastIndexByte(b.path, '/')
	if i < 0 {
		return rpath
	}
	return b.path[:i+1] + rpath
}
