package tlspolicy

import (
	"github.com/youmark/pkcs8"

	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"os"
	"strings"
)

var (
	errNoCert       = errors.New("tlspolicy: no pem certificate found")
	errNoKey        = errors.New("tlspolicy: no pem private key found")
	errNeedPassword = errors.New("tlspolicy: private key is encrypted but no password is configured")
	errBadPassword  = errors.New("tlspolicy: cannot decrypt private key (wrong password?)")
	errKeyType      = errors.New("tlspolicy: unsupported private key type")
	errKeyMismatch  = errors.New("tlspolicy: private key does not belong to the certificate")
)

// loadClientCert loads a domaincerts entry, through the cache. Errors are
// *Error of KindClientCert, KindClientKey or KindKeyMismatch; none of them
// carries the password.
func loadClientCert(files *FileCache, dc ClientCert) (*tls.Certificate, error) {
	key := "cert\x00" + dc.CertFile + "\x00" + dc.KeyFile + "\x00" + dc.Password
	v, err := files.get(key, fileStamp(dc.CertFile, dc.KeyFile), func() (any, error) {
		return readClientCert(dc)
	})
	if err != nil {
		return nil, err
	}
	return v.(*tls.Certificate), nil
}

// readClientCert reads the certificate chain of dc.CertFile and the private
// key of dc.KeyFile, or of dc.CertFile when KeyFile is empty, decrypting it
// with dc.Password when it is encrypted, and checks that they belong
// together.
func readClientCert(dc ClientCert) (*tls.Certificate, error) {
	certPEM, err := os.ReadFile(dc.CertFile)
	if err != nil {
		return nil, &Error{Kind: KindClientCert, Subject: dc.CertFile, Err: err}
	}
	var chain [][]byte
	for rest := certPEM; ; {
		var b *pem.Block
		if b, rest = pem.Decode(rest); b == nil {
			break
		}
		if b.Type == "CERTIFICATE" {
			chain = append(chain, b.Bytes)
		}
	}
	if len(chain) == 0 {
		return nil, &Error{Kind: KindClientCert, Subject: dc.CertFile, Err: errNoCert}
	}
	leaf, err := x509.ParseCertificate(chain[0])
	if err != nil {
		return nil, &Error{Kind: KindClientCert, Subject: dc.CertFile, Err: err}
	}
	keyFile, keyPEM := dc.KeyFile, certPEM
	if keyFile == "" {
		keyFile = dc.CertFile
	} else if keyPEM, err = os.ReadFile(keyFile); err != nil {
		return nil, &Error{Kind: KindClientKey, Subject: keyFile, Err: err}
	}
	priv, err := parseKey(keyPEM, dc.Password)
	if err != nil {
		return nil, &Error{Kind: KindClientKey, Subject: keyFile, Err: err}
	}
	pub, ok := leaf.PublicKey.(interface{ Equal(crypto.PublicKey) bool })
	if !ok || !pub.Equal(priv.Public()) {
		return nil, &Error{Kind: KindKeyMismatch, Subject: keyFile, Err: errKeyMismatch}
	}
	return &tls.Certificate{Certificate: chain, PrivateKey: priv, Leaf: leaf}, nil
}

// parseKey finds the first private key block in data and parses it:
// PKCS #1 ("RSA PRIVATE KEY"), SEC 1 ("EC PRIVATE KEY") or PKCS #8
// ("PRIVATE KEY"), each possibly with legacy PEM encryption ("Proc-Type:
// 4,ENCRYPTED", what "openssl rsa -aes256" writes), or encrypted PKCS #8
// ("ENCRYPTED PRIVATE KEY", what OpenSSL 3 writes by default), decrypted with
// github.com/youmark/pkcs8 since the standard library cannot.
func parseKey(data []byte, password string) (crypto.Signer, error) {
	for rest := data; ; {
		var b *pem.Block
		if b, rest = pem.Decode(rest); b == nil {
			return nil, errNoKey
		}
		if b.Type == "ENCRYPTED PRIVATE KEY" {
			return parseEncryptedPKCS8(b.Bytes, password)
		}
		if !strings.HasSuffix(b.Type, "PRIVATE KEY") {
			continue
		}
		der := b.Bytes
		// Legacy PEM encryption is deprecated in crypto/x509 (a weak key
		// derivation), but it is what "openssl rsa -aes256" writes and the
		// only encrypted form the standard library reads.
		if x509.IsEncryptedPEMBlock(b) {
			if password == "" {
				return nil, errNeedPassword
			}
			var err error
			if der, err = x509.DecryptPEMBlock(b, []byte(password)); err != nil {
				return nil, errBadPassword
			}
		}
		return parseKeyDER(b.Type, der)
	}
}

// parseKeyDER parses der as the PEM type says, trying all three forms for
// other types; a wrongly decrypted key fails here.
func parseKeyDER(typ string, der []byte) (crypto.Signer, error) {
	var k any
	var err error
	switch typ {
	case "RSA PRIVATE KEY":
		k, err = x509.ParsePKCS1PrivateKey(der)
	case "EC PRIVATE KEY":
		k, err = x509.ParseECPrivateKey(der)
	default:
		if k, err = x509.ParsePKCS8PrivateKey(der); err != nil {
			if k, err = x509.ParsePKCS1PrivateKey(der); err != nil {
				k, err = x509.ParseECPrivateKey(der)
			}
		}
	}
	if err != nil {
		return nil, err
	}
	switch s := k.(type) {
	case *rsa.PrivateKey:
		return s, nil
	case *ecdsa.PrivateKey:
		return s, nil
	case ed25519.PrivateKey:
		return s, nil
	}
	return nil, errKeyType
}

// parseEncryptedPKCS8 decrypts a PKCS #8 EncryptedPrivateKeyInfo (RFC 5958 §3;
// PBES2 with PBKDF2 or scrypt, as OpenSSL writes it).
func parseEncryptedPKCS8(der []byte, password string) (crypto.Signer, error) {
	if password == "" {
		return nil, errNeedPassword
	}
	k, err := pkcs8.ParsePKCS8PrivateKey(der, []byte(password))
	if err != nil {
		return nil, errBadPassword
	}
	s, ok := k.(crypto.Signer)
	if !ok {
		return nil, errNoKey
	}
	return s, nil
}
