package downgrade

import (
	"bytes"
	"mime"
	"strings"
)

// foldAt is the line length encoded fields are folded to (RFC 5322 §2.1.1: 78 characters
// SHOULD; RFC 2047 §2: 76 for a line holding encoded-words).
const foldAt = 76

// encodeField rewrites an unstructured field with its 8-bit words as UTF-8 encoded-words
// (RFC 2047 §5 (1)) and folds it. The name keeps its spelling.
//
// The value is unfolded first (RFC 5322 §2.2.3: line endings removed, white space kept). Only
// runs of words with 8-bit bytes are encoded, with the white space inside a run, so that ASCII
// words (among them encoded-words already there) stay as they are and a reader decodes what it
// saw before: white space between an encoded-word and plain text is shown, and white space
// between two encoded-words is not (RFC 2047 §6.2), so a run next to an existing encoded-word
// takes the white space between them inside its encoding. Q encoding is used for mostly ASCII
// runs, B for the rest (wordEncoder).
func encodeField(f []byte, eol string) []byte {
	colon := bytes.IndexByte(f, ':')
	value := bytes.ReplaceAll(f[colon+1:], []byte("\r\n"), nil)
	value = bytes.ReplaceAll(value, []byte("\n"), nil)
	toks := tokens(string(bytes.Trim(value, " \t")))

	// Pieces to join with the white space before each; folding may happen before any of it.
	type piece struct{ ws, text string }
	var out []piece
	for i := 0; i < len(toks); i += 2 { // toks: word, ws, word, ws, ..., word
		if !has8([]byte(toks[i])) {
			out = append(out, piece{ws: sep(toks, i), text: toks[i]})
			continue
		}
		j := i // the run ends at word j: 8-bit words separated by white space only
		for j+2 < len(toks) && has8([]byte(toks[j+2])) {
			j += 2
		}
		run := strings.Join(toks[i:j+1], "")
		ws := sep(toks, i)
		if i > 0 && encodedWord(toks[i-2]) {
			run, ws = ws+run, " "
		}
		if j+2 < len(toks) && encodedWord(toks[j+2]) {
			run += toks[j+1]
			toks[j+1] = " "
		}
		for k, w := range strings.Split(wordEncoder(run).Encode("utf-8", run), " ") {
			if k > 0 {
				ws = " "
			}
			out = append(out, piece{ws: ws, text: w})
		}
		i = j
	}

	var b bytes.Buffer
	b.Write(f[:colon+1])
	line := colon + 1
	for k, p := range out {
		if k == 0 {
			p.ws = " "
		}
		if line+len(p.ws)+len(p.text) > foldAt && line > colon+1 {
			b.WriteString(eol)
			line = 0
		}
		b.WriteString(p.ws)
		b.WriteString(p.text)
		line += len(p.ws) + len(p.text)
	}
	b.WriteString(eol)
	return b.Bytes()
}

// tokens splits a trimmed value into words and the white space between them: word, space,
// word, ..., word.
func tokens(v string) []string {
	var toks []string
	for v != "" {
		i := strings.IndexAny(v, " \t")
		if i < 0 {
			toks = append(toks, v)
			break
		}
		toks = append(toks, v[:i])
		v = v[i:]
		j := len(v) - len(strings.TrimLeft(v, " \t"))
		toks = append(toks, v[:j])
		v = v[j:]
	}
	return toks
}

// sep is the white space before word i.
func sep(toks []string, i int) string {
	if i == 0 {
		return ""
	}
	return toks[i-1]
}

// encodedWord reports a word that looks like an encoded-word (RFC 2047 §2).
func encodedWord(w string) bool {
	return len(w) > 8 && strings.HasPrefix(w, "=?") && strings.HasSuffix(w, "?=") && strings.Count(w, "?") >= 4
}

// wordEncoder picks Q for text at most half 8-bit (accented Latin text, which stays readable),
// B otherwise (Cyrillic, CJK..., where Q would be longer and no more readable).
func wordEncoder(s string) mime.WordEncoder {
	eight := 0
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			eight++
		}
	}
	if eight*2 > len(s) {
		return mime.BEncoding
	}
	return mime.QEncoding
}
