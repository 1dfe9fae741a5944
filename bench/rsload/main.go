// Command rsload is a fake qmail-send for benchmarks: it starts a qmail-rspawn binary as
// qmail-start does (requests on its fd 0, reports on its fd 1, descriptors 2 to 6 closed, as
// another user when asked), and sends it the remote deliveries of MESSAGES messages of RCPTS
// recipients each, one recipient per request, message after message, with at most C in flight:
// a new request goes out only when a report came back, as qmail-send does. It is the driver of
// bench/qmail-rspawn.sh and knows only the protocol (spec/qmail-spawn-protocol.md).
//
// Usage:
//
//	rsload -bin PATH -home QMAILHOME -msg FILE [-messages 2000] [-rcpts 1] [-c 20] [-user NAME] [-env NAME=VALUE]... HOST
//
// The messages are copied to QMAILHOME/queue/mess/0/N, owned by -user (the spawner must be
// linked with that user as its queue user). A delivery counts as good when its report starts
// with K. The result is one line of name=value pairs (deliveries, messages, rcpts, concurrency,
// bad, seconds, per_second, cpu_ms_per_delivery: the spawner's CPU time, not the driver's);
// the exit status is 1 when any delivery was bad or the spawner did not exit 0.
package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

// envList collects repeated -env flags.
type envList []string

func (e *envList) String() string     { return strings.Join(*e, " ") }
func (e *envList) Set(v string) error { *e = append(*e, v); return nil }

// maxReport bounds one report; qmail-send keeps 10,000 bytes of one.
const maxReport = 64 << 10

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("rsload", flag.ContinueOnError)
	fs.SetOutput(stderr)
	bin := fs.String("bin", "", "qmail-rspawn binary")
	home := fs.String("home", "", "QMAILHOME with control files; queue/mess is filled here")
	msgFile := fs.String("msg", "", "the message")
	messages := fs.Int("messages", 2000, "number of messages")
	rcpts := fs.Int("rcpts", 1, "recipients per message")
	c := fs.Int("c", 20, "deliveries in flight at most")
	userName := fs.String("user", "", "run the spawner as this user, who also owns the messages (when root)")
	var env envList
	fs.Var(&env, "env", "NAME=VALUE for the spawner's environment (repeatable)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *bin == "" || *home == "" || *msgFile == "" || fs.NArg() != 1 || *messages < 1 || *rcpts < 1 || *c < 1 {
		fmt.Fprintln(stderr, "usage: rsload -bin PATH -home QMAILHOME -msg FILE [-messages N] [-rcpts N] [-c N] [-user NAME] [-env NAME=VALUE]... HOST")
		return 2
	}
	var cred *syscall.Credential
	uid := -1
	if *userName != "" {
		u, err := user.Lookup(*userName)
		if err != nil {
			fmt.Fprintln(stderr, "rsload:", err)
			return 1
		}
		uid, _ = strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), Groups: []uint32{}}
	}
	if err := queue(*home, *msgFile, *messages, uid); err != nil {
		fmt.Fprintln(stderr, "rsload:", err)
		return 1
	}
	s, err := start(*bin, append(env, "QMAILHOME="+*home), cred)
	if err != nil {
		fmt.Fprintln(stderr, "rsload:", err)
		return 1
	}
	begin := time.Now()
	bad, err := s.deliver(fs.Arg(0), *messages, *rcpts, *c, stderr)
	elapsed := time.Since(begin)
	if err != nil {
		fmt.Fprintln(stderr, "rsload:", err)
		s.proc.Kill()
		return 1
	}
	s.req.Close() // qmail-send exits: the spawner ends its sessions and exits
	st, err := s.proc.Wait()
	if err != nil {
		fmt.Fprintln(stderr, "rsload:", err)
		return 1
	}
	n := *messages * *rcpts
	cpu := st.UserTime() + st.SystemTime()
	fmt.Fprintf(stdout, "deliveries=%d messages=%d rcpts=%d concurrency=%d bad=%d seconds=%.3f per_second=%.1f cpu_ms_per_delivery=%.3f\n",
		n, *messages, *rcpts, *c, bad, elapsed.Seconds(), float64(n)/elapsed.Seconds(),
		float64(cpu)/float64(time.Millisecond)/float64(n))
	if bad > 0 || st.ExitCode() != 0 {
		return 1
	}
	return 0
}

