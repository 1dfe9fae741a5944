package qmailspawn

import (
	"context"
	"fmt"
	"io"
	"os"
	"sync"
)

// Request is one delivery qmail-send asked for, after every check passed.
type Request struct {
	Delnum byte
	// MessID names the message relative to queue/mess ("12/345678"), digits and '/' only.
	MessID string
	// Message is the message file, opened by the Server as the reference spawner opens it (a
	// regular file owned by the qmailq user), at offset 0. The Server closes it after Done.
	Message   *os.File
	Sender    string // the envelope sender as qmail-send gave it, possibly empty
	Recipient string // the one recipient; it holds an '@'
	Host      string // the part of Recipient after its last '@'
}

// Done ends one request. Call it exactly once, from any goroutine; later calls are ignored.
type Done func(Outcome)

// Deliverer delivers the requests a Server accepts.
//
// The Server calls Deliver once per request, each call in a goroutine of its own, and never waits
// for it to return: the request ends when done is called. So a Deliverer may work in the calling
// goroutine and call done before returning (one qmail-remote per request), or it may keep the
// request and call done later from another goroutine. The second form is what batching needs:
// requests that name the same message file, sender and host usually arrive one after another,
// and an engine can hold them for a moment, carry their recipients in one SMTP transaction, and
// call each request's done with what qmail-remote would have printed for that request's
// recipient alone (cmd/qmail-rspawn does it with report.QmailOne).
//
// A panic in Deliver before done is called ends that request with ReportCrashed; nothing else is
// affected. Goroutines the Deliverer starts itself must recover on their own and end their
// requests with Outcome{Crashed: true}. A request whose done is never called keeps its delnum
// busy and keeps Serve from returning.
type Deliverer interface {
	Deliver(ctx context.Context, req *Request, done Done)
}

// Server speaks the spawner's side of the protocol.
type Server struct {
	Deliverer Deliverer
	// Dir is queue/mess, where MessID is looked up; "" means the working directory, which is
	// where the reference spawner runs.
	Dir string
	// QueueUID is the qmailq user's uid: a message file owned by anyone else is refused.
	QueueUID int
	// Concurrency is the hello byte: how many deliveries may run at once, and so the delnums
	// accepted (0 to Concurrency-1). 0 means 255, the most one byte can say.
	Concurrency int
}

// Serve writes the hello byte to out, then reads requests from in until it ends, starts each
// accepted one and writes one report per request to out, in the order they end. After the end
// of in (EOF, a read error, or input that ends inside a request) it waits for the deliveries in
// flight, writes their reports and returns nil. A failed write to out means qmail-send is gone:
// no more reports are written and no more requests are started, and Serve returns once the
// deliveries in flight have ended (a read of in may still be pending then; the caller exits).
// It returns an error only when the hello byte cannot be written.
func (s *Server) Serve(ctx context.Context, in io.Reader, out io.Writer) error {
	n := s.Concurrency
	if n <= 0 || n > 255 {
		n = 255
	}
	if _, err := out.Write([]byte{byte(n)}); err != nil {
		return fmt.Errorf("qmailspawn: writing the hello byte: %w", err)
	}
	c := &conv{srv: s, n: n, out: out, broken: make(chan struct{})}
	readDone := make(chan struct{})
	go func() {
		defer close(readDone)
		c.read(ctx, NewReader(in))
	}()
	select {
	case <-readDone:
	case <-c.broken:
	}
	c.mu.Lock()
	c.stopped = true // no wg.Add after this
	c.mu.Unlock()
	c.wg.Wait()
	return nil
}

// conv is the state of one conversation.
type conv struct {
	srv *Server
	n   int

	mu      sync.Mutex
	inUse   [256]bool
	stopped bool // input ended or output broken: start nothing more
	wg      sync.WaitGroup

	wmu    sync.Mutex // serializes reports
	out    io.Writer
	failed bool
	broken chan struct{} // closed at the first failed write
}

// read starts or refuses each request until the input ends or the output breaks.
func (c *conv) read(ctx context.Context, r *Reader) {
	for {
		cmd, err := r.Next()
		if err != nil {
			return
		}
		if !c.start(ctx, cmd) {
			return
		}
	}
}

// start makes the checks and, when they pass, starts the delivery. It returns false when no more
// requests are to be started.
func (c *conv) start(ctx context.Context, cmd *Command) bool {
	c.mu.Lock()
	if c.stopped {
		c.mu.Unlock()
		return false
	}
	busy := c.inUse[cmd.Delnum]
	c.mu.Unlock()
	if rep := Check(cmd, c.n, func(byte) bool { return busy }); rep != "" {
		c.report(cmd.Delnum, []byte(rep))
		return true
	}
	f, rep := OpenMessage(c.srv.Dir, cmd.MessID, c.srv.QueueUID)
	if rep != "" {
		c.report(cmd.Delnum, []byte(rep))
		return true
	}
	req := &Request{Delnum: cmd.Delnum, MessID: cmd.MessID, Message: f, Sender: cmd.Sender,
		Recipient: cmd.Recipient, Host: Host(cmd.Recipient)}
	c.mu.Lock()
	if c.stopped {
		c.mu.Unlock()
		f.Close()
		return false
	}
	c.inUse[req.Delnum] = true
	c.wg.Add(1)
	c.mu.Unlock()
	go c.deliver(ctx, req)
	return true
}

// deliver runs one request through the Deliverer, turning a panic into ReportCrashed.
func (c *conv) deliver(ctx context.Context, req *Request) {
	var once sync.Once
	done := func(o Outcome) {
		once.Do(func() {
			req.Message.Close()
			c.mu.Lock()
			// Free the delnum before the report goes out: qmail-send may reuse it as soon as it
			// has read the report.
			c.inUse[req.Delnum] = false
			c.mu.Unlock()
			c.report(req.Delnum, o.Report())
			c.wg.Done()
		})
	}
	defer func() {
		if recover() != nil {
			done(Outcome{Crashed: true})
		}
	}()
	c.srv.Deliverer.Deliver(ctx, req, done)
}

// report writes one report: delnum, text, NUL, in one write. After a failed write it writes
// nothing more.
func (c *conv) report(delnum byte, text []byte) {
	buf := make([]byte, 0, len(text)+2)
	buf = append(append(append(buf, delnum), text...), 0)
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.failed {
		return
	}
	if _, err := c.out.Write(buf); err != nil {
		c.failed = true
		c.mu.Lock()
		c.stopped = true
		c.mu.Unlock()
		close(c.broken)
	}
}
