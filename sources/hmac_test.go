package sources

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"strings"
	"sync"
	"testing"
)

// TestKeyedMACConcurrent: sources verify concurrent requests with pooled
// HMAC states; each answer must be its own request's, good or forged,
// whatever the states were used for before (run with -race).
func TestKeyedMACConcurrent(t *testing.T) {
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

// FuzzAppendHexString: the pooled states decode hex signatures as
// hex.DecodeString does, refusing the same strings.
func FuzzAppendHexString(f *testing.F) {
	for _, s := range []string{"", "00", "0", "ff", "FFaa09", "0g", "g0", "abc", "zz", "é1", strings.Repeat("ab", 64)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := appendHexString(nil, s)
		want, wantErr := hex.DecodeString(s)
		if (err == nil) != (wantErr == nil) || err == nil && !bytes.Equal(got, want) {
			t.Fatalf("appendHexString(%q) = %x, %v; hex.DecodeString: %x, %v", s, got, err, want, wantErr)
		}
	})
}
