package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/switchyard/switchyard/secret"
	"github.com/switchyard/switchyard/sources"
)

// testCA is a certificate authority made for one test.
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pem  string // path of its certificate
}

// certify makes a key and a certificate for it from tmpl (a serial number
// and an hour either side of now added), signed by ca, or self-signed when
// ca is nil.
func certify(t *testing.T, tmpl *x509.Certificate, ca *testCA) (*ecdsa.PrivateKey, []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	serial, err := rand.Int(rand.Reader, big.NewInt(1<<62))
	if err != nil {
		t.Fatal(err)
	}
	tmpl.SerialNumber, tmpl.NotBefore, tmpl.NotAfter = serial, time.Now().Add(-time.Hour), time.Now().Add(time.Hour)
	parent, signer := tmpl, key
	if ca != nil {
		parent, signer = ca.cert, ca.key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, signer)
	if err != nil {
		t.Fatal(err)
	}
	return key, der
}

func newTestCA(t *testing.T, dir, name string) *testCA {
	t.Helper()
	key, der := certify(t, &x509.Certificate{
		Subject: pkix.Name{CommonName: name}, IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}, nil)
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	ca := &testCA{cert: cert, key: key, pem: filepath.Join(dir, name+".pem")}
	writePEM(t, ca.pem, "CERTIFICATE", der)
	return ca
}

// issue writes a certificate for name signed by ca, and its key, and
// returns their paths. A server certificate is for 127.0.0.1.
func (ca *testCA) issue(t *testing.T, dir, name string, server bool) (certPath, keyPath string) {
	t.Helper()
	tmpl := &x509.Certificate{
		Subject:  pkix.Name{CommonName: name},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	if server {
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
		tmpl.IPAddresses = []net.IP{net.ParseIP("127.0.0.1")}
	}
	key, der := certify(t, tmpl, ca)
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certPath, keyPath = filepath.Join(dir, name+".pem"), filepath.Join(dir, name+".key")
	writePEM(t, certPath, "CERTIFICATE", der)
	writePEM(t, keyPath, "EC PRIVATE KEY", kder)
	return certPath, keyPath
}

func writePEM(t *testing.T, path, typ string, der []byte) {
	t.Helper()
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
}

// startTLSNATS starts a real nats-server with JetStream that speaks only
// TLS and requires a client certificate signed by ca, and returns its URL.
func startTLSNATS(t *testing.T, dir string, ca *testCA) string {
	t.Helper()
	bin, err := buildNATSOnce()
	if err != nil {
		t.Fatal(err)
	}
	cert, key := ca.issue(t, dir, "nats-server", true)
	port := freePorts(t, 1)[0]
	conf := filepath.Join(dir, "nats.conf")
	if err := os.WriteFile(conf, []byte(fmt.Sprintf(`
listen: "127.0.0.1:%d"
jetstream { store_dir: %q }
tls { cert_file: %q, key_file: %q, ca_file: %q, verify: true, timeout: 5 }
`, port, filepath.Join(dir, "js"), cert, key, ca.pem)), 0o600); err != nil {
		t.Fatal(err)
	}
	logPath := filepath.Join(dir, "nats.log")
	logf, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-c", conf)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait(); logf.Close() }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-done
		if t.Failed() {
			b, _ := os.ReadFile(logPath)
			t.Logf("nats-server log (tail):\n%s", tail(string(b), 4000))
		}
	})
	waitFor(t, "nats-server listening", 30*time.Second, func() bool {
		c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port))
		if err == nil {
			c.Close()
		}
		return err == nil
	})
	return fmt.Sprintf("tls://127.0.0.1:%d", port)
}

// An external NATS that requires mutual TLS: serve connects with the CA
// and client certificate it is given, and stores and delivers through it;
// without a client certificate, or trusting another CA, it refuses to
// start and says why.
func TestServeOverMutualTLS(t *testing.T) {
	bin := buildBinary(t)
	dir := t.TempDir()
	ca := newTestCA(t, dir, "switchyard-test-ca")
	url := startTLSNATS(t, dir, ca)
	clientCert, clientKey := ca.issue(t, dir, "switchyard-client", false)
	sink := newIDSink(t, 0)
	rulesPath := filepath.Join(dir, "rules.yaml")
	if err := os.WriteFile(rulesPath, []byte(fmt.Sprintf(crashRules, "")), 0o600); err != nil {
		t.Fatal(err)
	}
	const plSecret = "tls-secret"
	env := []string{"PL_SECRET=" + plSecret, "SINK=" + sink.url}

	t.Run("with the CA and a client certificate", func(t *testing.T) {
		p := startServe(t, bin, rulesPath, filepath.Join(dir, "ok"), env,
			"--nats", url, "--nats-tls-ca", ca.pem, "--nats-tls-cert", clientCert, "--nats-tls-key", clientKey)
		cfg := sources.Config{Name: "productlift", Vendor: "productlift", Secret: secret.Secret(plSecret)}
		res := postVote(t, &http.Client{Timeout: 30 * time.Second}, cfg, p.public, readFixture(t, "productlift/vote.created.json"), "tls-1")
		if res.status != http.StatusAccepted {
			t.Fatalf("ingest answered %d, want 202", res.status)
		}
		waitFor(t, "the delivery", 60*time.Second, func() bool { return len(sink.missing([]string{"tls-1"})) == 0 })
	})

	other := newTestCA(t, dir, "another-ca")
	for _, tc := range []struct {
		name  string
		flags []string
		want  string // in the error
	}{
		// Under TLS 1.3 the server may refuse the missing certificate after
		// the client has finished its handshake: then the client reads a
		// closed connection instead of the alert. Either is a TLS error.
		{"without a client certificate", []string{"--nats-tls-ca", ca.pem}, "tls"},
		{"trusting another CA", []string{"--nats-tls-ca", other.pem, "--nats-tls-cert", clientCert, "--nats-tls-key", clientKey}, "unknown authority"},
		{"a certificate without its key", []string{"--nats-tls-ca", ca.pem, "--nats-tls-cert", clientCert}, "--nats-tls-key"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"serve", "--rules", rulesPath, "--data", filepath.Join(t.TempDir(), "data"),
				"--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0", "--nats", url}, tc.flags...)
			cmd := exec.Command(bin, args...)
			cmd.Env = append(os.Environ(), env...)
			done := make(chan struct{})
			var out []byte
			var err error
			go func() { out, err = cmd.CombinedOutput(); close(done) }()
			select {
			case <-done:
			case <-time.After(60 * time.Second):
				_ = cmd.Process.Kill()
				<-done
				t.Fatalf("serve still running after 60s:\n%s", out)
			}
			if err == nil {
				t.Fatalf("serve exited 0, want a failure:\n%s", out)
			}
			if !strings.Contains(string(out), tc.want) {
				t.Errorf("serve's error does not say why (want %q in it):\n%s", tc.want, out)
			}
			if strings.Contains(string(out), plSecret) {
				t.Errorf("serve's output holds the source's secret:\n%s", out)
			}
		})
	}
}
