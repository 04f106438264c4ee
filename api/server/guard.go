package server

// What a request may ask, before any route reads it: the size and shape of
// its query string, the method of the route, the origin of the page that
// calls it (CORS), the forwarded headers it may send, and the cursors it
// hands back.

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/opendatafrance/moisson/proto/bus"
)

// Bounds of a query string.
const (
	// MaxQueryBytes bounds the query string.
	MaxQueryBytes = 8 << 10
	// MaxParamValues bounds the values of one parameter (a filter
	// repeated): more is a mistake or an attack, and every value costs a
	// search clause and a line of the page.
	MaxParamValues = 50
	// MaxParams bounds the parameters (counting repeats).
	MaxParams = 200
)

// checkQuery says what is wrong with the query string of r, in English
// (for the API) and in French (for the web pages).
func checkQuery(r *http.Request) (en, fr string) {
	raw := r.URL.RawQuery
	if len(raw) > MaxQueryBytes {
		return fmt.Sprintf("the query string is %d bytes long, more than the %d accepted", len(raw), MaxQueryBytes),
			fmt.Sprintf("L'adresse demandée est trop longue (%s octets de paramètres, %s au plus).", frNum(len(raw)), frNum(MaxQueryBytes))
	}
	v, err := url.ParseQuery(raw)
	if err != nil {
		// Go drops every parameter past its limit (10 000) or badly
		// escaped: answered, they would silently lift filters.
		return "the query string cannot be read: " + err.Error(),
			"Les paramètres de l'adresse ne peuvent pas être lus (caractère mal encodé ou trop de paramètres)."
	}
	n := 0
	for k, vs := range v {
		n += len(vs)
		if len(vs) > MaxParamValues {
			return fmt.Sprintf("parameter %s is given %d times, more than the %d accepted", k, len(vs), MaxParamValues),
				fmt.Sprintf("Le paramètre « %s » est répété %s fois, %s au plus.", k, frNum(len(vs)), frNum(MaxParamValues))
		}
	}
	if n > MaxParams {
		return fmt.Sprintf("%d parameters, more than the %d accepted", n, MaxParams),
			fmt.Sprintf("L'adresse porte %s paramètres, %s au plus.", frNum(n), frNum(MaxParams))
	}
	return "", ""
}

func frNum(n int) string {
	s := strconv.Itoa(n)
	if len(s) <= 3 {
		return s
	}
	return s[:len(s)-3] + "\u202f" + s[len(s)-3:]
}

// isAPIPath tells the routes answered in JSON (the others are the web
// pages, in French).
func isAPIPath(p string) bool {
	return strings.HasPrefix(p, "/v1/") || strings.HasPrefix(p, "/catalog.") || p == "/openapi.json" ||
		p == "/metrics" || p == "/healthz" || p == "/readyz"
}

// readOnlyCORS tells the routes any web page may read (CORS): the read-only
// API. The admin route (POST .../harvest) is not among them.
func readOnlyCORS(r *http.Request) bool {
	return isAPIPath(r.URL.Path) && r.URL.Path != "/metrics"
}

// withGuard answers what no route should see: a query string over the
// bounds (400, JSON or a French page), and the CORS preflight of the
// read-only API; it adds the CORS headers to its answers.
func (s *Server) withGuard(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if en, fr := checkQuery(r); en != "" {
			if isAPIPath(r.URL.Path) || s.ui == nil {
				writeError(w, http.StatusBadRequest, "bad_query", en)
			} else {
				s.ui.ErrorPage(w, r, http.StatusBadRequest, "Adresse incorrecte", fr)
			}
			return
		}
		if readOnlyCORS(r) {
			hd := w.Header()
			if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
				if m := r.Header.Get("Access-Control-Request-Method"); m != http.MethodGet && m != http.MethodHead {
					writeError(w, http.StatusForbidden, "cors", "cross-origin requests may only read (GET, HEAD)")
					return
				}
				hd.Set("Access-Control-Allow-Origin", "*")
				hd.Set("Access-Control-Allow-Methods", "GET, HEAD, OPTIONS")
				hd.Set("Access-Control-Allow-Headers", "Accept, Accept-Language, Content-Type, If-None-Match, X-Request-Id")
				hd.Set("Access-Control-Max-Age", "86400")
				hd.Add("Vary", "Origin")
				w.WriteHeader(http.StatusNoContent)
				return
			}
			if r.Method == http.MethodGet || r.Method == http.MethodHead {
				hd.Set("Access-Control-Allow-Origin", "*")
				hd.Set("Access-Control-Expose-Headers", "X-Request-Id, X-Total-Count, ETag, Content-Disposition")
			}
		}
		h.ServeHTTP(w, r)
	})
}

