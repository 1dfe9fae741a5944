package downgrade

import (
	"bytes"
	"io"
	"math/rand"
	"strings"
	"testing"
)

// benchMessages are 1 MB messages: mostly-ASCII 8-bit text (quoted-printable), text plus a
// binary attachment (both encodings), and 7-bit text (copied).
func benchMessages() map[string][]byte {
	line := "Caf\xc3\xa9 cr\xc3\xa8me br\xc3\xbbl\xc3\xa9e, na\xc3\xafve fa\xc3\xa7ade; plain ASCII words fill the rest.\r\n"
	text := strings.Repeat(line, (1<<20)/len(line))
	bin := make([]byte, 512<<10)
	rand.New(rand.NewSource(1)).Read(bin)
	head := "From: a@example.org\r\nTo: b@example.test\r\nSubject: bench\r\nMIME-Version: 1.0\r\n"
	return map[string][]byte{
		"text": []byte(head + "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n" + text),
		"mixed": []byte(head + "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n" +
			text[:512<<10] + "\r\n--b\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: binary\r\n\r\n" +
			string(bin) + "\r\n--b--\r\n"),
		"7bit": []byte(head + "Content-Type: text/plain\r\n\r\n" + strings.Repeat("seven bit text only, nothing to do here, copied as read.\r\n", (1<<20)/58)),
	}
}

func BenchmarkDowngrade(b *testing.B) {
	for _, name := range []string{"text", "mixed", "7bit"} {
		msg := benchMessages()[name]
		b.Run(name, func(b *testing.B) {
			b.SetBytes(int64(len(msg)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Downgrade(io.Discard, bytes.NewReader(msg), Options{}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
