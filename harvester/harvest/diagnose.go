package harvest

import (
	"errors"
	"net"
	"net/url"

	"github.com/opendatafrance/moisson/harvester/config"
	"github.com/opendatafrance/moisson/harvester/fetch"
)

// Diagnosis codes (HarvestRun.diagnosis_code): what stopped the run, for a
// portal admin, whatever the language the status is read in.
const (
	DiagDNS        = "dns"        // the host name does not resolve
	DiagConnection = "connection" // refused, reset, unreachable
	DiagTLS        = "tls"        // handshake or certificate
	DiagTimeout    = "timeout"    // no answer in time, or a body too slow
	DiagMoved      = "moved"      // redirected to another host
	DiagGone       = "gone"       // 404/410 on the API
	DiagRobots     = "robots"     // robots.txt disallows the endpoint
	DiagForbidden  = "forbidden"  // an address the harvester must not call
	DiagTooLarge   = "too_large"  // an answer over a size limit
)

// Diagnose says, from the error that stopped a run, what a portal admin
// should know: a portal that cannot be reached (and why), that moved or is
// gone, that forbids harvesting, or whose answer is too large. It returns a
// code (Diag*) and a sentence in English; "", "" when nothing of the kind
// is seen (a parse error, a publishing failure: the run's errors tell).
func Diagnose(err error, src *config.Source) (code, msg string) {
	if err == nil {
		return "", ""
	}
	host := ""
	if src != nil {
		if u, perr := url.Parse(src.Endpoint); perr == nil {
			host = u.Host
		}
	}
	var redir *fetch.RedirectError
	if errors.As(err, &redir) {
		return DiagMoved, "moved portal: " + redir.From + " redirects to another host, " + redir.To
	}
	var he *fetch.HTTPError
	if errors.As(err, &he) {
		switch he.Status {
		case 404, 410:
			if u, perr := url.Parse(he.URL); perr == nil {
				return DiagGone, "moved or dead portal: " + u.Host + " answers " + http404(he.Status) + " on the API"
			}
		}
		return "", ""
	}
	switch fetch.KindOf(err) {
	case fetch.KindDNS:
		name := host
		var dnsErr *net.DNSError
		if errors.As(err, &dnsErr) && dnsErr.Name != "" {
			name = dnsErr.Name
		}
		return DiagDNS, "unreachable portal: the host name " + name + " could not be resolved (DNS): the portal moved or is gone, or this machine has no network"
	case fetch.KindConnection:
		return DiagConnection, "unreachable portal: " + host + " refused or dropped the connection (" + err.Error() + ")"
	case fetch.KindTLS:
		return DiagTLS, "unreachable portal: the secure connection (TLS) to " + host + " failed: " + err.Error()
	case fetch.KindTimeout:
		return DiagTimeout, "unreachable portal: " + host + " did not answer in time (" + err.Error() + ")"
	case fetch.KindRobots:
		return DiagRobots, "the portal's robots.txt disallows harvesting this endpoint: " + err.Error()
	case fetch.KindForbidden:
		return DiagForbidden, "refused: " + err.Error() + " (not a public address)"
	case fetch.KindTooLarge:
		return DiagTooLarge, "answer too large: " + err.Error()
	}
	return "", ""
}

func http404(code int) string {
	if code == 410 {
		return "410 Gone"
	}
	return "404 Not Found"
}
