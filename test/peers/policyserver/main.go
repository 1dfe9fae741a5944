// Command policyserver is the MTA-STS policy host of the test peers (test/peers/mtasts.sh): an
// HTTPS server on loopback that serves https://mta-sts.<domain>/.well-known/mta-sts.txt from
// DIR/<domain>.txt, with a certificate from the peers' test CA. A few domains misbehave on
// purpose, by the first label of the domain:
//
//	sts-oversize  a 70 KiB policy (over RFC 8461's 64 KiB)
//	sts-slow      the headers and one line, then nothing for a minute
//	sts-redirect  a 301 to the policy of sts-enforce.insecure.test
//
// It is also a TLS-RPT receiver (RFC 8460 §5.4): a POST to /tlsrpt with Content-Type
// application/tlsrpt+gzip (at most 1 MiB) is stored as REPORTS/<host>-<nanoseconds>.json.gz.
//
// Every request is logged on stderr. It is test equipment, not part of mxout.
package main

import (
	"flag"
	"io"
	"log"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:443", "`ADDRESS` to listen on (RFC 8461 fixes port 443)")
	cert := flag.String("cert", "", "certificate chain `FILE` (PEM)")
	key := flag.String("key", "", "private key `FILE` (PEM)")
	dir := flag.String("dir", "", "`DIR` of policies, one <domain>.txt each")
	reports := flag.String("reports", "", "`DIR` where POSTed TLS-RPT reports are stored")
	flag.Parse()
	if *cert == "" || *key == "" || *dir == "" || *reports == "" {
		flag.Usage()
		os.Exit(64)
	}
	srv := &http.Server{
		Addr:              *listen,
		Handler:           handler(*dir, *reports),
		ReadHeaderTimeout: 10 * time.Second,
	}
	log.Fatal(srv.ListenAndServeTLS(*cert, *key))
}

func handler(dir, reports string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host := strings.ToLower(r.Host)
		if i := strings.LastIndexByte(host, ':'); i >= 0 {
			host = host[:i]
		}
		log.Printf("%s %s %s", r.Method, host, r.URL.Path)
		if r.URL.Path == "/tlsrpt" {
			receive(w, r, host, reports)
			return
		}
		domain, ok := strings.CutPrefix(host, "mta-sts.")
		if !ok || r.URL.Path != "/.well-known/mta-sts.txt" || strings.ContainsAny(domain, "/\\") {
			http.NotFound(w, r)
			return
		}
		label, _, _ := strings.Cut(domain, ".")
		switch label {
		case "sts-oversize":
			w.Header().Set("Content-Type", "text/plain")
			body := "version: STSv1\nmode: enforce\nmx: mx1.insecure.test\nmax_age: 86400\n"
			for len(body) < 70<<10 {
				body += "x-padding: " + strings.Repeat("a", 100) + "\n"
			}
			w.Write([]byte(body))
			return
		case "sts-slow":
			w.Header().Set("Content-Type", "text/plain")
			w.Write([]byte("version: STSv1\n"))
			if f, ok := w.(http.Flusher); ok {
				f.Flush()
			}
			select {
			case <-r.Context().Done():
			case <-time.After(time.Minute):
			}
			return
		case "sts-redirect":
			http.Redirect(w, r, "https://mta-sts.sts-enforce.insecure.test/.well-known/mta-sts.txt", http.StatusMovedPermanently)
			return
		}
		b, err := os.ReadFile(filepath.Join(dir, domain+".txt"))
		if err != nil {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Write(b)
	})
}

// receive stores one POSTed report.
func receive(w http.ResponseWriter, r *http.Request, host, reports string) {
	if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/tlsrpt+gzip" {
		http.Error(w, "want a POST of application/tlsrpt+gzip", http.StatusBadRequest)
		return
	}
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 1<<20))
	if err != nil {
		http.Error(w, err.Error(), http.StatusRequestEntityTooLarge)
		return
	}
	name := filepath.Join(reports, host+"-"+strconv.FormatInt(time.Now().UnixNano(), 10)+".json.gz")
	if err := os.WriteFile(name, b, 0o644); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.WriteHeader(http.StatusCreated)
}
