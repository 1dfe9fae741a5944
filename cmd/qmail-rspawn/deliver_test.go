package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/mxout/mxout/internal/qmailspawn/spawntest"
	"github.com/mxout/mxout/internal/smtptest"
)

const (
	repOK      = "K127.0.0.1 accepted message.\nRemote host said: 250 2.0.0 queued\n"
	repTemp    = "Z127.0.0.1 does not like recipient.\nRemote host said: 451 4.2.0 later\nGiving up on 127.0.0.1.\n"
	repPerm    = "D127.0.0.1 does not like recipient.\nRemote host said: 550 5.1.1 no such user\nGiving up on 127.0.0.1.\n"
	repDied    = "ZConnected to 127.0.0.1 but connection died. Possible duplicate! (#4.4.2)\n"
	repDotFail = "D127.0.0.1 failed after I sent the message.\nRemote host said: 554 5.7.1 rejected\n"
)

// outcomes starts one scripted server for each of n rounds of each outcome and returns the
// smtproutes lines for the domains ok<i>.test, temp<i>.test, perm<i>.test, died<i>.test and
// dotfail<i>.test, and the servers of ok<i>.test. Each server takes one connection: the spawner
// keeps its sessions, so a session still in step ends with QUIT when the spawner ends.
func outcomes(t *testing.T, n int) (routes []string, okServers []*smtptest.Server) {
	t.Helper()
	data := `
> DATA
< 354 go
! data`
	scripts := map[string]string{
		"ok":      "250 ok\n" + data[1:] + "\n! sleep 50ms\n< 250 2.0.0 queued\n> QUIT",
		"temp":    "451 4.2.0 later\n> QUIT",
		"perm":    "550 5.1.1 no such user\n> QUIT",
		"died":    "250 ok\n" + data[1:] + "\n! close",
		"dotfail": "250 ok\n" + data[1:] + "\n< 554 5.7.1 rejected\n> QUIT",
	}
	for i := range n {
		for kind, script := range scripts {
			domain := fmt.Sprintf("%s%d.test", kind, i)
			reply, rest, _ := strings.Cut(script, "\n")
			srv := smtptest.Start(t, session(domain, reply)+"\n"+rest)
			routes = append(routes, domain+":"+srv.Addr())
			if kind == "ok" {
				okServers = append(okServers, srv)
			}
		}
	}
	return routes, okServers
}

// TestOutcomes drives the binary as qmail-send does, several deliveries in flight and delnums
// reused, and checks that every request gets its own report, converted as the reference does
// from real sessions: 250, 4xx and 5xx to RCPT, a close after the dot, a 5xx after the dot.
func TestOutcomes(t *testing.T) {
	for _, chunk := range []int{0, 3} {
		t.Run(fmt.Sprintf("chunk=%d", chunk), func(t *testing.T) {
			const rounds = 3
			routes, okServers := outcomes(t, rounds)
			e := newEnv(t, routes...)
			e.opts.Chunk = chunk
			e.message("0/1", e.queueUID, 0o644)
			want := map[string]string{"ok": repOK, "temp": repTemp, "perm": repPerm, "died": repDied, "dotfail": repDotFail}
			var reqs []spawntest.Request
			var wants []string
			for i := range rounds {
				for _, kind := range []string{"ok", "temp", "perm", "died", "dotfail"} {
					reqs = append(reqs, spawntest.Request{MessID: "0/1", Sender: "s@example.org",
						Recipient: fmt.Sprintf("r%d%s@%s%d.test", i, kind, kind, i)})
					wants = append(wants, want[kind])
				}
			}
			q := e.start()
			if hello, err := q.Hello(); err != nil || hello != 255 {
				t.Fatalf("hello %d, %v; want 255", hello, err)
			}
			got := q.Run(reqs, 4) // 4 in flight for 15 requests: delnums 0 to 3, each reused
			for i := range reqs {
				if got[i] != wants[i] {
					t.Errorf("%s: got %q, want %q", reqs[i].Recipient, got[i], wants[i])
				}
			}
			if code := q.End(); code != 0 {
				t.Errorf("exit status %d after EOF, want 0", code)
			}
			wire := strings.ReplaceAll(testMessage, "\n.", "\n..")
			wire = strings.ReplaceAll(wire, "\n", "\r\n") + ".\r\n"
			for _, srv := range okServers {
				if d := srv.Data(); len(d) != 1 || string(d[0]) != wire {
					t.Errorf("server received %q, want %q once", d, wire)
				}
			}
		})
	}
}

