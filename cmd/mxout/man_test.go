package main

import (
	"bytes"
	"flag"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/mxout/mxout/internal/deliverfront"
)

// flagsOf lists the flags a command registers, from its --help (flag.PrintDefaults prints every
// flag of its FlagSet, one "  -name" line each).
func flagsOf(t *testing.T, cmd string) []string {
	t.Helper()
	var out, errOut bytes.Buffer
	if code := run([]string{cmd, "--help"}, strings.NewReader(""), &out, &errOut); code != 0 {
		t.Fatalf("mxout %s --help: exit %d", cmd, code)
	}
	help := out.String() + errOut.String()
	i := regexp.MustCompile(`(?mi)^flags:$`).FindStringIndex(help)
	if i == nil {
		t.Fatalf("mxout %s --help has no \"flags:\" line before the flags", cmd)
	}
	defaults := help[i[1]:]
	var names []string
	for _, m := range regexp.MustCompile(`(?m)^  -(\S+)`).FindAllStringSubmatch(defaults, -1) {
		names = append(names, m[1])
	}
	if len(names) == 0 {
		t.Fatalf("mxout %s --help lists no flags", cmd)
	}
	return names
}

// TestManualsListEveryFlag: every flag that mxout deliver, transport and check register appears
// in the command's manual page, as **-x** or **--name**, and every page exists.
func TestManualsListEveryFlag(t *testing.T) {
	for cmd, page := range map[string]string{
		"deliver":   "../../man/mxout-deliver.8.md",
		"transport": "../../man/mxout-transport.8.md",
		"check":     "../../man/mxout-check.1.md",
	} {
		md, err := os.ReadFile(page)
		if err != nil {
			t.Fatal(err)
		}
		for _, name := range flagsOf(t, cmd) {
			dash := "-"
			if len(name) > 1 {
				dash = "--"
			}
			if !bytes.Contains(md, []byte("**"+dash+name+"**")) {
				t.Errorf("%s: flag %s%s of mxout %s is not described", page, dash, name, cmd)
			}
		}
	}
	for _, p := range []string{"mxout.1", "mxout-deliver.8", "mxout-transport.8", "mxout-check.1", "qmail-remote.8", "qmail-rspawn.8"} {
		if _, err := os.Stat("../../man/" + p); err != nil {
			t.Errorf("manual page %s: %v (run `go run ./man`)", p, err)
		}
	}
}

// TestDeliverFlagSetWalk: the deliver FlagSet itself, walked, agrees with the help text the test
// above reads, so that a flag hidden from --help could not slip past it.
func TestDeliverFlagSetWalk(t *testing.T) {
	fs, _, _ := deliverfront.NewFlagSet(&bytes.Buffer{})
	var walked []string
	fs.VisitAll(func(f *flag.Flag) { walked = append(walked, f.Name) })
	if got := flagsOf(t, "deliver"); strings.Join(got, " ") != strings.Join(walked, " ") {
		t.Errorf("--help lists %v; the FlagSet has %v", got, walked)
	}
}

// TestHelpListsDeliver: mxout help names the deliver command.
func TestHelpListsDeliver(t *testing.T) {
	var out bytes.Buffer
	if run([]string{"help"}, nil, &out, &out) != 0 || !strings.Contains(out.String(), "\n  deliver ") {
		t.Errorf("mxout help:\n%s", out.String())
	}
}
