package actions

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// LiteralOrigin checks that raw, a URL template, starts with http:// or
// https:// and a host[:port] written literally, so that event data may
// fill its path and query but never choose where a request goes. It
// returns the scheme and host in lower case.
func LiteralOrigin(raw string) (scheme, host string, err error) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return "", "", errors.New("url is required")
	}
	scheme, rest, ok := strings.Cut(raw, "://")
	if !ok {
		return "", "", errors.New("url must start with http:// or https://")
	}
	scheme = strings.ToLower(scheme)
	if strings.Contains(scheme, "{{") {
		return "", "", errors.New("the url's scheme must be written literally, not templated")
	}
	if scheme != "http" && scheme != "https" {
		return "", "", fmt.Errorf("url scheme %q is not http or https", scheme)
	}
	authority := rest
	if i := strings.IndexAny(rest, "/?#"); i >= 0 {
		authority = rest[:i]
	}
	if strings.Contains(authority, "{{") || strings.Contains(authority, "}}") {
		return "", "", errors.New("the url's host must be written literally, never taken from event data")
	}
	u, err := url.Parse(scheme + "://" + authority)
	if err != nil {
		return "", "", fmt.Errorf("url host: %w", err)
	}
	if u.Hostname() == "" {
		return "", "", errors.New("url has no host")
	}
	return scheme, strings.ToLower(u.Host), nil
}
