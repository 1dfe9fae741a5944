package mtasts

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// maxEntrySize bounds a cache file: a policy of MaxPolicySize bytes escaped into JSON (at most
// six bytes per byte) plus the other fields. A larger file is not read.
const maxEntrySize = 6*MaxPolicySize + 4096

// Entry is one cached policy.
type Entry struct {
	Domain  string    // the policy domain, lower-case ASCII
	ID      string    // the id of the TXT record the policy was fetched for
	Fetched time.Time // when the policy was fetched
	Expires time.Time // Fetched plus the policy's max_age: not used from this instant on
	// Checked is when a process last began a refresh; processes that see a recent Checked
	// leave the refresh to that one. Zero when no refresh was tried since Fetched.
	Checked time.Time
	Policy  *Policy
}

// entryFile is the JSON form of an Entry on disk. The policy is kept as served and parsed again
// on every read, so a file edited by hand or written by an older mxout is held to today's
// parser.
type entryFile struct {
	Domain  string    `json:"domain"`
	ID      string    `json:"id"`
	Fetched time.Time `json:"fetched"`
	Expires time.Time `json:"expires"`
	Checked time.Time `json:"checked,omitzero"`
	Policy  string    `json:"policy"`
}

// Cache keeps policies on disk, one file per domain ("<domain>.json") in Dir, shared by every
// mxout process on the machine (qmail-remote runs once per delivery, so memory alone would
// forget every policy at once).
//
// Why no locks: every write is a new file renamed over the old one, which is atomic on POSIX
// file systems, so a reader sees the old entry or the new one, never a mix. Two processes that
// fetch at once both write a valid entry and the last rename wins. The price: a process that
// fetched an older policy can rename it over a newer one; the next Get sees that the TXT id
// differs and fetches again. Entries are small, and a lock held across a fetch of up to a
// minute would stall every other delivery to the domain.
//
// A Cache is safe for concurrent use, within and across processes.
type Cache struct {
	Dir string // created on the first Put, mode 0755
}

// path returns the file of domain, which must come from normalizeDomain (no '/', no "..").
func (c *Cache) path(domain string) string {
	return filepath.Join(c.Dir, domain+".json")
}

// Get returns the entry of domain, or nil and a nil error when there is none. An entry that
// cannot be read or parsed, or that names another domain, is an error; the caller treats it as
// absent (and a Put replaces it). Expired entries are returned as well: the caller decides.
func (c *Cache) Get(domain string) (*Entry, error) {
	d, err := normalizeDomain(domain)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(c.path(d))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("mtasts: cache: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxEntrySize+1))
	if err != nil {
		return nil, fmt.Errorf("mtasts: cache: %w", err)
	}
	if len(b) > maxEntrySize {
		return nil, fmt.Errorf("mtasts: cache: %s: larger than %d bytes", f.Name(), maxEntrySize)
	}
	var ef entryFile
	if err := json.Unmarshal(b, &ef); err != nil {
		return nil, fmt.Errorf("mtasts: cache: %s: %w", f.Name(), err)
	}
	if ef.Domain != d || !validID(ef.ID) || ef.Expires.Before(ef.Fetched) {
		return nil, fmt.Errorf("mtasts: cache: %s: inconsistent entry", f.Name())
	}
	p, err := ParsePolicy([]byte(ef.Policy))
	if err != nil {
		return nil, fmt.Errorf("mtasts: cache: %s: %w", f.Name(), err)
	}
	return &Entry{Domain: d, ID: ef.ID, Fetched: ef.Fetched, Expires: ef.Expires, Checked: ef.Checked, Policy: p}, nil
}

// Put writes e, replacing the entry of e.Domain atomically: a temporary file in Dir, synced,
// then renamed over the old one.
func (c *Cache) Put(e *Entry) error {
	d, err := normalizeDomain(e.Domain)
	if err != nil {
		return err
	}
	if e.Policy == nil || !validID(e.ID) {
		return fmt.Errorf("mtasts: cache: entry for %s without a policy or a valid id", d)
	}
	b, err := json.Marshal(entryFile{
		Domain: d, ID: e.ID, Fetched: e.Fetched.UTC(), Expires: e.Expires.UTC(), Checked: e.Checked.UTC(), Policy: e.Policy.text,
	})
	if err != nil {
		return fmt.Errorf("mtasts: cache: %w", err)
	}
	if err := os.MkdirAll(c.Dir, 0o755); err != nil {
		return fmt.Errorf("mtasts: cache: %w", err)
	}
	return writeAtomic(c.path(d), b)
}

// writeAtomic writes b to a temporary file next to path and renames it to path.
func writeAtomic(path string, b []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tmp-*")
	if err != nil {
		return fmt.Errorf("mtasts: cache: %w", err)
	}
	_, werr := tmp.Write(b)
	if werr == nil {
		werr = tmp.Sync()
	}
	cerr := tmp.Close()
	if werr == nil {
		werr = cerr
	}
	if werr == nil {
		werr = os.Chmod(tmp.Name(), 0o644)
	}
	if werr == nil {
		werr = os.Rename(tmp.Name(), path)
	}
	if werr != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("mtasts: cache: writing %s: %w", path, werr)
	}
	return nil
}

// Prune removes the entries that expired before now, and entries that cannot be read, so
// that the directory holds at most one file per domain still under a policy. Temporary files
// older than an hour (left by a process killed between write and rename) go as well.
func (c *Cache) Prune(now time.Time) error {
	entries, err := os.ReadDir(c.Dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("mtasts: cache: %w", err)
	}
	for _, de := range entries {
		name := de.Name()
		path := filepath.Join(c.Dir, name)
		switch domain, ok := strings.CutSuffix(name, ".json"); {
		case strings.HasPrefix(name, ".tmp-"):
			if info, err := de.Info(); err == nil && now.Sub(info.ModTime()) > time.Hour {
				os.Remove(path)
			}
		case ok && de.Type().IsRegular():
			e, err := c.Get(domain)
			if err != nil || e == nil || !now.Before(e.Expires) {
				if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
					return fmt.Errorf("mtasts: cache: %w", err)
				}
			}
		}
	}
	return nil
}
