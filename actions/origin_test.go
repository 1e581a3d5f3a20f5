package actions

import (
	"strings"
	"testing"
)

func TestLiteralOrigin(t *testing.T) {
	tests := []struct {
		raw, scheme, host string
		err               string // a part of the error; "" for none
	}{
		{"https://example.com/x/{{ .data.id }}?q={{ .event }}", "https", "example.com", ""},
		{" HTTP://API.Example.com:8080 ", "http", "api.example.com:8080", ""},
		{"https://example.com?x={{ .id }}", "https", "example.com", ""},
		{"https://example.com#{{ .id }}", "https", "example.com", ""},
		{"https://[::1]:9/x", "https", "[::1]:9", ""},
		{"https://{{ .data.host }}/x", "", "", "host must be written literally"},
		{"https://api.{{ .data.tenant }}.example.com/x", "", "", "host must be written literally"},
		{"https://example.com{{ .data.path }}", "", "", "host must be written literally"},
		{"https://example.com:{{ .data.port }}/x", "", "", "host must be written literally"},
		{"https://user:{{ .data.pw }}@example.com/", "", "", "host must be written literally"},
		{"{{ .data.url }}", "", "", "must start with http:// or https://"},
		{"{{ .data.scheme }}://example.com/", "", "", "scheme must be written literally"},
		{"file:///etc/passwd", "", "", `scheme "file"`},
		{"ftp://example.com/x", "", "", `scheme "ftp"`},
		{"example.com/x", "", "", "must start with http:// or https://"},
		{"https:///x", "", "", "no host"},
		{"https://exa mple.com/", "", "", "url host"},
		{"", "", "", "required"},
	}
	for _, tt := range tests {
		t.Run(tt.raw, func(t *testing.T) {
			scheme, host, err := LiteralOrigin(tt.raw)
			switch {
			case tt.err == "" && err != nil:
				t.Fatalf("error %v", err)
			case tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)):
				t.Fatalf("error %v, want one saying %q", err, tt.err)
			case scheme != tt.scheme || host != tt.host:
				t.Errorf("= %q, %q, want %q, %q", scheme, host, tt.scheme, tt.host)
			}
		})
	}
}
