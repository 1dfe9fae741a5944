package sasl

import "strings"

// xoauth2 is XOAUTH2, the bearer-token mechanism of Google and Microsoft (documented by them,
// never an RFC; OAUTHBEARER, RFC 7628, is its standard successor).
type xoauth2 struct {
	c    Credentials
	step int
}

// NewXOAUTH2 returns XOAUTH2 for c.Username and c.Token. The initial response is
// "user=" user ^A "auth=Bearer " token ^A ^A. On failure the server sends one 334 challenge
// holding a JSON error ({"status":"401",...}); the client answers it with an empty response,
// and the server then ends the exchange with its 5xx, which is the failure to report.
func NewXOAUTH2(c Credentials) Mechanism { return &xoauth2{c: c} }

func (m *xoauth2) Start() (string, []byte, error) {
	tok := m.c.Token.Reveal()
	// ^A separates the fields; a user or token holding one would forge or cut a field.
	if m.c.Username == "" || tok == "" || strings.ContainsRune(m.c.Username+tok, 1) {
		return "", nil, mechError(NameXOAUTH2, 0, ErrCredentials, "empty, or holds ^A")
	}
	return NameXOAUTH2, []byte("user=" + m.c.Username + "\x01auth=Bearer " + tok + "\x01\x01"), nil
}

func (m *xoauth2) Next([]byte) ([]byte, error) {
	m.step++
	if m.step > 1 {
		return nil, mechError(NameXOAUTH2, m.step, ErrUnexpectedChallenge, "")
	}
	// The error challenge: the JSON is for the operator, the server's final reply says the rest.
	return []byte{}, nil
}

func (m *xoauth2) Finish() error { return nil }
