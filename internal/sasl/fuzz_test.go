package sasl

import (
	"bytes"
	"testing"

	"github.com/mxout/mxout/internal/secret"
)

// FuzzChallenges sends arbitrary challenges to every mechanism. None may panic, none may put
// the password in a response unless the mechanism sends it by design (PLAIN, LOGIN), and SCRAM
// may only pass Finish when both its steps succeeded.
func FuzzChallenges(f *testing.F) {
	f.Add([]byte(vecServerFirst), []byte(vecServerFinal))
	f.Add([]byte("<1896.697170952@postoffice.reston.mci.net>"), []byte(""))
	f.Add([]byte("r=rOprNGfwEbeRWgbNEkqOx,s=AAAA,i=4096,m=ext"), []byte("e=other-error"))
	f.Add([]byte(`{"status":"401"}`), []byte("v="))
	const password = "pencil"
	f.Fuzz(func(t *testing.T, first, second []byte) {
		if n, ok := iterations(first); ok && n > 10000 {
			return // valid but slow: the key derivation would dominate the run
		}
		creds := Credentials{Username: "user", Password: secret.New(password), Token: secret.New("tok")}
		for _, m := range []Mechanism{
			NewCRAMMD5(creds),
			NewXOAUTH2(creds),
			&scramSHA256{c: creds, nonce: func() string { return vecNonce }},
		} {
			if _, _, err := m.Start(); err != nil {
				t.Fatal(err)
			}
			r1, err1 := m.Next(first)
			r2, err2 := m.Next(second)
			if bytes.Contains(r1, []byte(password)) || bytes.Contains(r2, []byte(password)) {
				t.Fatalf("password in a response: %q %q", r1, r2)
			}
			if s, ok := m.(*scramSHA256); ok && s.Finish() == nil && (err1 != nil || err2 != nil) {
				t.Fatalf("SCRAM finished after errors %v, %v", err1, err2)
			}
		}
	})
}
