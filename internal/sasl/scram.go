package sasl

import (
	"bytes"
	"strconv"
	"strings"

	"github.com/xdg-go/scram"
)

// maxIterations bounds the PBKDF2 work a server may ask for. The key derivation runs on the
// client's CPU before any deadline can cut it, so a hostile server asking for 2^31 rounds
// would stall the delivery for minutes. 1,000,000 is above what deployments use (4096 is the
// RFC 7677 §4 minimum and the common default; OWASP advises 600,000); its price is refusing a
// server configured beyond it.
const maxIterations = 1_000_000

// scramSHA256 is SCRAM-SHA-256 (RFC 7677, RFC 5802) on github.com/xdg-go/scram: client-first
// as the initial response, client-final for the server-first challenge, and an empty response
// once the server-final's signature checks out.
type scramSHA256 struct {
	c     Credentials
	nonce func() string // nil: the library's 24 random bytes
	conv  *scram.ClientConversation
	step  int
	// failed: a step went wrong; the conversation is over and can never be valid, whatever
	// the library's state machine would make of a later message.
	failed bool
}

// NewSCRAMSHA256 returns SCRAM-SHA-256 for c, without channel binding (gs2 flag "n"). The
// username, password and authzid go through SASLprep (RFC 4013) as RFC 5802 §2.2 asks. A wrong
// or missing server signature is an error (ErrServerSignature): the server did not prove it
// knows the password.
func NewSCRAMSHA256(c Credentials) Mechanism { return &scramSHA256{c: c} }

func (m *scramSHA256) Start() (string, []byte, error) {
	if m.c.Username == "" || m.c.Password.IsZero() {
		return "", nil, mechError(NameSCRAMSHA256, 0, ErrCredentials, "empty")
	}
	client, err := scram.SHA256.NewClient(m.c.Username, m.c.Password.Reveal(), m.c.Authzid)
	if err != nil { // SASLprep refused one of them; the library's text never holds the password
		return "", nil, mechError(NameSCRAMSHA256, 0, ErrCredentials, err.Error())
	}
	if m.nonce != nil {
		client = client.WithNonceGenerator(m.nonce)
	}
	m.conv = client.NewConversation()
	first, err := m.conv.Step("")
	if err != nil {
		return "", nil, mechError(NameSCRAMSHA256, 0, ErrCredentials, err.Error())
	}
	return NameSCRAMSHA256, []byte(first), nil
}

func (m *scramSHA256) Next(challenge []byte) (resp []byte, err error) {
	if m.failed {
		return nil, mechError(NameSCRAMSHA256, m.step, ErrUnexpectedChallenge, "after a failed step")
	}
	defer func() { m.failed = err != nil }()
	m.step++
	switch m.step {
	case 1: // server-first: nonce, salt, iterations (RFC 5802 §7)
		if n, ok := iterations(challenge); !ok || n > maxIterations {
			return nil, mechError(NameSCRAMSHA256, m.step, ErrBadChallenge, "iteration count missing or above "+strconv.Itoa(maxIterations))
		}
		final, err := m.conv.Step(string(challenge))
		if err != nil {
			return nil, mechError(NameSCRAMSHA256, m.step, ErrBadChallenge, err.Error())
		}
		return []byte(final), nil
	case 2: // server-final: "v=" signature, or "e=" error (RFC 5802 §7)
		if bytes.HasPrefix(challenge, []byte("e=")) {
			return nil, mechError(NameSCRAMSHA256, m.step, ErrBadChallenge, "server says "+strconv.Quote(string(challenge)))
		}
		if _, err := m.conv.Step(string(challenge)); err != nil || !m.conv.Valid() {
			return nil, mechError(NameSCRAMSHA256, m.step, ErrServerSignature, "")
		}
		return []byte{}, nil
	}
	return nil, mechError(NameSCRAMSHA256, m.step, ErrUnexpectedChallenge, "")
}

func (m *scramSHA256) Finish() error {
	if m.failed || m.conv == nil || !m.conv.Valid() {
		return mechError(NameSCRAMSHA256, m.step, ErrServerSignature, "server accepted before proving it knows the password")
	}
	return nil
}

// iterations returns the "i=" attribute of a server-first message.
func iterations(serverFirst []byte) (int, bool) {
	for _, attr := range strings.Split(string(serverFirst), ",") {
		if v, ok := strings.CutPrefix(attr, "i="); ok {
			n, err := strconv.Atoi(v)
			return n, err == nil && n > 0
		}
	}
	return 0, false
}
