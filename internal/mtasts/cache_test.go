package mtasts

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func mustPolicy(t *testing.T, text string) *Policy {
	t.Helper()
	p, err := ParsePolicy([]byte(text))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// Two Cache values on one directory stand for two processes.
func TestCacheAcrossInstances(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "mta-sts")
	a, b := &Cache{Dir: dir}, &Cache{Dir: dir}
	fetched := time.Date(2026, 11, 30, 8, 0, 0, 0, time.UTC)
	in := &Entry{Domain: "Example.Test", ID: "id1", Fetched: fetched, Expires: fetched.Add(24 * time.Hour), Policy: mustPolicy(t, goodPolicy)}
	if e, err := b.Get("example.test"); e != nil || err != nil {
		t.Fatalf("Get before Put = %+v, %v; want nothing", e, err)
	}
	if err := a.Put(in); err != nil {
		t.Fatal(err)
	}
	got, err := b.Get("EXAMPLE.test.")
	if err != nil || got == nil {
		t.Fatalf("Get = %+v, %v", got, err)
	}
	if got.Domain != "example.test" || got.ID != "id1" || !got.Fetched.Equal(fetched) || !got.Expires.Equal(in.Expires) ||
		!got.Checked.IsZero() || got.Policy.Text() != goodPolicy || got.Policy.Mode != ModeEnforce {
		t.Errorf("Get = %+v, want what was put", got)
	}
	// The second process replaces the entry; the first sees the new one.
	in2 := *in
	in2.ID, in2.Checked = "id2", fetched.Add(time.Hour)
	if err := b.Put(&in2); err != nil {
		t.Fatal(err)
	}
	if got, err := a.Get("example.test"); err != nil || got.ID != "id2" || !got.Checked.Equal(in2.Checked) {
		t.Errorf("Get after the other's Put = %+v, %v", got, err)
	}
	// No temporary files are left behind.
	names, err := os.ReadDir(dir)
	if err != nil || len(names) != 1 || names[0].Name() != "example.test.json" {
		t.Errorf("cache directory holds %v, %v; want example.test.json only", names, err)
	}
}

func TestCacheBrokenEntries(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	c := &Cache{Dir: dir}
	files := map[string]string{
		"garbage.test":  "{not json",
		"other.test":    `{"domain":"elsewhere.test","id":"a","fetched":"2026-11-30T08:00:00Z","expires":"2026-12-01T08:00:00Z","policy":"version: STSv1\nmode: none\nmax_age: 1\n"}`,
		"badpol.test":   `{"domain":"badpol.test","id":"a","fetched":"2026-11-30T08:00:00Z","expires":"2026-12-01T08:00:00Z","policy":"mode: none\n"}`,
		"badid.test":    `{"domain":"badid.test","id":"a-b","fetched":"2026-11-30T08:00:00Z","expires":"2026-12-01T08:00:00Z","policy":"version: STSv1\nmode: none\nmax_age: 1\n"}`,
		"backward.test": `{"domain":"backward.test","id":"a","fetched":"2026-12-30T08:00:00Z","expires":"2026-12-01T08:00:00Z","policy":"version: STSv1\nmode: none\nmax_age: 1\n"}`,
	}
	for domain, content := range files {
		if err := os.WriteFile(filepath.Join(dir, domain+".json"), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		if e, err := c.Get(domain); e != nil || err == nil {
			t.Errorf("Get(%s) = %+v, %v; want an error", domain, e, err)
		}
	}
	if _, err := c.Get("../x"); !errors.Is(err, ErrDomain) {
		t.Errorf("Get(../x) = %v, want ErrDomain", err)
	}
	if err := c.Put(&Entry{Domain: "x.test", ID: "a"}); err == nil {
		t.Error("Put of an entry without a policy succeeded")
	}
}

func TestCachePrune(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	c := &Cache{Dir: dir}
	now := time.Date(2026, 11, 30, 8, 0, 0, 0, time.UTC)
	for domain, expires := range map[string]time.Time{"live.test": now.Add(time.Hour), "dead.test": now.Add(-time.Second), "edge.test": now} {
		if err := c.Put(&Entry{Domain: domain, ID: "a", Fetched: now.Add(-48 * time.Hour), Expires: expires, Policy: mustPolicy(t, goodPolicy)}); err != nil {
			t.Fatal(err)
		}
	}
	for name, content := range map[string]string{"broken.test.json": "{", ".tmp-old": "x", ".tmp-new": "x", "README": "keep"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	old := now.Add(-2 * time.Hour)
	if err := os.Chtimes(filepath.Join(dir, ".tmp-old"), old, old); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(filepath.Join(dir, ".tmp-new"), now, now); err != nil {
		t.Fatal(err)
	}
	if err := c.Prune(now); err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(dir)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if got, want := strings.Join(names, " "), ".tmp-new README live.test.json"; got != want {
		t.Errorf("after Prune: %s, want %s", got, want)
	}
}
