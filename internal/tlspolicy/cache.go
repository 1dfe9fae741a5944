package tlspolicy

import (
	"os"
	"strconv"
	"strings"
	"sync"
)

// maxCached bounds the file cache. Control files name a handful of CA sets
// and client certificates; past the bound the cache starts afresh.
const maxCached = 64

// FileCache keeps what was loaded from files, keyed by what was asked for,
// and reloads when a file's size or modification time changed, so a
// renewed certificate is picked up without a restart while a Decide per hop
// in a long-running process costs a stat, not a read and parse. Failures are
// not cached: a fixed file works at the next Decide. Safe for concurrent use.
type FileCache struct {
	mu sync.Mutex
	m  map[string]cacheEntry
}

type cacheEntry struct {
	stamp string
	val   any
}

// NewFileCache returns an empty cache. The caller keeps it for as long as decisions should
// share loaded files (the engine: for its life) and hands it to Decide in Input.Files; there is
// no package-level cache, so nothing is kept behind a caller's back.
func NewFileCache() *FileCache { return &FileCache{m: make(map[string]cacheEntry)} }

// get returns the value cached under key if stamp is unchanged, else the
// result of load, caching it on success. load runs without the lock held,
// so two goroutines may load the same files at once; both results are
// equal, and the later one stays.
func (c *FileCache) get(key, stamp string, load func() (any, error)) (any, error) {
	if c == nil {
		return load() // no cache: every decision loads its files
	}
	c.mu.Lock()
	e, ok := c.m[key]
	c.mu.Unlock()
	if ok && stamp != "" && e.stamp == stamp {
		return e.val, nil
	}
	v, err := load()
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	if len(c.m) >= maxCached {
		c.m = make(map[string]cacheEntry)
	}
	c.m[key] = cacheEntry{stamp: stamp, val: v}
	c.mu.Unlock()
	return v, nil
}

// fileStamp describes the files by name, size and modification time
// (following symbolic links); "" when one cannot be examined, which makes
// get load (and fail) again.
func fileStamp(paths ...string) string {
	var b strings.Builder
	for _, p := range paths {
		if p == "" {
			continue
		}
		fi, err := os.Stat(p)
		if err != nil {
			return ""
		}
		b.WriteString(p)
		b.WriteByte(0)
		b.WriteString(strconv.FormatInt(fi.Size(), 10))
		b.WriteByte(0)
		b.WriteString(strconv.FormatInt(fi.ModTime().UnixNano(), 10))
		b.WriteByte(0)
	}
	return b.String()
}
