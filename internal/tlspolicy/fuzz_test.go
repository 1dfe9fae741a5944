package tlspolicy

import (
	"crypto/x509"
	"strings"
	"testing"
)

// FuzzParseKey feeds domaincerts key files (and certificate files holding
// the key) to the PEM key parser: it must not panic, and it returns a key
// or an error, never both or neither.
func FuzzParseKey(f *testing.F) {
	f.Add([]byte("-----BEGIN PRIVATE KEY-----\nMAA=\n-----END PRIVATE KEY-----\n"), "")
	f.Add([]byte("-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-256-CBC,00112233445566778899AABBCCDDEEFF\n\nMAA=\n-----END RSA PRIVATE KEY-----\n"), "pw")
	f.Add([]byte("-----BEGIN ENCRYPTED PRIVATE KEY-----\nMAA=\n-----END ENCRYPTED PRIVATE KEY-----\n"), "pw")
	f.Add([]byte("-----BEGIN CERTIFICATE-----\nMAA=\n-----END CERTIFICATE-----\n"), "")
	f.Fuzz(func(t *testing.T, data []byte, password string) {
		k, err := parseKey(data, password)
		if (k == nil) == (err == nil) {
			t.Fatalf("key %v, error %v", k, err)
		}
		if err != nil && password != "" && len(password) > 3 && strings.Contains(err.Error(), password) {
			t.Fatalf("error %q shows the password", err)
		}
	})
}

// FuzzNames checks the "=" and "~" name checks on arbitrary subjectAltNames
// and server names from the network and the control files: no panic, no
// wildcard under "=", and an exact match of a plain name is also a "~" match.
func FuzzNames(f *testing.F) {
	f.Add("mx.example.test", "mx.example.test", "example.test")
	f.Add("*.example.test", "mx.example.test", "")
	f.Add("example.test", "MX.example.test.", "example.test")
	f.Add("test", "[IPv6:::1]", "[127.0.0.1]")
	f.Add("0.0.0.", "0.0.0", "") // a SAN with a final dot: found by the fuzzer, matched by "=" only
	f.Fuzz(func(t *testing.T, san, serverName, destination string) {
		leaf := &x509.Certificate{DNSNames: []string{san}}
		exact := matchExact(leaf, serverName)
		partial := matchPartial(leaf, serverName, destination)
		if exact && strings.Contains(san, "*") {
			t.Fatalf("exact match of %q through wildcard %q", serverName, san)
		}
		if exact && isPlainName(serverName) && !partial {
			t.Fatalf("%q matches %q exactly but not partially", serverName, san)
		}
	})
}

// isPlainName reports whether s is a lower-case LDH host name.
func isPlainName(s string) bool {
	if s == "" || strings.HasPrefix(s, ".") || strings.HasSuffix(s, ".") || strings.Contains(s, "..") {
		return false
	}
	for _, c := range s {
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '.') {
			return false
		}
	}
	return true
}
