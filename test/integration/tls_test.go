//go:build integration

package integration

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TLS against the Postfix peer (STARTTLS on 2525, implicit TLS on 4465, STARTTLS required on
// 2587) with control/tlsdestinations. Routed deliveries look rules up by the relay, 127.0.0.1.

func caFile(t *testing.T) string { return filepath.Join(peersDir(t), "tls", "ca.pem") }

// tlsHome routes example.test to 127.0.0.1:port with the given tlsdestinations (and more files).
func tlsHome(t *testing.T, port, tlsdest string, more map[string]string) string {
	files := map[string]string{"smtproutes": "example.test:127.0.0.1:" + port + "\n", "tlsdestinations": tlsdest}
	for k, v := range more {
		files[k] = v
	}
	return qmailHome(t, files)
}

// wantTLSAccepted checks a one-recipient delivery that Postfix took over TLS, with the report's
// TLS wording (such as "TLS (verified CA)"), and that the message landed.
func wantTLSAccepted(t *testing.T, reports []report, id string, msg []byte, tlsName string) mailFile {
	t.Helper()
	wantAccepted(t, reports, 1, `(127\.0\.0\.1|::1)`)
	if k := reports[1].Text; !strings.Contains(k, " "+tlsName+" transmitted message accepted.") {
		t.Errorf("K report %q; want %q", k, tlsName)
	}
	m := waitMail(t, id, 1)[0]
	wantStored(t, m, msg, "tina@example.test")
	return m
}

// wantZ checks that a delivery failed temporarily with the given report text (a prefix).
func wantZ(t *testing.T, reports []report, prefix string) {
	t.Helper()
	if len(reports) != 1 || reports[0].Letter != 'Z' || !strings.HasPrefix(reports[0].Text, prefix) {
		t.Fatalf("reports %v; want one Z report starting %q", reports, prefix)
	}
}

func TestTLSDeliveries(t *testing.T) {
	t.Parallel()
	ca := caFile(t)
	tests := []struct {
		name, port, tlsdest, tlsName string
	}{
		{"opportunistic by default", peerSMTPPort, "", "TLS"},
		{"CA verified", peerSMTPPort, "127.0.0.1:" + ca + "\n", "TLS (verified CA)"},
		{"CA and exact name", peerSMTPPort, "=127.0.0.1:" + ca + "\n", "TLS (verified CA+DN)"},
		{"CA and name, wildcards allowed", peerSMTPPort, "~127.0.0.1:" + ca + "\n", "TLS (verified CA+DN*)"},
		{"implicit TLS", "4465", "127.0.0.1:" + ca + ";s4465\n", "TLS (verified CA)"},
		{"STARTTLS required by the server", "2587", "", "TLS"},
		{"global =* rule", peerSMTPPort, "=*:" + ca + "\n", "TLS (verified CA+DN)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			id, rcpt := newMessageID(t), "tina@example.test"
			msg := message(id, rcpt, "TLS: "+tt.name+".\n")
			d := delivery{home: tlsHome(t, tt.port, tt.tlsdest, nil), host: "example.test", rcpt: []string{rcpt}}
			wantTLSAccepted(t, d.run(t, msg), id, msg, tt.tlsName)
		})
	}
}

func TestTLSNeverRule(t *testing.T) {
	t.Parallel()
	id, rcpt := newMessageID(t), "tina@example.test"
	msg := message(id, rcpt, "The ! rule: no STARTTLS.\n")
	reports := delivery{home: tlsHome(t, peerSMTPPort, "!127.0.0.1:\n", nil), host: "example.test", rcpt: []string{rcpt}}.run(t, msg)
	wantAccepted(t, reports, 1, `127\.0\.0\.1`)
	if strings.Contains(reports[1].Text, "TLS") {
		t.Errorf("K report %q: the ! rule must not use TLS", reports[1].Text)
	}
	m := waitMail(t, id, 1)[0]
	if strings.Contains(string(m.head()), "using TLS") {
		t.Errorf("Postfix's Received header shows TLS:\n%s", m.head())
	}
}

func TestTLSVerificationFailures(t *testing.T) {
	t.Parallel()
	other := otherCA(t)
	tests := []struct {
		name, route, tlsdest, want string
	}{
		{"wrong CA", "127.0.0.1:" + peerSMTPPort, "127.0.0.1:" + other + "\n",
			"Unable to verify X.509 certificate from: 127.0.0.1 for 127.0.0.1. (#4.4.1)\n"},
		{"wrong name", "other.insecure.test:" + peerSMTPPort, "=other.insecure.test:" + caFile(t) + "\n",
			"Unable to validate X.509 certificate Subject for: other.insecure.test at other.insecure.test. (#4.4.1)\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			home := qmailHome(t, map[string]string{"smtproutes": "example.test:" + tt.route + "\n", "tlsdestinations": tt.tlsdest})
			reports := delivery{home: home, host: "example.test", rcpt: []string{"tina@example.test"}}.run(t, message(newMessageID(t), "x", "x\n"))
			if len(reports) != 1 || reports[0].Letter != 'Z' || reports[0].Text != tt.want {
				t.Fatalf("reports %v; want Z%q", reports, tt.want)
			}
		})
	}
}

