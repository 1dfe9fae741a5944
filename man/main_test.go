package main

import (
	"bytes"
	"os"
	"testing"
)

// TestPagesUpToDate: every committed roff page is what its Markdown renders to now.
func TestPagesUpToDate(t *testing.T) {
	pages, err := build(".")
	if err != nil {
		t.Fatal(err)
	}
	if len(pages) < 6 {
		t.Errorf("%d pages; want mxout(1), mxout-deliver(8), mxout-transport(8), mxout-check(1), qmail-remote(8), qmail-rspawn(8)", len(pages))
	}
	for path, want := range pages {
		got, err := os.ReadFile(path)
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("%s is missing or older than %s.md (%v): run `go run ./man`", path, path, err)
		}
		if !bytes.HasPrefix(want, []byte(".nh\n.TH ")) && !bytes.Contains(want, []byte("\n.TH ")) {
			t.Errorf("%s has no .TH title line: the Markdown lacks its title block", path)
		}
	}
}
