package sasl

import (
	"crypto/hmac"
	"crypto/md5"
	"encoding/hex"
	"strings"
)

// plain is PLAIN (RFC 4616): one initial response, no challenge.
type plain struct{ c Credentials }

// NewPlain returns PLAIN for c: authzid NUL username NUL password as the initial response
// (RFC 4616 §2). It sends the password itself, so Choose uses it only under TLS unless told.
func NewPlain(c Credentials) Mechanism { return &plain{c: c} }

func (m *plain) Start() (string, []byte, error) {
	pw := m.c.Password.Reveal()
	// RFC 4616 §2: none of the three may contain NUL, the separator; an empty one is refused
	// here because a server would refuse it after the password had gone out.
	if strings.ContainsRune(m.c.Authzid+m.c.Username+pw, 0) || m.c.Username == "" || pw == "" {
		return "", nil, mechError(NamePlain, 0, ErrCredentials, "empty, or holds NUL")
	}
	return NamePlain, []byte(m.c.Authzid + "\x00" + m.c.Username + "\x00" + pw), nil
}

func (m *plain) Next([]byte) ([]byte, error) {
	return nil, mechError(NamePlain, 1, ErrUnexpectedChallenge, "")
}

func (m *plain) Finish() error { return nil }

// login is LOGIN: the server asks twice, the client answers the username, then the password.
type login struct {
	c    Credentials
	step int
}

// NewLogin returns LOGIN for c. LOGIN was never standardised; servers prompt with
// "Username:" and "Password:" in various spellings and languages, so the answers go by order,
// not by the prompt's text.
func NewLogin(c Credentials) Mechanism { return &login{c: c} }

func (m *login) Start() (string, []byte, error) {
	if m.c.Username == "" || m.c.Password.IsZero() {
		return "", nil, mechError(NameLogin, 0, ErrCredentials, "empty")
	}
	return NameLogin, nil, nil
}

func (m *login) Next([]byte) ([]byte, error) {
	m.step++
	switch m.step {
	case 1:
		return []byte(m.c.Username), nil
	case 2:
		return []byte(m.c.Password.Reveal()), nil
	}
	return nil, mechError(NameLogin, m.step, ErrUnexpectedChallenge, "")
}

func (m *login) Finish() error { return nil }

// cramMD5 is CRAM-MD5 (RFC 2195): one challenge, answered with the username and a keyed digest.
type cramMD5 struct {
	c    Credentials
	step int
}

// NewCRAMMD5 returns CRAM-MD5 for c. The password never goes out, but an eavesdropper can try
// a dictionary against the digest, and the server must store the password in a reversible form.
func NewCRAMMD5(c Credentials) Mechanism { return &cramMD5{c: c} }

func (m *cramMD5) Start() (string, []byte, error) {
	if m.c.Username == "" || m.c.Password.IsZero() {
		return "", nil, mechError(NameCRAMMD5, 0, ErrCredentials, "empty")
	}
	return NameCRAMMD5, nil, nil
}

func (m *cramMD5) Next(challenge []byte) ([]byte, error) {
	m.step++
	if m.step > 1 {
		return nil, mechError(NameCRAMMD5, m.step, ErrUnexpectedChallenge, "")
	}
	if len(challenge) == 0 { // RFC 2195 §2: the challenge is a msg-id, never empty
		return nil, mechError(NameCRAMMD5, m.step, ErrBadChallenge, "empty")
	}
	// RFC 2195 §2: username, one space, then HMAC-MD5 (RFC 2104) keyed by the password over the
	// challenge, as 32 lower-case hex digits.
	h := hmac.New(md5.New, []byte(m.c.Password.Reveal()))
	h.Write(challenge)
	return []byte(m.c.Username + " " + hex.EncodeToString(h.Sum(nil))), nil
}

func (m *cramMD5) Finish() error { return nil }
