package smtptest

import (
	"bufio"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"
)

// player runs one script on one connection, in its own goroutine.
type player struct {
	s     *Server
	slot  int // 0-based connection number
	steps []step
	raw   net.Conn  // the TCP connection
	conn  net.Conn  // raw, or the *tls.Conn over it
	tls   *tls.Conn // nil before a handshake
	rec   *recorder // reading side of conn
	r     *bufio.Reader
	w     *bufio.Writer
	drip  time.Duration // ! drip delay, 0 when off
}

func newPlayer(s *Server, slot int, c net.Conn) *player {
	p := &player{s: s, slot: slot, steps: s.scripts[slot], raw: c}
	p.use(c)
	return p
}

// use makes c the connection that directives read and write.
func (p *player) use(c net.Conn) {
	p.conn = c
	p.rec = &recorder{s: p.s, conn: c, idle: p.s.timeout}
	p.r = bufio.NewReader(p.rec)
	p.w = bufio.NewWriter(c)
}

// run plays the script, then lingers or waits for the client to close. A
// failure stops the script and closes the connection.
func (p *player) run() {
	defer p.s.wg.Done()
	defer p.raw.Close()
	last := len(p.steps) - 1
	for i := range p.steps {
		err := p.step(i)
		switch {
		case err == nil:
			continue
		case errors.Is(err, errAborted) && i == last:
			// The last directive was reached: that counts as finished.
			p.s.finish(p.slot)
			return
		case errors.Is(err, errPeerGone) && onlyEOF(p.steps[i+1:]):
			// The client hung up without reading, and the script allows it.
			p.s.finish(p.slot)
			return
		case errors.Is(err, errHandshake) && i < last && p.steps[i+1].kind == opExpectEOF:
			continue // go on in clear: the client must now hang up
		}
		p.failAt(&p.steps[i], err)
		return
	}
	p.s.finish(p.slot)
	switch p.steps[last].kind {
	case opClose:
		p.linger()
	case opStall, opReset:
	default:
		p.endDrain()
	}
}

// onlyEOF reports whether steps hold nothing but directives that a client
// hanging up satisfies.
func onlyEOF(steps []step) bool {
	for _, st := range steps {
		if st.kind != opExpectEOF && st.kind != opEOFOrQuit {
			return false
		}
	}
	return true
}

func (p *player) failAt(st *step, err error) {
	p.s.fail(&failure{conn: p.slot + 1, line: st.line, src: st.src, err: err})
}

// step runs directive i. Consecutive writes are buffered and flushed by the
// last of them, so a multi-line reply leaves in one segment unless dripped.
func (p *player) step(i int) error {
	st := &p.steps[i]
	if st.kind.isWrite() {
		if prev := p.prevReal(i); prev >= 0 && p.steps[prev].kind.isRead() {
			if err := p.checkQuiet(prev); err != nil {
				return err
			}
		}
		if err := p.write(st); err != nil {
			return err
		}
		if i+1 < len(p.steps) && p.steps[i+1].kind.isWrite() {
			return nil
		}
		return p.flush()
	}
	switch st.kind {
	case opExpect, opMatch, opAny:
		return p.expectLine(st)
	case opData:
		return p.data()
	case opRead:
		return p.readN(st.n)
	case opClose:
		return p.halfClose()
	case opStall:
		return p.stall()
	case opExpectEOF:
		return p.expectEOF()
	case opEOFOrQuit:
		return p.eofOrQuit()
	case opSleep:
		return p.sleep(st.d)
	case opDrip:
		p.drip = st.d
		return nil
	case opTLS:
		return p.startTLS()
	case opReset:
		return p.reset()
	}
	return fmt.Errorf("directive kind %d not implemented", st.kind)
}

// prevReal returns the index of the directive before i, skipping "! sleep"
// and "! drip", or -1.
func (p *player) prevReal(i int) int {
	for i--; i >= 0; i-- {
		if k := p.steps[i].kind; k != opSleep && k != opDrip {
			return i
		}
	}
	return -1
}

// checkQuiet fails when the client sent more than the line that directive
// prev read before the reply to it was written: it did not wait.
// Besides what is already buffered, it waits up to a millisecond for more;
// a "! sleep" before the reply widens that window.
func (p *player) checkQuiet(prev int) error {
	if p.r.Buffered() == 0 {
		p.rec.idle = time.Millisecond
		_, _ = p.r.Peek(1) // a timeout here is the good case; EOF is left for the next read
		p.rec.idle = p.s.timeout
	}
	n := p.r.Buffered()
	if n == 0 {
		return nil
	}
	b, _ := p.r.Peek(n)
	return fmt.Errorf("the client sent %q before the reply to line %d was written "+
		"(if pipelining is intended, put its > lines before the replies)", b, p.steps[prev].line)
}

// write writes one write directive into the buffer (or drips it).
func (p *player) write(st *step) error {
	if err := p.conn.SetWriteDeadline(time.Now().Add(p.s.timeout)); err != nil {
		return writeErr(err)
	}
	switch st.kind {
	case opBig:
		p.w.WriteString(st.text)
		filler := []byte(strings.Repeat("x", 4096))
		for left := st.n - len(st.text) - 2; left > 0; left -= len(filler) {
			p.w.Write(filler[:min(left, len(filler))])
		}
		p.w.WriteString("\r\n")
	case opMany:
		for range st.n {
			p.w.WriteString(st.text)
			p.w.WriteString("\r\n")
		}
	default:
		if p.drip > 0 {
			return p.dripOut(st.payload)
		}
		p.w.Write(st.payload)
	}
	return nil // bufio keeps the first error; flush returns it
}

// dripOut writes b one byte at a time, p.drip apart.
func (p *player) dripOut(b []byte) error {
	for i, c := range b {
		if i > 0 {
			if err := p.sleep(p.drip); err != nil {
				return err
			}
		}
		if err := p.conn.SetWriteDeadline(time.Now().Add(p.s.timeout)); err != nil {
			return writeErr(err)
		}
		p.w.WriteByte(c)
		if err := p.flush(); err != nil {
			return err
		}
	}
	return nil
}

func (p *player) flush() error { return writeErr(p.w.Flush()) }

// sleep pauses for d, or until the test ends.
func (p *player) sleep(d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-p.s.ended:
		return errAborted
	}
}
