package tlsrptfront

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mxout/mxout/internal/dns"
	"github.com/mxout/mxout/internal/tlsrpt"
)

type fakeTXT map[string][]string

func (f fakeTXT) LookupTXT(_ context.Context, name string) ([]string, dns.Result, error) {
	if name == "_smtp._tls.broken.test" {
		return nil, dns.Result{}, fmt.Errorf("%w: SERVFAIL (fake)", dns.ErrTemporary)
	}
	t, ok := f[name]
	if !ok {
		return nil, dns.Result{}, fmt.Errorf("%w (fake)", dns.ErrNotFound)
	}
	return t, dns.Result{}, nil
}

// mailbox records the messages Sender.Mail was given.
type mailbox struct {
	mu   sync.Mutex
	to   []string
	msgs [][]byte
}

func (m *mailbox) mail(_ context.Context, from, to string, msg []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.to, m.msgs = append(m.to, to), append(m.msgs, msg)
	return nil
}

var day = time.Date(2026, 11, 29, 0, 0, 0, 0, time.UTC)

// store records a success and a failure for each of the domains.
func store(t *testing.T, domains ...string) *tlsrpt.Store {
	s := &tlsrpt.Store{Dir: t.TempDir()}
	for _, d := range domains {
		p := tlsrpt.Policy{Type: tlsrpt.PolicySTS, Domain: d, Strings: []string{"version: STSv1", "mode: testing"}, MXHost: []string{"mx." + d}}
		for _, r := range []tlsrpt.Result{
			{Time: day.Add(time.Hour), Policy: p},
			{Time: day.Add(2 * time.Hour), Policy: p, Failure: &tlsrpt.Failure{ResultType: tlsrpt.StartTLSNotSupported, ReceivingMXHostname: "mx." + d}},
		} {
			if err := s.Add(r); err != nil {
				t.Fatal(err)
			}
		}
	}
	return s
}

// TestSend: a mailto: and an https: rua get the report once; a domain without a record gets
// nothing; a failed TXT lookup counts as a failure to retry; a second run sends nothing again.
func TestSend(t *testing.T) {
	var posts [][]byte
	var ctype string
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		posts, ctype = append(posts, b), r.Header.Get("Content-Type")
	}))
	defer srv.Close()
	box := &mailbox{}
	var log bytes.Buffer
	s := &Sender{
		Store: store(t, "a.test", "b.test", "none.test", "broken.test"),
		DNS: fakeTXT{
			"_smtp._tls.a.test": {"v=TLSRPTv1; rua=mailto:tlsrpt@a.test," + srv.URL + "/report"},
			"_smtp._tls.b.test": {"v=spf1 -all", "v=TLSRPTv1;rua=mailto:reports@b.test"},
		},
		Options: tlsrpt.Options{OrganizationName: "Sender Org", ContactInfo: "postmaster@sender.test", Submitter: "sender.test"},
		From:    "tlsrpt@sender.test",
		Mail:    box.mail,
		HTTP:    srv.Client(),
		SentDir: t.TempDir(),
		Log:     &log,
	}
	failed, err := s.Run(t.Context(), day)
	if err != nil || failed != 1 {
		t.Fatalf("failed %d, err %v; want one failure (broken.test); log:\n%s", failed, err, log.String())
	}
	if strings.Join(box.to, " ") != "tlsrpt@a.test reports@b.test" {
		t.Errorf("mailed to %v", box.to)
	}
	if len(posts) != 1 || ctype != "application/tlsrpt+gzip" {
		t.Fatalf("%d posts, content type %q", len(posts), ctype)
	}
	zr, err := gzip.NewReader(bytes.NewReader(posts[0]))
	if err != nil {
		t.Fatal(err)
	}
	var rep tlsrpt.Report
	if err := json.NewDecoder(zr).Decode(&rep); err != nil {
		t.Fatal(err)
	}
	if len(rep.Policies) != 1 || rep.Policies[0].Policy.Domain != "a.test" || rep.Policies[0].Summary.Successful != 1 || rep.Policies[0].Summary.Failed != 1 {
		t.Errorf("report %+v", rep)
	}
	if !bytes.Contains(box.msgs[0], []byte("TLS-Report-Domain: a.test")) {
		t.Errorf("message:\n%s", box.msgs[0])
	}
	for _, want := range []string{"none.test: no report sent", "broken.test: deferred"} {
		if !strings.Contains(log.String(), want) {
			t.Errorf("log lacks %q:\n%s", want, log.String())
		}
	}

	box.to, posts = nil, nil
	if failed, err := s.Run(t.Context(), day); err != nil || failed != 1 || len(box.to) != 0 || len(posts) != 0 {
		t.Errorf("second run: failed %d, err %v, mailed %v, %d posts; want nothing sent again", failed, err, box.to, len(posts))
	}
}

// TestSendDryRun: the reports are written, nothing is sent.
func TestSendDryRun(t *testing.T) {
	dir := t.TempDir()
	s := &Sender{
		Store:   store(t, "a.test"),
		DNS:     fakeTXT{"_smtp._tls.a.test": {"v=TLSRPTv1; rua=mailto:tlsrpt@a.test"}},
		Options: tlsrpt.Options{OrganizationName: "o", ContactInfo: "c", Submitter: "sender.test"},
		From:    "tlsrpt@sender.test",
		DryRun:  dir,
	}
	if failed, err := s.Run(t.Context(), day); failed != 0 || err != nil {
		t.Fatalf("failed %d, err %v", failed, err)
	}
	names, _ := filepath.Glob(filepath.Join(dir, "*"))
	if len(names) != 2 || !strings.HasSuffix(names[0], ".json.gz") || !strings.HasSuffix(names[1], "!tlsrpt@a.test.eml") {
		t.Errorf("wrote %v", names)
	}
	if _, err := os.Stat(names[0]); err != nil {
		t.Error(err)
	}
}
