package smtp

import (
	"context"
	"encoding/base64"
	"errors"
	"io"
	"strconv"
	"strings"

	"github.com/mxout/mxout/internal/sasl"
)

// maxAuthRounds bounds the 334 challenges of one AUTH exchange. The mechanisms mxout speaks
// need at most two (LOGIN, SCRAM-SHA-256); a server that keeps challenging is cancelled
// instead of being answered for ever.
const maxAuthRounds = 8

// ErrAuthChallenge: a 334 challenge was not base64 (RFC 4954 §4), or came after the limit of
// rounds. The exchange was cancelled with "*".
var ErrAuthChallenge = errors.New("smtp: bad AUTH challenge")

// AuthError says where an AUTH exchange (RFC 4954) failed; it is the Err of an *Error in
// PhaseAuth. Step 0 is the AUTH command itself (its reply, or building its initial response);
// step n is the n-th response sent after a 334. Err is ErrReply when the server's reply
// (Error.Reply) refused, else the local cause: a sasl error (credentials, challenge, server
// signature) or ErrAuthChallenge. The reports need nothing else: mechanism, step, reply code.
type AuthError struct {
	Mechanism string // sasl.NamePlain, ...
	Step      int
	Err       error
}

func (e *AuthError) Error() string {
	return "AUTH " + e.Mechanism + " step " + strconv.Itoa(e.Step) + ": " + e.Err.Error()
}

func (e *AuthError) Unwrap() error { return e.Err }

// Auth authenticates the session with m (RFC 4954 §4): "AUTH name [initial-response]", then a
// base64 response to each 334 challenge until the server's final reply. Only 235 is success;
// the mechanism then checks the exchange from its side (SCRAM: the server's signature), and
// the next MAIL FROM carries AUTH=<sender> (§5). A challenge that is not base64, or that the
// mechanism refuses, is cancelled with "*" and the server's answer to that is read, so the
// session stays in step. Every failure is an *Error in PhaseAuth wrapping an *AuthError; the
// client is botched only by I/O failures and over-long replies, as elsewhere.
//
// Nothing secret reaches the transcript: the initial response and every response are traced as
// "***", the challenges (SCRAM's carry the salt) too. Call Auth after the last Hello, and
// after StartTLS where TLS is used: the caller decides, by sasl.Choose, whether the mechanism
// may go out on this connection.
func (c *Client) Auth(ctx context.Context, m sasl.Mechanism) error {
	name, initial, err := m.Start()
	if name == "" {
		name = sasl.Name(m)
	}
	var sent echoes
	defer c.hideInTranscript(&sent)()
	fail := func(step int, r *Reply, cause error) error {
		if r != nil {
			scrubbed := sent.scrub(*r)
			r = &scrubbed
		}
		return &Error{Phase: PhaseAuth, Peer: c.opt.Peer, Reply: r, Err: &AuthError{Mechanism: name, Step: step, Err: cause}}
	}
	if err != nil {
		return fail(0, nil, err)
	}
	sent.add(initial)
	cmd := "AUTH " + name
	switch {
	case initial == nil:
	case len(initial) == 0:
		cmd += " =" // an empty initial response (RFC 4954 §4)
	default:
		cmd += " " + base64.StdEncoding.EncodeToString(initial)
	}
	r, err := c.secretRoundTrip(ctx, cmd, "AUTH "+name+initialMark(initial))
	for step := 0; ; step++ {
		if err != nil {
			return err
		}
		switch {
		case r.Code == 235:
			if err := m.Finish(); err != nil {
				return fail(step, nil, err)
			}
			c.authed = true
			return nil
		case r.Code != 334:
			return fail(step, &r, ErrReply)
		case step+1 > maxAuthRounds:
			return c.cancelAuth(ctx, fail, step+1, errors.Join(ErrAuthChallenge, errors.New("too many challenges")))
		}
		challenge, derr := decodeChallenge(r)
		if derr != nil {
			return c.cancelAuth(ctx, fail, step+1, derr)
		}
		resp, merr := m.Next(challenge)
		if merr != nil {
			return c.cancelAuth(ctx, fail, step+1, merr)
		}
		sent.add(resp)
		r, err = c.secretRoundTrip(ctx, base64.StdEncoding.EncodeToString(resp), "***")
	}
}

// echoes are what the client sent in an AUTH exchange, in the forms a server might quote back
// in a reply ("501 cannot decode <payload>"): each payload in base64 and its fields (split at
// the NUL and ^A separators of PLAIN and XOAUTH2) as sent. Replies are scrubbed of them before
// they are traced or returned, so no report or transcript can quote a password.
type echoes []string

