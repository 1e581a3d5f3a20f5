package sources

import (
	"net/http"
	"strings"
)

// Headers returns the request headers to store with an event: lower-cased
// names, the first value of each, and nothing that could carry a secret
// (credentials, cookies, signatures, tokens, keys).
func Headers(h http.Header) map[string]string {
	out := make(map[string]string, len(h))
	for k, vs := range h {
		if len(vs) == 0 {
			continue
		}
		name := strings.ToLower(k)
		if sensitiveHeader(name) {
			continue
		}
		// With the same name under two spellings, the canonical one wins,
		// so the result does not depend on map order.
		if _, dup := out[name]; dup && k != http.CanonicalHeaderKey(k) {
			continue
		}
		out[name] = vs[0]
	}
	return out
}

// sensitiveHeader reports whether a lower-cased header name may carry a
// secret.
func sensitiveHeader(name string) bool {
	switch name {
	case "authorization", "proxy-authorization", "cookie", "set-cookie":
		return true
	}
	for _, s := range []string{"signature", "secret", "token", "key", "auth", "password", "credential"} {
		if strings.Contains(name, s) {
			return true
		}
	}
	return false
}
