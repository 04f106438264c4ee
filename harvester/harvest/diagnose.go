package harvest

import (
	"errors"
	"net"
	"net/url"

	"github.com/opendatafrance/moisson/harvester/config"
	"github.com/opendatafrance/moisson/harvester/fetch"
)

// Diagnose says, from the error that stopped a run, whether the portal looks
// moved or dead, so that status shows it as such and not as an empty
// success. "" when nothing of the kind is seen.
func Diagnose(err error, src *config.Source) string {
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) && dnsErr.IsNotFound {
		return "dead or moved portal: the host " + dnsErr.Name + " does not exist (DNS)"
	}
	var redir *fetch.RedirectError
	if errors.As(err, &redir) {
		return "moved portal: " + redir.From + " redirects to another host, " + redir.To
	}
	var he *fetch.HTTPError
	if errors.As(err, &he) {
		switch he.Status {
		case 404, 410:
			if u, perr := url.Parse(he.URL); perr == nil && src != nil {
				return "moved or dead portal: " + u.Host + " answers " + http404(he.Status) + " on the API"
			}
		}
	}
	var opErr *net.OpError
	if errors.As(err, &opErr) && opErr.Op == "dial" {
		return "unreachable portal: " + opErr.Error()
	}
	return ""
}

func http404(code int) string {
	if code == 410 {
		return "410 Gone"
	}
	return "404 Not Found"
}
