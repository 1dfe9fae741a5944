package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mxout/mxout/internal/deliver"
	"github.com/mxout/mxout/internal/qmailspawn"
	"github.com/mxout/mxout/internal/qmailspawn/spawntest"
	"github.com/mxout/mxout/internal/sink"
	"github.com/mxout/mxout/internal/smtptest"
)

// control writes control/name.
func (e *env) control(name, content string) {
	e.t.Helper()
	if err := os.WriteFile(filepath.Join(e.home, "control", name), []byte(content), 0o644); err != nil {
		e.t.Fatal(err)
	}
}

// oneMessage is n requests for queue/mess/0/1 from s@example.org to r<i>@host.
func oneMessage(n int, host string) []spawntest.Request {
	var reqs []spawntest.Request
	for i := range n {
		reqs = append(reqs, spawntest.Request{MessID: "0/1", Sender: "s@example.org", Recipient: fmt.Sprintf("r%d@%s", i, host)})
	}
	return reqs
}

// TestBatchOneTransaction: 50 requests for one message to one host, all in flight at once, go
// out as one transaction of 50 RCPTs on one connection. The server refuses the 17th RCPT it
// reads: that request gets D, exactly what its own qmail-remote would have reported, and every
// other request K.
func TestBatchOneTransaction(t *testing.T) {
	const n, refused = 50, 17
	var script strings.Builder
	script.WriteString("< 220 mx.example.test ESMTP\n> EHLO helo.example.test\n< 250-mx.example.test\n< 250 PIPELINING\n> MAIL FROM:<s@example.org>\n")
	for range n {
		script.WriteString(`>~ RCPT TO:<r[0-9]+@batch\.test>` + "\n")
	}
	script.WriteString("> DATA\n< 250 ok\n")
	for i := 1; i <= n; i++ {
		if i == refused {
			script.WriteString("< 550 5.1.1 no such user\n")
		} else {
			script.WriteString("< 250 ok\n")
		}
	}
	script.WriteString("< 354 go\n! data\n< 250 2.0.0 queued\n> QUIT\n")
	srv := smtptest.Start(t, script.String())
	e := newEnv(t, "batch.test:"+srv.Addr())
	e.control("concurrencyremote", "50\n")
	e.control("rspawnbatch", "1000 100\n") // a long window: only the full house may send the batch
	e.message("0/1", e.queueUID, 0o644)
	reqs := oneMessage(n, "batch.test")
	q := e.start()
	got := q.Run(reqs, n)
	if code := q.End(); code != 0 {
		t.Errorf("exit status %d", code)
	}
	rcpts := regexp.MustCompile(`RCPT TO:<(r[0-9]+@batch\.test)>`).FindAllStringSubmatch(string(srv.Received()), -1)
	if len(rcpts) != n {
		t.Fatalf("the server read %d RCPTs, want %d", len(rcpts), n)
	}
	seen := map[string]int{}
	for _, m := range rcpts {
		seen[m[1]]++
	}
	bad := rcpts[refused-1][1]
	for i, r := range reqs {
		if seen[r.Recipient] != 1 {
			t.Errorf("%s: sent %d times", r.Recipient, seen[r.Recipient])
		}
		want := repOK
		if r.Recipient == bad {
			want = repPerm
		}
		if got[i] != want {
			t.Errorf("%s: %q, want %q", r.Recipient, got[i], want)
		}
	}
}

// counting is an in-process sink that records each transaction's recipients.
type counting struct {
	srv *sink.Server
	mu  sync.Mutex
	txs [][]string
}

