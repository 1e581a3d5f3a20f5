package router

import (
	"bytes"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/switchyard/switchyard/sources"
)

func noEnv(string) (string, bool) { return "", false }

// TestExamplesLoad: the bundled example rules load with no variable set,
// every rules file under examples/ loads, and every vendor payload under
// examples/ is accepted by the example's source for its vendor when signed
// the way that vendor signs, and refused unsigned.
func TestExamplesLoad(t *testing.T) {
	cfg, err := Load("../rules.example.yaml", noEnv, BuildOptions{})
	if err != nil {
		t.Fatalf("rules.example.yaml: %v", err)
	}
	yamls, _ := filepath.Glob("../examples/*/*.yaml")
	for _, y := range yamls {
		if strings.Contains(y, "/deploy/") {
			continue
		}
		t.Run(y, func(t *testing.T) {
			if _, err := Load(y, noEnv, BuildOptions{}); err != nil {
				t.Fatal(err)
			}
		})
	}
	byVendor := map[string]string{}
	for _, s := range cfg.File.Sources {
		byVendor[s.Vendor] = s.Name
	}
	payloads, _ := filepath.Glob("../examples/*/*.json")
	if len(payloads) < 5 {
		t.Fatalf("found %d example payloads", len(payloads))
	}
	for _, p := range payloads {
		vendor := filepath.Base(filepath.Dir(p))
		t.Run(vendor+"/"+filepath.Base(p), func(t *testing.T) {
			name, ok := byVendor[vendor]
			if !ok {
				t.Fatalf("rules.example.yaml has no %s source", vendor)
			}
			body, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			spec, _ := cfg.File.Source(name)
			sc := sources.Config{Name: name, Vendor: vendor, Key: spec.Key, Secret: spec.Secret}
			signed, err := sources.Sign(sc, body, time.Now())
			if err != nil {
				t.Fatal(err)
			}
			req, _ := http.NewRequest(http.MethodPost, "/hooks/"+name+"?"+signed.Query.Encode(), bytes.NewReader(signed.Body))
			req.Header = signed.Header
			d, err := cfg.DryRun(name, req, signed.Body)
			if err != nil {
				t.Fatal(err)
			}
			if !d.Verified || d.EnvelopeError != "" || d.Event == nil || d.Event.Event == "" || d.Event.ID == "" {
				t.Fatalf("signed example refused: %+v", d)
			}
			unsigned, _ := http.NewRequest(http.MethodPost, "/hooks/"+name, bytes.NewReader(body))
			if d, _ := cfg.DryRun(name, unsigned, body); d.Verified {
				t.Fatal("unsigned example verified")
			}
		})
	}
}

// TestExampleRulesFire: each example rule fires on its vendor's example
// payload, so the README's walk-through is true.
func TestExampleRulesFire(t *testing.T) {
	cfg, err := Load("../rules.example.yaml", noEnv, BuildOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ source, file, rule string }{
		{"sleekplan", "sleekplan/item.create.json", "new-sleekplan-feedback"},
		{"productlift", "productlift/vote.created.json", "vote-on-99"},
		{"userback", "userback/feedback.create.json", "urgent-userback-bug"},
		{"leanbe", "leanbe/idea.created.json", "leanbe-ideas"},
	} {
		t.Run(tc.rule, func(t *testing.T) {
			body, err := os.ReadFile("../examples/" + tc.file)
			if err != nil {
				t.Fatal(err)
			}
			req, _ := http.NewRequest(http.MethodPost, "/hooks/"+tc.source, bytes.NewReader(body))
			d, err := cfg.DryRun(tc.source, req, body)
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range d.Rules {
				if r.Name != tc.rule {
					continue
				}
				if !r.Matched {
					t.Fatalf("%s did not match: %s", tc.rule, r.Reason)
				}
				for _, a := range r.Actions {
					if a.Error != "" {
						t.Fatalf("action %s cannot render: %s", a.Kind, a.Error)
					}
				}
				return
			}
			t.Fatalf("no rule %s", tc.rule)
		})
	}
}
