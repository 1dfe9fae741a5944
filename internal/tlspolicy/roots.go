package tlspolicy

import (
	"crypto/x509"
	"errors"
	"os"
	"path/filepath"
	"strings"
)

var errNoCACert = errors.New("tlspolicy: no pem certificate found")

// loadRoots returns the CA set of a tlsdestinations rule: the PEM
// certificates of caFile, or of the files in caDir (one of them is set).
// Errors are *Error of KindCAFile with the path as Subject.
func loadRoots(cache *FileCache, caFile, caDir string) (*x509.CertPool, error) {
	path := caFile
	if path == "" {
		path = caDir
	}
	var files []string
	if caFile != "" {
		files = []string{caFile}
	} else {
		var err error
		if files, err = caDirFiles(caDir); err != nil {
			return nil, &Error{Kind: KindCAFile, Subject: path, Err: err}
		}
	}
	v, err := cache.get("ca\x00"+path, fileStamp(append([]string{path}, files...)...), func() (any, error) {
		return readRoots(files)
	})
	if err != nil {
		return nil, &Error{Kind: KindCAFile, Subject: path, Err: err}
	}
	return v.(*x509.CertPool), nil
}

// readRoots reads every file and fails on one it cannot read, or when no
// file held a certificate. A file without certificates is skipped: a CA
// directory may hold other things with the same suffixes.
func readRoots(files []string) (*x509.CertPool, error) {
	pool := x509.NewCertPool()
	found := false
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		if pool.AppendCertsFromPEM(b) {
			found = true
		}
	}
	if !found {
		return nil, errNoCACert
	}
	return pool, nil
}

// caDirFiles lists the certificate files of an OpenSSL-style CA directory:
// names ending in ".pem" or ".crt", and the hash links c_rehash makes
// ("1a2b3c4d.0"; CRL links "1a2b3c4d.r0" are left out). Subdirectories are
// not searched.
func caDirFiles(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var files []string
	for _, e := range entries {
		n := e.Name()
		if e.IsDir() || !(strings.HasSuffix(n, ".pem") || strings.HasSuffix(n, ".crt") || isHashName(n)) {
			continue
		}
		files = append(files, filepath.Join(dir, n))
	}
	return files, nil
}

// isHashName reports whether n looks like "1a2b3c4d.0": eight hex digits, a
// dot and decimal digits.
func isHashName(n string) bool {
	if len(n) < 10 || n[8] != '.' {
		return false
	}
	for i := 0; i < len(n); i++ {
		c := n[i]
		switch {
		case i == 8:
		case i < 8 && ('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'):
		case i > 8 && '0' <= c && c <= '9':
		default:
			return false
		}
	}
	return true
}
