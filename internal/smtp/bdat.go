package smtp

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"sync"
)

// BDAT (RFC 3030) sends the message text in chunks, each announced with its exact size, so no
// dot-stuffing and no end-of-data line: the receiver counts bytes. The text still goes through
// the line-ending normalisation of the DATA path (newLineEncoder): LF and a lone CR become CRLF,
// so the wire never carries a bare CR or LF (decision 11) and the bytes sent are those SIZE
// declared (message.Scan.WireSize).
//
// Chunks are chunkSize bytes; the last one, never empty unless the message is, is marked LAST.
// With PIPELINING the replies to the chunks before the last are read while later chunks go out
// (RFC 3030 §4.2), at most chunkWindow behind; without it each chunk waits for its reply. Before
// the first of several chunks, and before the LAST chunk (once every earlier reply has been
// read), the connection is checked for anything more (decision 12): a reply that no chunk asked
// for would otherwise be counted as a chunk's, in the end as the reply to LAST, the one that
// decides delivery.

const (
	// chunkSize is the payload of every chunk but the last.
	chunkSize = 128 << 10
	// chunkWindow bounds the chunks whose replies are not read yet (pipelining), so that the
	// replies cannot fill the socket buffers while the client only writes.
	chunkWindow = 16
)

// chunkBuffers hold one chunk's payload while its size is not known yet; shared by all sessions.
var chunkBuffers = sync.Pool{New: func() any { b := make([]byte, 0, chunkSize); return &b }}

// ErrSizeChanged: the text sent by BDAT was not as long as the SIZE declared for it; the LAST
// chunk was not sent, so nothing was delivered.
var ErrSizeChanged = errors.New("smtp: the message is not the size declared with SIZE")

// BDAT sends the message text after an envelope whose Sent.Chunked is set, and reads the reply
// to the LAST chunk. Only a 2xx reply to LAST is success; it is returned as DotReply returns
// the reply to the final dot, and the errors have the same phases: a refused chunk before the
// last is an *Error in PhaseData with the reply; a refused LAST chunk one in PhaseDot with the
// reply; a write that fails (LAST not wholly handed over) PhaseBody; a connection lost after
// LAST was written, PhaseDot without a reply (possible duplicate, decision 10). Anything the
// server sent that no chunk asked for is ErrUnsolicited (decision 12), and LAST is not sent.
//
// size is the SIZE declared on MAIL FROM (0: none); a text of another length is ErrSizeChanged
// and LAST is not sent. A text that does not end with a line ending is ErrPartialLine, as on the
// DATA path. After any failure but a refused LAST the client is botched: a transaction cut off
// in the middle of its chunks leaves the server in a state only closing clears.
func (c *Client) BDAT(ctx context.Context, text io.Reader, size int64) (Reply, error) {
	if err := c.SendBDAT(ctx, text, size); err != nil {
		return Reply{}, err
	}
	return c.DotReply(ctx)
}

// SendBDAT is BDAT without reading the reply to LAST: the LAST chunk is queued as SendBody
// queues the final dot, and the caller reads its reply with DotReply, or sends the next
// message's commands behind it with EnvelopeAfterDot (RFC 2920 §3.1, RFC 3030 §4.2), so a
// message costs one round trip with BDAT as with DATA. A failure before LAST is queued is the
// error BDAT would return.
func (c *Client) SendBDAT(ctx context.Context, text io.Reader, size int64) error {
	if err := c.usable(PhaseBody); err != nil {
		return err
	}
	if !c.chunked {
		return &Error{Phase: PhaseBody, Peer: c.opt.Peer, Err: errors.New("smtp: the envelope did not open BDAT")}
	}
	end := c.begin(ctx)
	defer end()
	bp := chunkBuffers.Get().(*[]byte)
	buf := copyBuffers.Get().(*[]byte)
	limit := chunkSize
	if c.chunkLimit > 0 && c.chunkLimit < chunkSize {
		limit = c.chunkLimit
	}
	k := &chunker{c: c, ctx: ctx, buf: (*bp)[0:0:limit]}
	defer func() {
		chunkBuffers.Put(bp)
		copyBuffers.Put(buf)
	}()
	enc := newLineEncoder(k)
	_, err := io.CopyBuffer(enc, messageReader{text}, *buf)
	if err == nil {
		err = enc.Ended()
	}
	if err == nil && size > 0 && k.sent+int64(len(k.buf)) != size {
		err = fmt.Errorf("%w: %d bytes declared, %d sent", ErrSizeChanged, size, k.sent+int64(len(k.buf)))
	}
	var se *Error
	switch {
	case errors.As(err, &se):
		return c.botch(se)
	case err != nil: // the message could not be read, or it was not what SIZE said
		return c.botch(&Error{Phase: PhaseBody, Peer: c.opt.Peer, Err: err})
	}
	return k.last()
}