// queue writes the messages as home/queue/mess/0/N, owned by uid (-1: as they are).
func queue(home, msgFile string, n, uid int) error {
	data, err := os.ReadFile(msgFile)
	if err != nil {
		return err
	}
	dir := filepath.Join(home, "queue", "mess", "0")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for i := range n {
		p := filepath.Join(dir, strconv.Itoa(i))
		if err := os.WriteFile(p, data, 0o644); err != nil {
			return err
		}
		if uid >= 0 {
			if err := os.Chown(p, uid, -1); err != nil {
				return err
			}
		}
	}
	return nil
}

// spawner is the running qmail-rspawn and qmail-send's ends of its pipes.
type spawner struct {
	proc *os.Process
	req  *os.File
	rep  *bufio.Reader
}

func start(bin string, env []string, cred *syscall.Credential) (*spawner, error) {
	reqR, reqW, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	repR, repW, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	proc, err := os.StartProcess(bin, []string{"qmail-rspawn"}, &os.ProcAttr{Dir: "/", Env: env,
		Files: []*os.File{reqR, repW, nil, nil, nil, nil, nil}, Sys: &syscall.SysProcAttr{Credential: cred}})
	reqR.Close()
	repW.Close()
	if err != nil {
		return nil, err
	}
	return &spawner{proc: proc, req: reqW, rep: bufio.NewReaderSize(repR, 64<<10)}, nil
}

// deliver sends every request, message after message, with at most c in flight, each on the
// lowest free delnum, and returns how many reports did not start with K.
func (s *spawner) deliver(host string, messages, rcpts, c int, stderr io.Writer) (int, error) {
	hello, err := s.rep.ReadByte()
	if err != nil {
		return 0, fmt.Errorf("reading the hello byte: %w", err)
	}
	limit := min(c, int(hello))
	var busy [256]bool
	inFlight, next, bad := 0, 0, 0
	total := messages * rcpts
	for next < total || inFlight > 0 {
		if next < total && inFlight < limit {
			d := 0
			for busy[d] {
				d++
			}
			busy[d] = true
			inFlight++
			m, r := next/rcpts, next%rcpts
			wire := fmt.Sprintf("%c0/%d\x00bench@example.org\x00rcpt%d.%d@%s\x00", byte(d), m, m, r, host)
			if _, err := io.WriteString(s.req, wire); err != nil {
				return bad, fmt.Errorf("writing a request: %w", err)
			}
			next++
			continue
		}
		d, text, err := s.report()
		if err != nil {
			return bad, err
		}
		if !busy[d] {
			return bad, fmt.Errorf("report for delnum %d, which has no delivery in flight", d)
		}
		busy[d] = false
		inFlight--
		if !strings.HasPrefix(text, "K") {
			if bad < 3 {
				fmt.Fprintf(stderr, "rsload: bad delivery: %q\n", text)
			}
			bad++
		}
	}
	return bad, nil
}

// report reads one report: delnum, text, NUL.
func (s *spawner) report() (byte, string, error) {
	d, err := s.rep.ReadByte()
	if err != nil {
		return 0, "", fmt.Errorf("reading a report: %w", err)
	}
	var text []byte
	for {
		chunk, err := s.rep.ReadSlice(0)
		text = append(text, chunk...)
		if len(text) > maxReport {
			return 0, "", fmt.Errorf("report for delnum %d longer than %d bytes", d, maxReport)
		}
		if err == nil {
			return d, string(text[:len(text)-1]), nil
		}
		if !errors.Is(err, bufio.ErrBufferFull) {
			return 0, "", fmt.Errorf("report for delnum %d cut short: %w", d, err)
		}
	}
}
