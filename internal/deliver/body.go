package deliver

import (
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/mxout/mxout/internal/downgrade"
	"github.com/mxout/mxout/internal/message"
	"github.com/mxout/mxout/internal/smtp"
)

// EightBit says what a session does with a message that has 8-bit bytes (docs/downgrade.md).
// The decision is made per transaction, once the server's extensions are known.
type EightBit int

const (
	// EightBitAsIs sends every message as it is, with BODY=8BITMIME when the server offers it
	// and without when it does not, as qmail-remote does (mxout's -8). The zero value, so that
	// qmail-remote and qmail-rspawn keep the reference's bytes.
	EightBitAsIs EightBit = iota
	// EightBitDowngrade downgrades a message with 8-bit bytes for a server without 8BITMIME
	// (RFC 6152 §3 forbids sending it 8-bit data); the default of mxout's own commands.
	EightBitDowngrade
	// SevenBitOnly downgrades every message, whatever the server offers (mxout's -7): a 7-bit
	// channel. A message that is 7-bit already goes out unchanged.
	SevenBitOnly
)

// text is what one transaction sends after DATA: the message as it is, or its 7-bit downgrade,
// with the facts of the bytes that go out (size for SIZE, 8-bit content, final line ending).
type text struct {
	msg       *message.Message
	scan      message.Scan // of the bytes that are sent
	downgrade bool
	opts      downgrade.Options
	utf8      bool // the downgraded text keeps UTF-8 header fields: SMTPUTF8 must be declared
}

// prepare decides how the message goes to this server. When it must be downgraded, the
// downgrade runs here once into a message.Scan, before MAIL FROM: that gives the size to
// declare and finds every permanent failure (*downgrade.Error) before a transaction opens.
// A message whose UTF-8 header fields cannot become encoded-words keeps them when the server
// offers SMTPUTF8 (RFC 6531, 6532), and the transaction then declares SMTPUTF8. Errors are
// *smtp.Error in PhaseMail: a *downgrade.Error, or smtp.ErrMessageRead.
func (s *Session) prepare(mode EightBit, msg *message.Message) (text, error) {
	t := text{msg: msg, scan: msg.Scan}
	ext := s.c.Extensions()
	switch {
	case mode == SevenBitOnly:
	case mode == EightBitDowngrade && msg.EightBit && !ext.Has("8BITMIME"):
	default:
		return t, nil
	}
	t.downgrade = true
	sc := &message.Scan{} // its own variable: taking t.scan's address would put every text on the heap
	_, err := downgrade.Downgrade(sc, msg.Open(), t.opts)
	var de *downgrade.Error
	if errors.As(err, &de) && de.Code() == "5.6.9" && ext.Has("SMTPUTF8") {
		t.opts.UTF8Headers, t.utf8 = true, true
		*sc = message.Scan{}
		_, err = downgrade.Downgrade(sc, msg.Open(), t.opts)
	}
	t.scan = *sc
	switch {
	case errors.As(err, &de):
		return t, &smtp.Error{Phase: smtp.PhaseMail, Peer: s.Peer, Err: de}
	case err != nil:
		return t, &smtp.Error{Phase: smtp.PhaseMail, Peer: s.Peer, Err: fmt.Errorf("%w: %w", smtp.ErrMessageRead, err)}
	}
	return t, nil
}

// errAbandoned ends a downgrade whose reader stopped reading (the session failed meanwhile).
var errAbandoned = errors.New("deliver: the message text is no longer read")

// open returns a reader of the bytes to send and a func that must be called once they have
// been sent (or the sending failed). A downgrade runs again, into a pipe, as the text is read:
// memory stays bounded and nothing is held. An error of this second run (the message changed
// or could not be read) reaches the reader, so the text is cut off before the final dot.
func (t *text) open() (io.Reader, func()) {
	if !t.downgrade {
		return t.msg.Open(), func() {}
	}
	msg, opts := t.msg, t.opts // not t: the goroutine must not make every text escape
	pr, pw := io.Pipe()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		_, err := downgrade.Downgrade(pw, msg.Open(), opts)
		pw.CloseWithError(err)
	}()
	return pr, func() {
		pr.CloseWithError(errAbandoned)
		wg.Wait()
	}
}