// chunker collects the encoded text into chunks and sends each full one once more text
// follows it, so that the last chunk is the one marked LAST. It is the encoder's writer; its
// errors are *Error values that stop the copy.
type chunker struct {
	c           *Client
	ctx         context.Context
	buf         []byte // the chunk being filled, at most chunkSize
	sent        int64  // payload bytes of the chunks sent
	outstanding int    // chunks sent whose replies are not read yet
	err         error
}

func (k *chunker) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 && k.err == nil {
		k.room()
		m := copy(k.buf[len(k.buf):cap(k.buf)], p)
		k.buf, p = k.buf[:len(k.buf)+m], p[m:]
	}
	if k.err != nil {
		return 0, k.err
	}
	return n, nil
}

func (k *chunker) WriteString(s string) (int, error) {
	n := len(s)
	for len(s) > 0 && k.err == nil {
		k.room()
		m := copy(k.buf[len(k.buf):cap(k.buf)], s)
		k.buf, s = k.buf[:len(k.buf)+m], s[m:]
	}
	if k.err != nil {
		return 0, k.err
	}
	return n, nil
}

func (k *chunker) WriteByte(b byte) error {
	if k.room(); k.err != nil {
		return k.err
	}
	k.buf = append(k.buf, b)
	return nil
}

// room sends the chunk when it is full: more text follows, so it is not the last.
func (k *chunker) room() {
	if len(k.buf) < cap(k.buf) || k.err != nil {
		return
	}
	k.err = k.send(false)
	k.buf = k.buf[:0]
}

// send writes one chunk: "BDAT n" (" LAST"), CRLF, the payload. A chunk before the last is
// answered at once without pipelining, else once the window is full.
func (k *chunker) send(last bool) error {
	c := k.c
	if k.sent == 0 && !last {
		// The first of several chunks: a stray reply waiting now would be counted as this
		// chunk's, and every later reply would answer the wrong chunk (decision 12).
		if err := k.quiet(); err != nil {
			return err
		}
	}
	line := "BDAT " + strconv.Itoa(len(k.buf))
	if last {
		line += " LAST"
	}
	c.trace("C: ", line)
	c.bw.WriteString(line + "\r\n")
	c.phase = PhaseBody
	if _, err := c.bw.Write(k.buf); err != nil {
		return ioError(PhaseBody, c.opt.Peer, ctxErr(k.ctx, err))
	}
	k.sent += int64(len(k.buf))
	if last {
		// Queued, not flushed: DotReply or EnvelopeAfterDot sends what is left of it, so
		// that the next message's commands can go in the same write.
		return nil
	}
	if err := c.flush(k.ctx, PhaseBody); err != nil {
		return err
	}
	k.outstanding++
	if !c.Pipelining() || k.outstanding > chunkWindow {
		return k.readChunkReply()
	}
	return nil
}

// readChunkReply reads the reply to the oldest chunk not answered yet: a 2xx, or the refusal
// that ends the transaction. Without pipelining nothing may follow it.
func (k *chunker) readChunkReply() error {
	c := k.c
	r, err := c.read(k.ctx, PhaseData)
	if err != nil {
		return err
	}
	k.outstanding--
	if !r.Positive() {
		return c.replyError(PhaseData, r)
	}
	if !c.Pipelining() && c.br.Buffered() > 0 {
		return c.unsolicited(PhaseData, r.Lines)
	}
	return nil
}

// quiet checks that the server sent nothing that no chunk asked for.
func (k *chunker) quiet() *Error {
	c := k.c
	came, err := c.pending(k.ctx)
	if err != nil {
		return c.botch(ioError(PhaseBody, c.opt.Peer, err))
	}
	if came {
		return c.unsolicited(PhaseBody, nil)
	}
	return nil
}

// last reads every reply still due, checks that nothing else came and queues the LAST chunk,
// whose reply DotReply (or EnvelopeAfterDot) reads.
func (k *chunker) last() error {
	c := k.c
	for k.outstanding > 0 {
		if err := k.readChunkReply(); err != nil {
			return c.botch(err.(*Error))
		}
	}
	if err := k.quiet(); err != nil {
		return c.botch(err)
	}
	if err := k.send(true); err != nil {
		return c.botch(err.(*Error))
	}
	c.chunked = false
	c.dotQueued = true
	return nil
}