// minEcho is the shortest text hidden: shorter ones would blank out ordinary words.
const minEcho = 4

func (e *echoes) add(payload []byte) {
	if len(payload) == 0 {
		return
	}
	*e = append(*e, base64.StdEncoding.EncodeToString(payload), strings.TrimRight(base64.StdEncoding.EncodeToString(payload), "="))
	for _, f := range strings.FieldsFunc(string(payload), func(r rune) bool { return r == 0 || r == 1 }) {
		if len(f) >= minEcho {
			*e = append(*e, f)
		}
	}
}

// hide replaces every echo in s with "***".
func (e echoes) hide(s string) string {
	for _, x := range e {
		if len(x) >= minEcho {
			s = strings.ReplaceAll(s, x, "***")
		}
	}
	return s
}

// scrub returns r with every echo hidden in its lines.
func (e echoes) scrub(r Reply) Reply {
	lines := make([]string, len(r.Lines))
	for i, l := range r.Lines {
		lines[i] = e.hide(l)
	}
	r.Lines = lines
	return r
}

// hideInTranscript makes the transcript hide the echoes while the exchange runs; the returned
// func restores it.
func (c *Client) hideInTranscript(e *echoes) (restore func()) {
	w := c.opt.Transcript
	if w == nil {
		return func() {}
	}
	c.opt.Transcript = hidingWriter{w: w, e: e}
	return func() { c.opt.Transcript = w }
}

// hidingWriter hides echoes in each write (trace writes one line per call).
type hidingWriter struct {
	w io.Writer
	e *echoes
}

func (h hidingWriter) Write(p []byte) (int, error) {
	if _, err := io.WriteString(h.w, h.e.hide(string(p))); err != nil {
		return 0, err
	}
	return len(p), nil
}

// initialMark is how the initial response shows in the transcript.
func initialMark(initial []byte) string {
	if initial == nil {
		return ""
	}
	return " ***"
}

// decodeChallenge returns the decoded text of a 334 reply (one line; RFC 4954 §4).
func decodeChallenge(r Reply) ([]byte, error) {
	if len(r.Lines) != 1 {
		return nil, errors.Join(ErrAuthChallenge, errors.New("challenge of several lines"))
	}
	text := ""
	if len(r.Lines[0]) > 4 {
		text = strings.TrimSpace(r.Lines[0][4:])
	}
	b, err := base64.StdEncoding.DecodeString(text)
	if err != nil {
		return nil, errors.Join(ErrAuthChallenge, err)
	}
	return b, nil
}

// cancelAuth sends "*" (RFC 4954 §4: the client cancels the exchange) and reads the server's
// answer, normally 501, so the session stays in step; the failure is cause, at step.
func (c *Client) cancelAuth(ctx context.Context, fail func(int, *Reply, error) error, step int, cause error) error {
	r, err := c.roundTrip(ctx, PhaseAuth, "*")
	if err != nil {
		return err
	}
	return fail(step, &r, cause)
}

// secretRoundTrip writes line, tracing shown instead, and reads the reply.
func (c *Client) secretRoundTrip(ctx context.Context, line, shown string) (Reply, error) {
	if err := c.usable(PhaseAuth); err != nil {
		return Reply{}, err
	}
	c.trace("C: ", shown)
	c.bw.WriteString(line)
	c.bw.WriteString("\r\n")
	if err := c.flush(ctx, PhaseAuth); err != nil {
		return Reply{}, err
	}
	r, err := c.read(ctx, PhaseAuth)
	return r, err
}

// Authenticated reports whether Auth succeeded on this session.
func (c *Client) Authenticated() bool { return c.authed }

// authParam is the AUTH parameter of MAIL FROM (RFC 4954 §5) after a successful AUTH: the
// sender as the authenticated submitter, in xtext (RFC 3461 §4), "<>" for the null sender;
// nothing when the session is not authenticated.
func (c *Client) authParam(from string) string {
	if !c.authed {
		return ""
	}
	if from == "" {
		return " AUTH=<>"
	}
	return " AUTH=" + xtext(from)
}

// xtext encodes s as RFC 3461 §4 xtext: '+', '=' and every byte outside '!'..'~' become "+HH".
func xtext(s string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		ch := s[i]
		if ch < '!' || ch > '~' || ch == '+' || ch == '=' {
			b.WriteByte('+')
			b.WriteByte(hex[ch>>4])
			b.WriteByte(hex[ch&15])
			continue
		}
		b.WriteByte(ch)
	}
	return b.String()
}