// methodsOf lists the methods mux routes path to (besides the catch-alls).
func methodsOf(mux *http.ServeMux, r *http.Request) []string {
	var out []string
	for _, m := range []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete} {
		probe := &http.Request{Method: m, URL: r.URL, Host: r.Host, Header: http.Header{}}
		if _, pattern := mux.Handler(probe); pattern != "" && pattern != "/" && pattern != "GET /" {
			out = append(out, m)
		}
	}
	if slices.Contains(out, http.MethodGet) || slices.Contains(out, http.MethodHead) {
		out = append(out, http.MethodOptions)
	}
	return out
}

// ---- forwarded headers ----

// ParseProxies reads a comma-separated list of addresses or prefixes
// (10.0.0.1, 10.0.0.0/8, ::1).
func ParseProxies(s string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		if p, err := netip.ParsePrefix(f); err == nil {
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(f)
		if err != nil {
			return nil, fmt.Errorf("trusted proxy %q: not an address or a prefix", f)
		}
		out = append(out, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
	}
	return out, nil
}

// baseURL is the scheme and host the catalogue's IRIs are built on: the
// configured base URL; else the request's own (TLS, Host), with
// X-Forwarded-Proto and X-Forwarded-Host only when the request comes from
// a trusted proxy.
func (s *Server) baseURL(r *http.Request) string {
	if s.BaseURL != "" {
		return strings.TrimRight(s.BaseURL, "/")
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	host := r.Host
	if s.trustedPeer(r) {
		if p := r.Header.Get("X-Forwarded-Proto"); p == "https" || p == "http" {
			scheme = p
		}
		if h := r.Header.Get("X-Forwarded-Host"); h != "" && !strings.ContainsAny(h, "/ ,@?#\\") {
			host = h
		}
	}
	return scheme + "://" + host
}

func (s *Server) trustedPeer(r *http.Request) bool {
	if len(s.TrustedProxies) == 0 {
		return false
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return false
	}
	a = a.Unmap()
	for _, p := range s.TrustedProxies {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// ---- cursors ----

// Cursors are the index's own, sealed with an HMAC: a cursor this API did
// not issue (forged, edited, truncated) is refused with a 400 before it
// reaches the index. The key is kept in JetStream (bucket moisson-api), so
// that every API process of a deployment, and a restarted one, accepts
// the cursors of the others.

// cursorMACLen is the bytes of the HMAC kept in a cursor.
const cursorMACLen = 16

// ErrBadCursor is a cursor this API did not issue.
var ErrBadCursor = errors.New("cursor is not one this API issued; start again without it")

// sealCursor seals an index cursor ("" stays "").
func (s *Server) sealCursor(c string) string {
	if c == "" {
		return ""
	}
	m := hmac.New(sha256.New, s.cursorKey())
	m.Write([]byte(c))
	return c + "." + base64.RawURLEncoding.EncodeToString(m.Sum(nil)[:cursorMACLen])
}

// openCursor returns the index cursor a sealed one holds ("" stays "").
func (s *Server) openCursor(c string) (string, error) {
	if c == "" {
		return "", nil
	}
	i := strings.LastIndexByte(c, '.')
	if i < 0 || len(c) > 4096 {
		return "", ErrBadCursor
	}
	mac, err := base64.RawURLEncoding.DecodeString(c[i+1:])
	if err != nil || len(mac) != cursorMACLen {
		return "", ErrBadCursor
	}
	m := hmac.New(sha256.New, s.cursorKey())
	m.Write([]byte(c[:i]))
	if !hmac.Equal(mac, m.Sum(nil)[:cursorMACLen]) {
		return "", ErrBadCursor
	}
	return c[:i], nil
}

func (s *Server) cursorKey() []byte {
	s.keyOnce.Do(func() {
		if len(s.CursorKey) == 0 {
			s.CursorKey = make([]byte, 32)
			_, _ = rand.Read(s.CursorKey)
		}
	})
	return s.CursorKey
}

// CursorKey is the key cursors are sealed with, kept in the KV bucket
// moisson-api (created with replicas when missing): the first API process
// makes it, the others read it.
func CursorKey(ctx context.Context, js jetstream.JetStream, replicas int) ([]byte, error) {
	kv, err := bus.EnsureKeyValue(ctx, js, jetstream.KeyValueConfig{Bucket: bus.APIBucket, Replicas: max(replicas, 1),
		Description: "state of the API processes (the key of the cursors)"})
	if err != nil {
		return nil, err
	}
	if e, err := kv.Get(ctx, "cursor-key"); err == nil {
		return e.Value(), nil
	} else if !errors.Is(err, jetstream.ErrKeyNotFound) {
		return nil, err
	}
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	if _, err := kv.Create(ctx, "cursor-key", key); err != nil {
		if e, gerr := kv.Get(ctx, "cursor-key"); gerr == nil {
			return e.Value(), nil // another process made it first
		}
		return nil, err
	}
	return key, nil
}
