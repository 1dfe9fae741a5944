package cli

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/mxout/mxout/internal/deliver"
	"github.com/mxout/mxout/internal/route"
	"github.com/mxout/mxout/internal/secret"
)

// maxAuthFile bounds the credentials file: it is read whole at start-up.
const maxAuthFile = 1 << 20

// authEntry is one line of the credentials file.
type authEntry struct {
	user     string
	password secret.Secret
}

// AuthFile holds the credentials of --auth-file: lines "KEY USER PASSWORD", blank-separated,
// where KEY is a relay (as the route or -F names it: a host name or an IP address) or a
// destination domain, ".suffix" for its subdomains, "*" for every destination; PASSWORD is the
// rest of the line, so it may hold blanks. Empty lines and lines starting with '#' are skipped.
// A password never goes on the command line, where ps(1) shows it to every user.
type AuthFile struct {
	m map[string]authEntry // lower-cased key
}

// ReadAuthFile reads path. The file must be a regular file that neither its group nor others
// may read or write (as ssh insists for its keys): a mode such as 0600 or 0400. Errors name
// the file and the line, never the line's text.
func ReadAuthFile(path string) (*AuthFile, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	switch {
	case !st.Mode().IsRegular():
		return nil, fmt.Errorf("%s: not a regular file", path)
	case st.Mode().Perm()&0o077 != 0:
		return nil, fmt.Errorf("%s: mode %#o lets other users read or change the passwords; chmod 600 it", path, st.Mode().Perm())
	}
	data, err := io.ReadAll(io.LimitReader(f, maxAuthFile+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxAuthFile {
		return nil, fmt.Errorf("%s: larger than %d bytes", path, maxAuthFile)
	}
	return parseAuthFile(path, data)
}

// parseAuthFile parses the content of a credentials file named name.
func parseAuthFile(name string, data []byte) (*AuthFile, error) {
	a := &AuthFile{m: map[string]authEntry{}}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 4096), maxAuthFile)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(strings.TrimSuffix(sc.Text(), "\r"))
		if line == "" || line[0] == '#' {
			continue
		}
		key, rest, _ := strings.Cut(line, " ")
		if k, r, ok := strings.Cut(line, "\t"); ok && len(k) < len(key) {
			key, rest = k, r
		}
		user, pass, _ := strings.Cut(strings.TrimLeft(rest, " \t"), " ")
		if u, p, ok := strings.Cut(strings.TrimLeft(rest, " \t"), "\t"); ok && len(u) < len(user) {
			user, pass = u, p
		}
		pass = strings.TrimSpace(pass)
		if user == "" || pass == "" || strings.ContainsAny(user, "\t") {
			return nil, fmt.Errorf("%s:%d: want KEY USER PASSWORD", name, n)
		}
		a.m[strings.ToLower(unbracket(key))] = authEntry{user: user, password: secret.New(pass)}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return a, nil
}

// unbracket removes the brackets of an address literal ("[192.0.2.1]").
func unbracket(s string) string {
	if len(s) > 2 && s[0] == '[' && s[len(s)-1] == ']' {
		return strings.TrimPrefix(s[1:len(s)-1], "IPv6:")
	}
	return s
}

// lookup returns the credentials for a route to relay (the route's relay, "" for MX) for
// host: the relay first, then host, its ".suffix"es, then "*".
func (a *AuthFile) lookup(relay, host string) (authEntry, bool) {
	keys := []string{}
	if relay != "" {
		keys = append(keys, strings.ToLower(unbracket(relay)))
	}
	h := strings.ToLower(unbracket(host))
	keys = append(keys, h)
	for i := 0; i < len(h); i++ {
		if h[i] == '.' {
			keys = append(keys, h[i:])
		}
	}
	for _, k := range append(keys, "*") {
		if e, ok := a.m[k]; ok {
			return e, true
		}
	}
	return authEntry{}, false
}

// withAuth gives routes without credentials those of the file.
type withAuth struct {
	inner deliver.Router
	file  *AuthFile
}

func (w withAuth) Lookup(sender, host string) (route.Static, error) {
	rt, err := w.inner.Lookup(sender, host)
	if err != nil || rt.User != "" {
		return rt, err
	}
	relay := rt.Relay
	if rt.MX() {
		relay = ""
	}
	if e, ok := w.file.lookup(relay, host); ok {
		rt.User, rt.Password = e.user, e.password
	}
	return rt, nil
}