func startSink(t *testing.T) *counting {
	t.Helper()
	c := &counting{}
	c.srv = &sink.Server{Name: "sink.example.test", OnMessage: func(m sink.Message) {
		c.mu.Lock()
		c.txs = append(c.txs, m.To)
		c.mu.Unlock()
	}}
	if err := c.srv.Listen("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.srv.Close() })
	return c
}

// transactions returns the recipients of each transaction so far, and checks that every one of
// reqs was in exactly one.
func (c *counting) transactions(t *testing.T, reqs []spawntest.Request) [][]string {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	seen := map[string]int{}
	for _, tx := range c.txs {
		for _, r := range tx {
			seen[r]++
		}
	}
	for _, r := range reqs {
		if seen[r.Recipient] != 1 {
			t.Errorf("%s: received %d times", r.Recipient, seen[r.Recipient])
		}
	}
	return append([][]string(nil), c.txs...)
}

// run starts the spawner, delivers reqs with inflight at a time, checks that each got K and that
// the spawner ended well, and returns how long the deliveries took.
func (e *env) run(reqs []spawntest.Request, inflight int) time.Duration {
	e.t.Helper()
	q := e.start()
	if _, err := q.Hello(); err != nil {
		e.t.Fatal(err)
	}
	start := time.Now()
	got := q.Run(reqs, inflight)
	took := time.Since(start)
	for i, rep := range got {
		if !strings.HasPrefix(rep, "K127.0.0.1 accepted message.") {
			e.t.Errorf("%s: %q", reqs[i].Recipient, rep)
		}
	}
	if code := q.End(); code != 0 {
		e.t.Errorf("exit status %d", code)
	}
	return took
}

// TestBatchCap: a batch never carries more recipients than the cap of control/rspawnbatch.
func TestBatchCap(t *testing.T) {
	s := startSink(t)
	e := newEnv(t, "batch.test:"+s.srv.Addr().String())
	e.control("concurrencyremote", "50\n")
	e.control("rspawnbatch", "100 20\n")
	e.message("0/1", e.queueUID, 0o644)
	reqs := oneMessage(50, "batch.test")
	e.run(reqs, 50)
	txs := s.transactions(t, reqs)
	if len(txs) < 3 || len(txs) > 10 {
		t.Errorf("%d transactions for 50 recipients at 20 a time", len(txs))
	}
	for _, tx := range txs {
		if len(tx) > 20 {
			t.Errorf("a transaction of %d recipients", len(tx))
		}
	}
}

// TestBatchingOff: with control/rspawnbatch "0" every request is a transaction of its own.
func TestBatchingOff(t *testing.T) {
	s := startSink(t)
	e := newEnv(t, "batch.test:"+s.srv.Addr().String())
	e.control("rspawnbatch", "0\n")
	e.message("0/1", e.queueUID, 0o644)
	reqs := oneMessage(20, "batch.test")
	e.run(reqs, 20)
	if txs := s.transactions(t, reqs); len(txs) != 20 {
		t.Errorf("%d transactions for 20 requests with batching off", len(txs))
	}
}

// TestBatchWindowNoStall: the window never holds a batch that cannot grow. 100 recipients of one
// message with 20 in flight (qmail-send's default concurrencyremote, and no file here) and a
// window of a second: each batch of 20 goes out when the 20th request arrives, so the whole run
// takes far less than the five seconds that waiting out each window would.
func TestBatchWindowNoStall(t *testing.T) {
	s := startSink(t)
	e := newEnv(t, "batch.test:"+s.srv.Addr().String())
	e.control("rspawnbatch", "1000\n")
	e.message("0/1", e.queueUID, 0o644)
	reqs := oneMessage(100, "batch.test")
	took := e.run(reqs, 20)
	txs := s.transactions(t, reqs)
	if took > 2500*time.Millisecond {
		t.Errorf("100 deliveries took %v: batches waited out their window", took)
	}
	if len(txs) > 10 {
		t.Errorf("%d transactions for 100 recipients, 20 in flight", len(txs))
	}
	t.Logf("%d transactions in %v", len(txs), took)
}

// TestKeptSessions: 200 messages of one recipient each, 20 in flight, take at most 20
// connections (counted in the transcript that MXOUT_TRANSCRIPT asks for) and one transaction
// each; a new message flushes the batch of the one before at once.
func TestKeptSessions(t *testing.T) {
	s := startSink(t)
	e := newEnv(t, "kept.test:"+s.srv.Addr().String())
	e.control("rspawnbatch", "1000\n")
	script := filepath.Join(t.TempDir(), "transcript")
	if err := os.Chmod(filepath.Dir(script), 0o777); err != nil {
		t.Fatal(err)
	}
	e.opts.Env = append(e.opts.Env, "MXOUT_TRANSCRIPT="+script)
	var reqs []spawntest.Request
	for i := range 200 {
		id := fmt.Sprintf("0/%d", 100+i)
		e.message(id, e.queueUID, 0o644)
		reqs = append(reqs, spawntest.Request{MessID: id, Sender: "s@example.org", Recipient: fmt.Sprintf("r%d@kept.test", i)})
	}
	took := e.run(reqs, 20)
	if txs := s.transactions(t, reqs); len(txs) != 200 {
		t.Errorf("%d transactions for 200 messages", len(txs))
	}
	log, err := os.ReadFile(script)
	if err != nil {
		t.Fatal(err)
	}
	greetings := regexp.MustCompile(`(?m)^[0-9]+ < 220 `).FindAll(log, -1)
	if len(greetings) == 0 || len(greetings) > 20 {
		t.Errorf("%d connections for 200 deliveries, 20 in flight", len(greetings))
	}
	if took > 5*time.Second {
		t.Errorf("200 deliveries took %v", took)
	}
	t.Logf("%d connections, %v", len(greetings), took)
}

// TestControlChange: a changed control file takes effect for deliveries that start after it,
// without a restart; the kept session to the old route is not used for the new one.
func TestControlChange(t *testing.T) {
	a, b := startSink(t), startSink(t)
	e := newEnv(t, "change.test:"+a.srv.Addr().String())
	e.message("0/1", e.queueUID, 0o644)
	q := e.start()
	first := []spawntest.Request{{MessID: "0/1", Sender: "s@example.org", Recipient: "one@change.test"}}
	if got := q.Run(first, 1); !strings.HasPrefix(got[0], "K") {
		t.Fatalf("first delivery: %q", got[0])
	}
	time.Sleep(10 * time.Millisecond) // a new modification time
	e.control("smtproutes", "change.test:"+b.srv.Addr().String()+"\n")
	time.Sleep(recheck + 100*time.Millisecond)
	second := []spawntest.Request{{MessID: "0/1", Sender: "s@example.org", Recipient: "two@change.test"}}
	if got := q.Run(second, 1); !strings.HasPrefix(got[0], "K") {
		t.Fatalf("second delivery: %q", got[0])
	}
	q.End()
	a.transactions(t, first)
	b.transactions(t, second)
}

// TestDestinationDown: deliveries to a destination that refuses connections get qmail-remote's
// report; after three whole walks in a row failed, the next ones are deferred at once, without a
// connection attempt, with a report that says why.
func TestDestinationDown(t *testing.T) {
	ln := freePort(t)
	e := newEnv(t, "down.test:"+ln.addr)
	var reqs []spawntest.Request
	for i := range 6 {
		id := fmt.Sprintf("0/%d", 10+i)
		e.message(id, e.queueUID, 0o644)
		reqs = append(reqs, spawntest.Request{MessID: id, Sender: "s@example.org", Recipient: fmt.Sprintf("r%d@down.test", i)})
	}
	ln.close() // the port now refuses
	q := e.start()
	got := q.Run(reqs, 1)
	q.End()
	for i, rep := range got {
		want := "ZSorry, I wasn't able to establish an SMTP connection. (#4.4.1)\n"
		if i >= 3 {
			want = "ZSorry, the delivery failed here: " + ln.addr + " is unreachable: 3 attempts in a row found no server to talk to. (#4.3.0)\n"
		}
		if rep != want {
			t.Errorf("delivery %d: %q, want %q", i, rep, want)
		}
	}
}

// closedPort is a loopback address whose port was just listened on, so that nothing else has it.
type closedPort struct {
	addr  string
	close func()
}

func freePort(t *testing.T) closedPort {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return closedPort{addr: ln.Addr().String(), close: func() { ln.Close() }}
}

// TestBatchPanic: a panic while a batch is delivered ends each of its requests with Crashed (the
// reference's "qmail-remote crashed" report) and leaves nothing in flight or held.
func TestBatchPanic(t *testing.T) {
	e := newEnv(t, "panic.test:127.0.0.1:9")
	e.message("0/1", e.queueUID, 0o644)
	env := func(k string) string {
		if k == "QMAILHOME" {
			return e.home
		}
		return ""
	}
	b := newBatcher(newEngines(e.home, env, nil, 2), 2)
	t.Cleanup(b.engines.Close)
	b.deliverJob = func(context.Context, *deliver.Pool, *deliver.Job) *deliver.Result { panic("test") }
	outs := make(chan qmailspawn.Outcome, 2)
	for i := range 2 {
		f, err := os.Open(filepath.Join(e.home, "queue/mess/0/1"))
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		req := &qmailspawn.Request{Delnum: byte(i), MessID: "0/1", Message: f, Sender: "s@example.org",
			Recipient: fmt.Sprintf("r%d@panic.test", i), Host: "panic.test"}
		go b.Deliver(context.Background(), req, func(o qmailspawn.Outcome) { outs <- o })
	}
	for range 2 {
		select {
		case o := <-outs:
			if !o.Crashed {
				t.Errorf("outcome %+v, want Crashed", o)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("a request of the panicking batch never ended")
		}
	}
	b.mu.Lock()
	inflight, held, jobs := b.inflight, b.held, b.jobs
	b.mu.Unlock()
	if inflight != 0 || held != 0 || jobs != 1 {
		t.Errorf("after the panic: %d in flight, %d held, %d jobs; want 0, 0, 1", inflight, held, jobs)
	}
}

// TestBatchTwoHosts: the recipients of one message alternate between two hosts; each host gets one
// transaction with its own recipients only.
func TestBatchTwoHosts(t *testing.T) {
	a, b := startSink(t), startSink(t)
	e := newEnv(t, "a.test:"+a.srv.Addr().String(), "b.test:"+b.srv.Addr().String())
	e.control("concurrencyremote", "40\n")
	e.control("rspawnbatch", "1000\n")
	e.message("0/1", e.queueUID, 0o644)
	var reqs, toA, toB []spawntest.Request
	for i := range 40 {
		host := []string{"a.test", "b.test"}[i%2]
		r := spawntest.Request{MessID: "0/1", Sender: "s@example.org", Recipient: fmt.Sprintf("r%d@%s", i, host)}
		reqs = append(reqs, r)
		if i%2 == 0 {
			toA = append(toA, r)
		} else {
			toB = append(toB, r)
		}
	}
	e.run(reqs, 40)
	for name, got := range map[string][][]string{"a.test": a.transactions(t, toA), "b.test": b.transactions(t, toB)} {
		if len(got) != 1 || len(got[0]) != 20 {
			t.Errorf("%s: transactions %v, want one of its 20 recipients", name, got)
		}
	}
}