func TestTLSPinning(t *testing.T) {
	t.Parallel()
	der := leafDER(t)
	s1, s224, s256, s512 := sha1.Sum(der), sha256.Sum224(der), sha256.Sum256(der), sha512.Sum512(der)
	for _, fp := range [][]byte{s1[:], s224[:], s256[:], s512[:]} {
		right := strings.ToUpper(hex.EncodeToString(fp))
		wrong := strings.Repeat("0", len(right))
		t.Run("sha-"+strconv.Itoa(len(fp)*8)+" right", func(t *testing.T) {
			t.Parallel()
			id, rcpt := newMessageID(t), "tina@example.test"
			msg := message(id, rcpt, "Pinned.\n")
			d := delivery{home: tlsHome(t, peerSMTPPort, "%127.0.0.1:="+colons(right)+"\n", nil), host: "example.test", rcpt: []string{rcpt}}
			wantTLSAccepted(t, d.run(t, msg), id, msg, "TLS (CERT pinning)")
		})
		t.Run("sha-"+strconv.Itoa(len(fp)*8)+" wrong", func(t *testing.T) {
			t.Parallel()
			d := delivery{home: tlsHome(t, peerSMTPPort, "%127.0.0.1:="+wrong+"\n", nil), host: "example.test", rcpt: []string{"tina@example.test"}}
			wantZ(t, d.run(t, message(newMessageID(t), "x", "x\n")), "Received X.509 certificate from: 127.0.0.1 for 127.0.0.1 does not match provided fingerprint.")
		})
	}
}

// TestTLSClientCertificate: the certificate from domaincerts is the one Postfix received (its
// Received header names the client certificate's CN).
func TestTLSClientCertificate(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	certPath, keyPath := filepath.Join(dir, "client.pem"), filepath.Join(dir, "client.key")
	writeClientCert(t, certPath, keyPath, "client-cert.mxout.test")
	id, rcpt := newMessageID(t), "tina@example.test"
	msg := message(id, rcpt, "With a client certificate.\n")
	home := tlsHome(t, peerSMTPPort, "", map[string]string{"domaincerts": "example.org:" + certPath + "|" + keyPath + "\n"})
	d := delivery{home: home, host: "example.test", rcpt: []string{rcpt}} // the sender is ...@example.org
	m := wantTLSAccepted(t, d.run(t, msg), id, msg, "TLS")
	if !strings.Contains(string(m.head()), `CN "client-cert.mxout.test"`) {
		t.Errorf("Postfix did not see the client certificate; headers:\n%s", m.head())
	}
}

// TestDANE: deliveries by MX through the validating resolver, with TLSA records.
func TestDANE(t *testing.T) {
	t.Parallel()
	tests := []struct {
		host, want string
		ok         bool
	}{
		{"example.test", "TLS (TLSA validated)", true},
		{"dane-ta.example.test", "TLS (TLSA validated)", true},
		{"nomx.example.test", "TLS (TLSA validated)", true},
		{"insecure.test", "TLS", true}, // unsigned zone: opportunistic TLS, no DANE
		{"dane-bad.example.test", "Received X.509 certificate from: mx-bad.example.test for dane-bad.example.test does not match its TLSA records. (#4.4.1)\n", false},
		{"dane-bogus.example.test", "TLSA lookup failed temporarily for: mx-bogus.example.test. (#4.4.3)\n", false},
		{"bogus.test", "Sorry, I couldn't find any host by that name. (#4.1.2)\n", false},
	}
	for _, tt := range tests {
		t.Run(tt.host, func(t *testing.T) {
			t.Parallel()
			id, rcpt := newMessageID(t), "tina@example.test"
			msg := message(id, rcpt, "DANE via "+tt.host+".\n")
			reports := dnsDelivery(t, tt.host, map[string]string{"notipme": notLoopback}, rcpt).run(t, msg)
			if tt.ok {
				wantTLSAccepted(t, reports, id, msg, tt.want)
				return
			}
			if len(reports) != 1 || reports[0].Letter != 'Z' || reports[0].Text != tt.want {
				t.Fatalf("reports %v; want Z%q", reports, tt.want)
			}
			time.Sleep(time.Second)
			if got := findMail(t, id); len(got) != 0 {
				t.Errorf("the message was delivered: %v", got)
			}
		})
	}
}

func otherCA(t *testing.T) string {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: "some other CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true,
		BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "other-ca.pem")
	os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644)
	return path
}

func writeClientCert(t *testing.T, certPath, keyPath, cn string) {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(8), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, _ := x509.MarshalPKCS8PrivateKey(key)
	os.WriteFile(certPath, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644)
	os.WriteFile(keyPath, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}), 0o600)
}

// leafDER is the Postfix peer's certificate, as pinned.
func leafDER(t *testing.T) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(peersDir(t), "tls", "cert.pem"))
	if err != nil {
		t.Fatal(err)
	}
	blk, _ := pem.Decode(b)
	if blk == nil {
		t.Fatal("no PEM in cert.pem")
	}
	return blk.Bytes
}

// colons writes a fingerprint as AB:CD:..., which the rule accepts.
func colons(h string) string {
	var parts []string
	for i := 0; i < len(h); i += 2 {
		parts = append(parts, h[i:i+2])
	}
	return strings.Join(parts, ":")
}