// TestRefusals sends one request for each check the reference makes before delivering and
// compares the reports; the route for every request leads to a listener no one may reach.
func TestRefusals(t *testing.T) {
	e := newEnv(t, "example.test:"+trap(t))
	e.message("0/1", e.queueUID, 0o644)
	e.foreign("0/2")
	e.message("0/4", e.queueUID, 0)                                   // unreadable for the spawner
	if err := os.Mkdir(e.home+"/queue/mess/0/5", 0o755); err != nil { // not a regular file
		t.Fatal(err)
	}
	tests := []struct {
		delnum             byte
		messid, rcpt, want string
	}{
		{255, "0/1", "a@example.test", "ZInternal error: delnum too big. (#4.3.5)\n"},
		{0, "0/x", "a@example.test", "DInternal error: messid has nonnumerics. (#5.3.5)\n"},
		{0, "../mess/0/1", "a@example.test", "DInternal error: messid has nonnumerics. (#5.3.5)\n"},
		{0, "0/../0/1", "a@example.test", "DInternal error: messid has nonnumerics. (#5.3.5)\n"},
		{0, "/" + e.home + "/queue/mess/0/1", "a@example.test", "DInternal error: messid has nonnumerics. (#5.3.5)\n"},
		{0, strings.Repeat("1", 100), "a@example.test", "DInternal error: messid too long. (#5.3.5)\n"},
		{0, "", "a@example.test", "DInternal error: messid too short. (#5.3.5)\n"},
		{0, "0/1", "postmaster", "DSorry, address must include host name. (#5.1.3)\n"},
		{0, "0/9", "a@example.test", "Zqmail-spawn unable to open message. (#4.3.0)\n"},
		{0, "0/4", "a@example.test", "Zqmail-spawn unable to open message. (#4.3.0)\n"},
		{0, "0/5", "a@example.test", "ZSorry, message has wrong type. (#4.3.5)\n"},
		{0, "0/2", "a@example.test", "ZSorry, message has wrong owner. (#4.3.5)\n"},
		{0, "0/1", strings.Repeat("a", 9000) + "@example.test", "DSorry, recipient address is too long. (#5.1.3)\n"},
	}
	if e.id.runUID != e.queueUID { // a message planted by the spawner's own user
		e.message("0/3", e.id.runUID, 0o644)
		tests = append(tests, struct {
			delnum             byte
			messid, rcpt, want string
		}{0, "0/3", "a@example.test", "ZSorry, message has wrong owner. (#4.3.5)\n"})
	}
	q := e.start()
	for _, tt := range tests {
		q.Send(tt.delnum, tt.messid, "s@example.org", tt.rcpt)
		rep, err := q.Next()
		if err != nil {
			t.Fatalf("%q %q: %v", tt.messid, tt.rcpt, err)
		}
		if rep.Delnum != tt.delnum || rep.Text != tt.want {
			t.Errorf("messid %q rcpt %.20q: delnum %d %q, want %d %q", tt.messid, tt.rcpt, rep.Delnum, rep.Text, tt.delnum, tt.want)
		}
	}
	if code := q.End(); code != 0 {
		t.Errorf("exit status %d", code)
	}
}

// TestDelnumInUse sends a second request on the delnum of a delivery still in flight, which
// qmail-send never does: the reference's report for it, then the first delivery's own report.
func TestDelnumInUse(t *testing.T) {
	slow := smtptest.Start(t, "! sleep 700ms\n"+session("ok.test", "250 ok")+`
> DATA
< 354 go
! data
< 250 2.0.0 queued
> QUIT`)
	e := newEnv(t, "ok.test:"+slow.Addr(), "example.test:"+trap(t))
	e.message("0/1", e.queueUID, 0o644)
	q := e.start()
	q.Send(7, "0/1", "s@example.org", "a@ok.test")
	q.Send(7, "0/1", "s@example.org", "b@example.test")
	for _, want := range []string{"ZInternal error: delnum in use. (#4.3.5)\n", repOK} {
		rep, err := q.Next()
		if err != nil {
			t.Fatal(err)
		}
		if rep.Delnum != 7 || rep.Text != want {
			t.Errorf("delnum %d %q, want 7 %q", rep.Delnum, rep.Text, want)
		}
	}
	q.End()
}

// TestEOFWaitsForDeliveries closes qmail-send's side right after a request: the delivery still
// ends, its report is written, and the spawner exits 0.
func TestEOFWaitsForDeliveries(t *testing.T) {
	srv := smtptest.Start(t, session("ok.test", "250 ok")+`
> DATA
< 354 go
! data
! sleep 300ms
< 250 2.0.0 queued
> QUIT`)
	e := newEnv(t, "ok.test:"+srv.Addr())
	e.message("0/1", e.queueUID, 0o644)
	q := e.start()
	q.Send(0, "0/1", "s@example.org", "a@ok.test")
	q.CloseRequests()
	rep, err := q.Next()
	if err != nil || rep.Text != repOK {
		t.Errorf("report %q, %v; want %q", rep.Text, err, repOK)
	}
	if code, err := q.Wait(); err != nil || code != 0 {
		t.Errorf("exit %d, %v; want 0", code, err)
	}
}

