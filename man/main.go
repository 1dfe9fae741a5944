// Command man builds mxout's manual pages: every NAME.SECTION.md in this directory (Markdown,
// the source) becomes NAME.SECTION (roff) beside it, with github.com/cpuguy83/go-md2man, the
// converter Docker and many Go projects keep their manuals with. Run it from the repository:
//
//	go run ./man
//
// The roff pages are committed, so installing them needs neither Go nor make (README.md);
// TestPagesUpToDate fails when a page was not rebuilt after its Markdown changed.
package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/cpuguy83/go-md2man/v2/md2man"
)

func main() {
	dir := "man"
	if len(os.Args) > 1 {
		dir = os.Args[1]
	}
	pages, err := build(dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, "man:", err)
		os.Exit(1)
	}
	for out, roff := range pages {
		if err := os.WriteFile(out, roff, 0o644); err != nil {
			fmt.Fprintln(os.Stderr, "man:", err)
			os.Exit(1)
		}
		fmt.Println(out)
	}
}

// build renders every page source of dir: the roff page's path to its text.
func build(dir string) (map[string][]byte, error) {
	srcs, err := filepath.Glob(filepath.Join(dir, "*.[0-9].md"))
	if err != nil {
		return nil, err
	}
	if len(srcs) == 0 {
		return nil, fmt.Errorf("no NAME.SECTION.md pages in %s (run from the repository root)", dir)
	}
	pages := map[string][]byte{}
	for _, src := range srcs {
		md, err := os.ReadFile(src)
		if err != nil {
			return nil, err
		}
		pages[strings.TrimSuffix(src, ".md")] = md2man.Render(md)
	}
	return pages, nil
}
