package qmailctl

import (
	"errors"
	"fmt"
	"math"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Defaults of qmail-remote's timeouts, in seconds.
const (
	defaultTimeoutConnect = 60
	defaultTimeoutRemote  = 1200
)

// maxTimeoutSeconds caps a configured timeout. qmail keeps it in a C int; a
// cap at the largest 32-bit int (about 68 years) keeps every value that C
// could hold and cannot overflow a time.Duration.
const maxTimeoutSeconds = math.MaxInt32

// Config is the typed content of $QMAILHOME/control as qmail-remote uses it.
// Load fills every field; the pointers are never nil. A Config is read-only
// after Load and safe for concurrent use.
type Config struct {
	Me, HeloHost    string           // HeloHost defaults to Me
	TimeoutConnect  time.Duration    // control/timeoutconnect, default 60s
	TimeoutRemote   time.Duration    // control/timeoutremote, default 1200s
	SMTPRoutes      *Routes          // control/smtproutes alone (netqmail and s/qmail grammar); never nil
	Routing         *Routing         // smtproutes, qmtproutes, authsenders, domainips in s/qmail's order; never nil
	MoreIPMe        []netip.Prefix   // control/moreipme: addresses that also count as this machine
	NotIPMe         []netip.Prefix   // control/notipme: addresses that do NOT count as this machine
	TLSDestinations *TLSDestinations // control/tlsdestinations (s/qmail 4.3); never nil (empty = defaults)
	DomainCerts     *DomainCerts     // control/domaincerts (s/qmail); never nil
	Auth            *AuthPolicy      // control/authinclear and control/authmechanisms (mxout); never nil
}

// Load reads home+"/control/...". It returns an error wrapping ErrHome when
// home is missing, not a directory or not searchable, and a *FileError
// (wrapping ErrControl) when a control file exists but cannot be read or
// parsed, or when neither me nor helohost exists. Absent files give their
// defaults. Load reads only small files and keeps no state between calls.
func Load(home string) (*Config, error) {
	// Stat of "home/." fails unless home exists, is a directory and may be
	// searched: the conditions of qmail-remote's chdir.
	if home == "" {
		return nil, fmt.Errorf("%w: empty path", ErrHome)
	}
	if _, err := os.Stat(home + string(filepath.Separator) + "."); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrHome, err)
	}
	return load(filepath.Join(home, "control"), true)
}

// LoadDir reads the control files of dir itself, for mxout's own commands (-C DIR): the same
// files and grammars as Load, but me and helohost may both be absent (HeloHost is then "", and
// the caller picks a name).
func LoadDir(dir string) (*Config, error) {
	if _, err := os.Stat(dir + string(filepath.Separator) + "."); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrHome, err)
	}
	return load(dir, false)
}

func load(dir string, needName bool) (*Config, error) {
	c := &Config{}
	var err error
	if err = c.loadNames(dir); err != nil && needName {
		return nil, err
	}
	var fe *FileError
	if err != nil && !(errors.As(err, &fe) && fe.File == "helohost") {
		return nil, err
	}
	if c.TimeoutRemote, err = readTimeout(dir, "timeoutremote", defaultTimeoutRemote); err != nil {
		return nil, err
	}
	if c.TimeoutConnect, err = readTimeout(dir, "timeoutconnect", defaultTimeoutConnect); err != nil {
		return nil, err
	}
	if err = c.loadTables(dir); err != nil {
		return nil, err
	}
	return c, nil
}

// loadNames reads me and helohost. helohost defaults to me; both absent is
// an error. An existing empty helohost stays "" (reference behaviour).
func (c *Config) loadNames(dir string) error {
	me, meOK, err := readFile(dir, "me")
	if err != nil {
		return err
	}
	helo, heloOK, err := readFile(dir, "helohost")
	if err != nil {
		return err
	}
	c.Me = firstLine(me)
	switch {
	case heloOK:
		c.HeloHost = firstLine(helo)
	case meOK:
		c.HeloHost = c.Me
	default:
		return &FileError{File: "helohost", Reason: "neither me nor helohost exists"}
	}
	return nil
}