// TestWriteErrorEnds closes qmail-send's end of the reports while a delivery is in flight, and
// keeps the requests open: the spawner's next report fails to go out, the delivery in flight
// still runs to its end (the server's script must finish), and the process exits 0 without
// waiting for EOF, not killed by SIGPIPE.
func TestWriteErrorEnds(t *testing.T) {
	srv := smtptest.Start(t, session("ok.test", "250 ok")+`
> DATA
< 354 go
! data
! sleep 500ms
< 250 2.0.0 queued
> QUIT`)
	e := newEnv(t, "ok.test:"+srv.Addr())
	e.message("0/1", e.queueUID, 0o644)
	q := e.start()
	if _, err := q.Hello(); err != nil {
		t.Fatal(err)
	}
	q.Send(0, "0/1", "s@example.org", "a@ok.test")
	time.Sleep(100 * time.Millisecond)
	q.CloseReports()
	q.Send(1, "x", "s@example.org", "b@ok.test") // refused at once: its report's write fails
	code, err := q.Wait()
	if err != nil || code != 0 {
		t.Errorf("exit %d, %v; want 0", code, err)
	}
	if len(srv.Data()) != 1 {
		t.Errorf("the delivery in flight was not finished: %d messages received", len(srv.Data()))
	}
}

// TestNothingOnStderr gives the spawner a pipe as fd 2 and runs deliveries and refusals: nothing
// may come out of it.
func TestNothingOnStderr(t *testing.T) {
	routes, _ := outcomes(t, 1)
	e := newEnv(t, routes...)
	e.message("0/1", e.queueUID, 0o644)
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	e.opts.Stderr = w
	q := e.start()
	w.Close()
	rq := func(m, s, r string) spawntest.Request { return spawntest.Request{MessID: m, Sender: s, Recipient: r} }
	q.Run([]spawntest.Request{
		rq("0/1", "s@example.org", "a@ok0.test"), rq("0/1", "s@example.org", "b@temp0.test"), rq("0/1", "s@example.org", "c@perm0.test"),
		rq("0/1", "s@example.org", "d@died0.test"), rq("0/1", "s@example.org", "e@dotfail0.test"),
		rq("0/9", "s@example.org", "f@ok0.test"), rq("x", "s@example.org", "g@ok0.test"), rq("0/1", "s", "nohost"),
		rq("0/1", "s@example.org", "h@nowhere.invalid"),
	}, 9)
	q.End()
	var out bytes.Buffer
	out.ReadFrom(r)
	if out.Len() > 0 {
		t.Errorf("fd 2 got %q", out.Bytes())
	}
}

// TestLongRequestNotBuffered sends a recipient of 32 MiB: it is refused, and the process never
// held it (its peak resident size stays far below).
func TestLongRequestNotBuffered(t *testing.T) {
	e := newEnv(t, "example.test:"+trap(t))
	e.message("0/1", e.queueUID, 0o644)
	q := e.start()
	if _, err := q.Hello(); err != nil {
		t.Fatal(err)
	}
	const size = 32 << 20
	go func() {
		q.Write([]byte("\x000/1\x00s@example.org\x00"))
		chunk := bytes.Repeat([]byte("a"), 1<<20)
		for range size >> 20 {
			if q.Write(chunk) != nil {
				return
			}
		}
		q.Write([]byte("@example.test\x00"))
	}()
	rep, err := q.Next()
	if err != nil || rep.Text != "DSorry, recipient address is too long. (#5.1.3)\n" {
		t.Fatalf("report %q, %v", rep.Text, err)
	}
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", q.Pid()))
	if err != nil {
		t.Fatal(err)
	}
	var hwm int
	for _, line := range strings.Split(string(status), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			fmt.Sscanf(strings.TrimSpace(v), "%d", &hwm)
		}
	}
	if hwm == 0 || hwm*1024 > size/2 {
		t.Errorf("peak resident size %d KiB after a %d-byte recipient", hwm, size)
	}
	q.End()
}

// TestStartupRefusals: without queue/mess, or when MXOUT_TRANSCRIPT names a file that cannot be
// opened, the spawner exits 111 before the hello byte, as the reference does when it cannot start.
func TestStartupRefusals(t *testing.T) {
	t.Run("no queue", func(t *testing.T) {
		e := newEnv(t)
		if err := os.RemoveAll(e.home + "/queue"); err != nil {
			t.Fatal(err)
		}
		q := e.start()
		if _, err := q.Hello(); err == nil {
			t.Error("a hello byte without queue/mess")
		}
		if code, err := q.Wait(); err != nil || code != 111 {
			t.Errorf("exit %d, %v; want 111", code, err)
		}
	})
	t.Run("transcript cannot be opened", func(t *testing.T) {
		e := newEnv(t)
		e.opts.Env = append(e.opts.Env, "MXOUT_TRANSCRIPT="+e.home+"/no/such/dir/transcript")
		q := e.start()
		if _, err := q.Hello(); err == nil {
			t.Error("a hello byte without the transcript asked for")
		}
		if code, err := q.Wait(); err != nil || code != 111 {
			t.Errorf("exit %d, %v; want 111", code, err)
		}
	})
}

// TestRefusesRoot: run as root, the spawner exits 111 before anything else (in-process, so the
// test needs no root itself).
func TestRefusesRoot(t *testing.T) {
	var out bytes.Buffer
	if code := run(context.Background(), nil, &out, func(string) string { return "" }, 0); code != 111 {
		t.Errorf("exit %d, want 111", code)
	}
	if out.Len() > 0 {
		t.Errorf("wrote %q", out.Bytes())
	}
}
