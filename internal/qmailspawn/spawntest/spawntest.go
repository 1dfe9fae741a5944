package spawntest

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/mxout/mxout/internal/qmailspawn"
)

// Timeout bounds each wait for the spawner: a report, the hello byte, the exit.
const Timeout = 30 * time.Second

// maxReport bounds one report read; qmail-send itself keeps 10,000 bytes of it.
const maxReport = 64 << 10

// Options says how to start the spawner. The zero value starts it as the test's own user with
// an empty environment.
type Options struct {
	Env []string
	// Credential is the user the spawner runs as (qmail-start gives it qmailr and group qmail).
	// Nil keeps the test's own.
	Credential *syscall.Credential
	// Stderr becomes fd 2. Nil leaves descriptors 2 to 6 closed, as qmail-start does.
	Stderr *os.File
	// Chunk splits every request into writes of at most Chunk bytes, with a pause between them,
	// so the spawner sees requests split across reads. 0 writes each request at once.
	Chunk int
}

// QmailSend is one running spawner and the qmail-send side of its pipes.
type QmailSend struct {
	t      testing.TB
	o      Options
	proc   *os.Process
	req    *os.File // our end of the spawner's fd 0
	rep    *os.File // our end of the spawner's fd 1
	br     *bufio.Reader
	hello  int // -1 until read
	exited chan struct{}
	state  *os.ProcessState
}

// Report is one report as qmail-send reads it.
type Report struct {
	Delnum byte
	Text   string // the letter and the text, without the final NUL
}

// Start starts bin with o. A t.Cleanup kills the spawner if it is still running at the end.
func Start(t testing.TB, bin string, o Options) *QmailSend {
	t.Helper()
	reqR, reqW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	repR, repW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	// A nil entry is a closed descriptor in the child.
	files := []*os.File{reqR, repW, o.Stderr, nil, nil, nil, nil}
	proc, err := os.StartProcess(bin, []string{"qmail-rspawn"}, &os.ProcAttr{
		Dir: "/", Env: o.Env, Files: files, Sys: &syscall.SysProcAttr{Credential: o.Credential},
	})
	reqR.Close()
	repW.Close()
	if err != nil {
		t.Fatalf("spawntest: starting %s: %v", bin, err)
	}
	q := &QmailSend{t: t, o: o, proc: proc, req: reqW, rep: repR, br: bufio.NewReader(repR), hello: -1,
		exited: make(chan struct{})}
	go func() {
		q.state, _ = proc.Wait()
		close(q.exited)
	}()
	t.Cleanup(func() {
		select {
		case <-q.exited:
		default:
			proc.Kill()
			<-q.exited
		}
		q.req.Close()
		q.rep.Close()
	})
	return q
}

// Hello reads the hello byte once and returns it.
func (q *QmailSend) Hello() (byte, error) {
	if q.hello >= 0 {
		return byte(q.hello), nil
	}
	q.rep.SetReadDeadline(time.Now().Add(Timeout))
	b, err := q.br.ReadByte()
	if err != nil {
		return 0, fmt.Errorf("spawntest: reading the hello byte: %w", err)
	}
	q.hello = int(b)
	return b, nil
}

// Send writes one request, in pieces when Options.Chunk says so.
func (q *QmailSend) Send(delnum byte, messid, sender, recipient string) {
	q.t.Helper()
	wire := qmailspawn.Append(nil, delnum, messid, sender, recipient)
	for len(wire) > 0 {
		n := len(wire)
		if q.o.Chunk > 0 && n > q.o.Chunk {
			n = q.o.Chunk
		}
		if _, err := q.req.Write(wire[:n]); err != nil {
			q.t.Fatalf("spawntest: writing a request: %v", err)
		}
		wire = wire[n:]
		if len(wire) > 0 {
			time.Sleep(time.Millisecond)
		}
	}
}

// Write writes raw bytes on the spawner's fd 0.
func (q *QmailSend) Write(b []byte) error {
	_, err := q.req.Write(b)
	return err
}

// Next reads one report.
func (q *QmailSend) Next() (Report, error) {
	if _, err := q.Hello(); err != nil {
		return Report{}, err
	}
	q.rep.SetReadDeadline(time.Now().Add(Timeout))
	d, err := q.br.ReadByte()
	if err != nil {
		return Report{}, err
	}
	var text []byte
	for {
		chunk, err := q.br.ReadSlice(0)
		text = append(text, chunk...)
		if len(text) > maxReport {
			return Report{}, fmt.Errorf("spawntest: report for delnum %d longer than %d bytes", d, maxReport)
		}
		if err == nil {
			return Report{Delnum: d, Text: string(text[:len(text)-1])}, nil
		}
		if !errors.Is(err, bufio.ErrBufferFull) {
			return Report{}, fmt.Errorf("spawntest: report for delnum %d cut short after %q: %w", d, text, err)
		}
	}
}

// Request is one delivery for Run.
type Request struct {
	MessID, Sender, Recipient string
}

// Run delivers reqs as qmail-send does, with at most inflight deliveries at once (and never more
// than the hello byte allows), each on the lowest free delnum, and returns the report of each
// request by index. A report for a delnum with nothing in flight fails the test.
func (q *QmailSend) Run(reqs []Request, inflight int) []string {
	q.t.Helper()
	hello, err := q.Hello()
	if err != nil {
		q.t.Fatal(err)
	}
	limit := min(inflight, int(hello))
	busy := map[byte]int{} // delnum → index into reqs
	reports := make([]string, len(reqs))
	next := 0
	for next < len(reqs) || len(busy) > 0 {
		if next < len(reqs) && len(busy) < limit {
			d := byte(0)
			for _, used := busy[d]; used; _, used = busy[d] {
				d++
			}
			busy[d] = next
			r := reqs[next]
			q.Send(d, r.MessID, r.Sender, r.Recipient)
			next++
			continue
		}
		rep, err := q.Next()
		if err != nil {
			q.t.Fatalf("spawntest: %d deliveries in flight: %v", len(busy), err)
		}
		i, ok := busy[rep.Delnum]
		if !ok {
			q.t.Errorf("spawntest: report for delnum %d, which has no delivery in flight: %q", rep.Delnum, rep.Text)
			continue
		}
		reports[i] = rep.Text
		delete(busy, rep.Delnum)
	}
	return reports
}

// CloseRequests closes the spawner's fd 0: what qmail-send's exit looks like.
func (q *QmailSend) CloseRequests() { q.req.Close() }

// CloseReports closes qmail-send's end of the reports, so the spawner's next write fails.
func (q *QmailSend) CloseReports() { q.rep.Close() }

// Pid is the spawner's process id.
func (q *QmailSend) Pid() int { return q.proc.Pid }

// Wait waits for the spawner to exit and returns its exit status (-1 when a signal ended it).
func (q *QmailSend) Wait() (int, error) {
	select {
	case <-q.exited:
	case <-time.After(Timeout):
		return 0, errors.New("spawntest: the spawner did not exit")
	}
	if q.state == nil {
		return 0, errors.New("spawntest: waiting for the spawner failed")
	}
	return q.state.ExitCode(), nil
}

// End closes the requests as an exiting qmail-send does, checks that no report follows, and
// returns the exit status.
func (q *QmailSend) End() int {
	q.t.Helper()
	q.CloseRequests()
	q.rep.SetReadDeadline(time.Now().Add(Timeout))
	if rest, err := q.br.ReadByte(); err == nil {
		q.t.Errorf("spawntest: output after the last report: starts with %q", rest)
	}
	code, err := q.Wait()
	if err != nil {
		q.t.Fatal(err)
	}
	return code
}