// loadTables reads the multi-line files.
func (c *Config) loadTables(dir string) error {
	var err error
	if c.Routing, err = loadRouting(dir); err != nil {
		return err
	}
	c.SMTPRoutes = c.Routing.smtp
	if c.MoreIPMe, err = readPrefixes(dir, "moreipme"); err != nil {
		return err
	}
	if c.NotIPMe, err = readPrefixes(dir, "notipme"); err != nil {
		return err
	}
	lines, err := readLines(dir, "tlsdestinations")
	if err != nil {
		return err
	}
	if c.TLSDestinations, err = parseTLSDestinations(lines); err != nil {
		return err
	}
	if lines, err = readLines(dir, "domaincerts"); err != nil {
		return err
	}
	if c.DomainCerts, err = parseDomainCerts(lines); err != nil {
		return err
	}
	inClear, err := readLines(dir, "authinclear")
	if err != nil {
		return err
	}
	mechs, err := readLines(dir, "authmechanisms")
	if err != nil {
		return err
	}
	c.Auth = parseAuthPolicy(inClear, mechs)
	return nil
}

// loadRouting reads the four routing files; each may be absent.
func loadRouting(dir string) (*Routing, error) {
	r := &Routing{}
	for _, t := range []struct {
		f   routeFile
		dst **Routes
	}{
		{smtpRoutesFile, &r.smtp},
		{qmtpRoutesFile, &r.qmtp},
		{authSendersFile, &r.auth},
	} {
		lines, err := readLines(dir, t.f.name)
		if err != nil {
			return nil, err
		}
		if *t.dst, err = t.f.parse(lines); err != nil {
			return nil, err
		}
	}
	lines, err := readLines(dir, "domainips")
	if err != nil {
		return nil, err
	}
	if r.ips, err = parseDomainIPs(lines); err != nil {
		return nil, err
	}
	return r, nil
}

// readTimeout is control_readint: the leading decimal digits of the first
// line, in seconds. An absent file or a first line without a leading digit
// gives def; 0 stays 0; values above maxTimeoutSeconds are capped.
func readTimeout(dir, name string, def int64) (time.Duration, error) {
	data, ok, err := readFile(dir, name)
	if err != nil {
		return 0, err
	}
	n, ok := scanSeconds(firstLine(data), ok)
	if !ok {
		n = def
	}
	return time.Duration(n) * time.Second, nil
}

// scanSeconds returns the leading digits of s, capped at maxTimeoutSeconds;
// ok is false when present is false or s starts with no digit.
func scanSeconds(s string, present bool) (int64, bool) {
	if !present || s == "" || s[0] < '0' || s[0] > '9' {
		return 0, false
	}
	var n int64
	for i := 0; i < len(s) && '0' <= s[i] && s[i] <= '9'; i++ {
		n = n*10 + int64(s[i]-'0')
		if n > maxTimeoutSeconds {
			return maxTimeoutSeconds, true
		}
	}
	return n, true
}

// readPrefixes reads moreipme or notipme: one IP address or CIDR prefix per
// line. Leading blanks are ignored (they cannot be meant); anything else
// that does not parse is a *FileError naming the line.
func readPrefixes(dir, name string) ([]netip.Prefix, error) {
	lines, err := readLines(dir, name)
	if err != nil {
		return nil, err
	}
	var out []netip.Prefix
	for _, l := range lines {
		p, err := parsePrefix(strings.TrimLeft(l.text, " \t"))
		if err != nil {
			return nil, &FileError{File: name, Line: l.n, Reason: "bad address or prefix", Err: err}
		}
		out = append(out, p)
	}
	return out, nil
}

// parsePrefix accepts "127.0.0.1", "::1" and "127.0.0.0/8"; a prefix is
// masked ("10.1.2.3/8" is 10.0.0.0/8), an address is a full-length prefix.
func parsePrefix(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, err
		}
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	if a.Zone() != "" {
		return netip.Prefix{}, errors.New("qmailctl: zone not allowed")
	}
	return netip.PrefixFrom(a, a.BitLen()), nil
}
