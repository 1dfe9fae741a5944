package transport

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mxout/mxout/internal/deliver"
	"github.com/mxout/mxout/internal/outcome"
	"github.com/mxout/mxout/internal/smtp"
)

// fakePool delivers by a rule per recipient and records the groups it was given.
type fakePool struct {
	mu     sync.Mutex
	groups []string
	block  chan struct{} // when set, every delivery waits for it
}

func (f *fakePool) Deliver(ctx context.Context, job *deliver.Job) *deliver.Result {
	if f.block != nil {
		<-f.block
	}
	f.mu.Lock()
	f.groups = append(f.groups, job.Host+":"+strings.Join(job.Recipients, ","))
	f.mu.Unlock()
	res := &deliver.Result{Recipients: make([]outcome.Outcome, len(job.Recipients))}
	body, _ := io.ReadAll(job.Message.Open())
	for i, r := range job.Recipients {
		switch {
		case strings.HasPrefix(r, "bad"):
			res.Recipients[i] = outcome.FromReply(smtp.PhaseRcpt, smtp.Reply{Code: 550, Lines: []string{"550 5.1.1 no"}}, nil)
		default:
			res.Recipients[i] = outcome.FromReply(smtp.PhaseDot, smtp.Reply{Code: 250, Lines: []string{fmt.Sprintf("250 ok %d bytes", len(body))}}, nil)
		}
	}
	return res
}

func msgFile(t *testing.T, text string) string {
	p := filepath.Join(t.TempDir(), "msg")
	if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func sortedLines(s string) []string {
	l := strings.Split(strings.TrimSuffix(s, "\n"), "\n")
	sort.Strings(l)
	return l
}

// TestRunGroupsAndStatuses: one status line per recipient of every job, recipients grouped by
// domain, bad lines and missing files reported, and the run goes on.
func TestRunGroupsAndStatuses(t *testing.T) {
	f := msgFile(t, "Subject: x\n\nhi\n")
	in := fmt.Sprintf(`{"id":"a","sender":"s@x","recipients":["u@one.test","bad@two.test","v@ONE.test","nodomain"],"file":%q}
garbage
{"id":"b","sender":"s@x","recipients":["w@three.test"],"file":"/nonexistent/mxout/msg"}
{"id":"c","sender":"s@x","recipients":["w@three.test"],"file":%q,"host":"[192.0.2.1]"}
`, f, f)
	fp := &fakePool{}
	var out bytes.Buffer
	r := &Runner{Pool: fp, Out: &out}
	sum := r.Run(t.Context(), t.Context(), strings.NewReader(in))
	got := sortedLines(out.String())
	want := []string{
		"-\t-\terror\t5.6.0\tmalformed job on line 2: not JSON (at byte 1)",
		"a\tbad@two.test\terror\t5.1.1\tRCPT TO: 550 5.1.1 no",
		"a\tnodomain\terror\t5.1.3\tthe recipient has no domain to deliver to",
		"a\tu@one.test\tok\t2.0.0\tend of data: 250 ok 15 bytes",
		"a\tv@ONE.test\tok\t2.0.0\tend of data: 250 ok 15 bytes",
		"b\tw@three.test\terror\t5.3.0\tcannot open the message file: open /nonexistent/mxout/msg: no such file or directory",
		"c\tw@three.test\tok\t2.0.0\tend of data: 250 ok 15 bytes",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("statuses:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	sort.Strings(fp.groups)
	if g := strings.Join(fp.groups, " "); g != "[192.0.2.1]:w@three.test one.test:u@one.test,v@ONE.test two.test:bad@two.test" {
		t.Errorf("groups %s", g)
	}
	if sum.Jobs != 4 || sum.Recipients != 7 || sum.Delivered != 3 || sum.Failed != 4 || sum.Interrupted {
		t.Errorf("summary %+v", sum)
	}
}

func TestRunJSON(t *testing.T) {
	f := msgFile(t, "x\n")
	var out bytes.Buffer
	r := &Runner{Pool: &fakePool{}, Out: &out, JSON: true}
	r.Run(t.Context(), t.Context(), strings.NewReader(fmt.Sprintf(`{"id":"q","recipients":["a@x.test","bad@x.test"],"file":%q}`, f)))
	var obj struct {
		ID         string `json:"id"`
		Status     string `json:"status"`
		Recipients []struct {
			Address, Status, DSN string
		} `json:"recipients"`
	}
	if err := json.Unmarshal(out.Bytes(), &obj); err != nil {
		t.Fatalf("%v: %s", err, out.String())
	}
	if obj.ID != "q" || obj.Status != "partial" || len(obj.Recipients) != 2 || obj.Recipients[1].DSN != "5.1.1" {
		t.Errorf("JSON %s", out.String())
	}
}

// TestRunStop: after the stop, jobs read but not started are deferred 4.3.2, the ones in flight
// finish with their real outcome, and nothing is lost.
func TestRunStop(t *testing.T) {
	f := msgFile(t, "x\n")
	fp := &fakePool{block: make(chan struct{})}
	pr, pw := io.Pipe()
	var out syncBuffer
	r := &Runner{Pool: fp, Out: &out, MaxJobs: 1}
	stop, cancel := context.WithCancel(context.Background())
	done := make(chan Summary)
	go func() { done <- r.Run(context.Background(), stop, pr) }()
	fmt.Fprintf(pw, `{"id":"first","recipients":["a@x.test"],"file":%q}`+"\n", f)
	fmt.Fprintf(pw, `{"id":"second","recipients":["b@x.test"],"file":%q}`+"\n", f)
	time.Sleep(50 * time.Millisecond) // first is in flight, second waits for a slot
	cancel()
	time.Sleep(20 * time.Millisecond)
	close(fp.block)
	sum := <-done
	pw.Close()
	got := sortedLines(out.String())
	if len(got) != 2 || !strings.HasPrefix(got[0], "first\ta@x.test\tok\t") ||
		!strings.HasPrefix(got[1], "second\tb@x.test\tdeferred\t4.3.2\t") || !sum.Interrupted {
		t.Errorf("after stop: %q, %+v", got, sum)
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
