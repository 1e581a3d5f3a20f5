package sources

import (
	"bytes"
	"fmt"
	"sync"
	"testing"
)

// TestVerifyConcurrent: a source verifies concurrent requests; each answer
// must be its own request's, good or forged (run with -race).
func TestVerifyConcurrent(t *testing.T) {
	for _, f := range fixtures() {
		if !f.signed() {
			continue
		}
		t.Run(f.name, func(t *testing.T) {
			src := mustNew(t, f.cfg)
			good := mustSign(t, f.cfg, f.load(t))
			var wg sync.WaitGroup
			errs := make(chan error, 8)
			for g := range 8 {
				wg.Go(func() {
					for i := range 50 {
						s := clone(good)
						forged := (g+i)%3 == 0
						if forged {
							s = forge(s, f)
						}
						err := src.Verify(request(s, f.header), s.Body)
						if forged != (err != nil) {
							errs <- fmt.Errorf("goroutine %d, request %d (forged %v): Verify = %v", g, i, forged, err)
							return
						}
					}
				})
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Error(err)
			}
		})
	}
}

// forge returns s with a signature that does not match: one byte of the
// signed body changed (Leanbe: inside its payload), the signature kept.
func forge(s Signed, f fixture) Signed {
	b := s.Body
	i := len(b) / 3
	if f.cfg.Vendor == VendorLeanbe {
		i = bytes.Index(b, []byte(`"payload"`)) + len(`"payload"`)
	}
	for ; i < len(b); i++ {
		if 'a' <= b[i] && b[i] <= 'y' {
			b[i]++
			break
		}
	}
	return s
}
