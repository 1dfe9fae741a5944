package smtp

import (
	"strconv"
	"strings"
)

// Extensions are the service extensions a server announced in its EHLO reply (RFC 5321
// §4.1.1.1): keyword in upper case to its parameters as sent. After HELO the set is empty.
type Extensions map[string]string

// parseExtensions reads an EHLO reply: the first line is the greeting, each later line one
// keyword and its parameters (RFC 5321 §4.1.1.1).
func parseExtensions(r Reply) Extensions {
	ext := Extensions{}
	for _, line := range r.Lines[1:] {
		if len(line) < 5 {
			continue
		}
		kw, params, _ := strings.Cut(strings.TrimSpace(line[4:]), " ")
		if kw != "" {
			ext[strings.ToUpper(kw)] = strings.TrimSpace(params)
		}
	}
	return ext
}

// Has reports whether the server announced the keyword (case-insensitive).
func (e Extensions) Has(keyword string) bool {
	_, ok := e[strings.ToUpper(keyword)]
	return ok
}

// MaxSize is the fixed message size limit from the SIZE extension (RFC 1870 §4), or 0 when the
// server announced none (no SIZE, SIZE without a number, or SIZE 0, which means no limit).
func (e Extensions) MaxSize() int64 {
	p, ok := e["SIZE"]
	if !ok {
		return 0
	}
	n, err := strconv.ParseInt(strings.Fields(p + " 0")[0], 10, 64)
	if err != nil || n < 0 {
		return 0
	}
	return n
}
