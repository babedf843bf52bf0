// Command delayproxy puts storage a network away for measurements: a reverse proxy that
// waits -delay before forwarding each request and -delay again before returning each
// answer (headers; the body then streams), so every round trip through it costs twice the
// delay. Host headers pass unchanged, so signatures made for the proxy's address verify
// upstream. scripts/compare runs it in a process of its own, so the proxy's work never
// competes with the load it measures on one event loop.
//
//	go run ./scripts/delayproxy -listen 127.0.0.1:9001 -upstream http://127.0.0.1:9000 -delay 10ms
package main

import (
	"flag"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"time"
)

// delayed is a transport that sleeps before the request and before handing back the answer.
type delayed struct {
	next  http.RoundTripper
	delay time.Duration
}

func (d delayed) RoundTrip(r *http.Request) (*http.Response, error) {
	time.Sleep(d.delay)
	resp, err := d.next.RoundTrip(r)
	time.Sleep(d.delay)
	return resp, err
}

// newProxy forwards to upstream, delay each way, the Host header kept.
func newProxy(upstream *url.URL, delay time.Duration) http.Handler {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConnsPerHost = 256
	return &httputil.ReverseProxy{
		Rewrite:       func(pr *httputil.ProxyRequest) { pr.SetURL(upstream); pr.Out.Host = pr.In.Host },
		Transport:     delayed{t, delay},
		FlushInterval: -1,
	}
}

// logged writes one line per request to w: method and path, never the query (a presigned
// URL's signature and session token are in it), so a run can count storage requests.
func logged(h http.Handler, w io.Writer) http.Handler {
	return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "%s %s\n", r.Method, r.URL.Path)
		h.ServeHTTP(rw, r)
	})
}

func main() {
	listen := flag.String("listen", "127.0.0.1:0", "address to listen on")
	upstream := flag.String("upstream", "", "the storage server's base URL")
	delay := flag.Duration("delay", 10*time.Millisecond, "each way")
	logRequests := flag.Bool("log", false, "write each request's method and path to stderr")
	flag.Parse()
	u, err := url.Parse(*upstream)
	if err != nil || u.Host == "" {
		log.Fatal("-upstream: a URL like http://127.0.0.1:9000")
	}
	h := newProxy(u, *delay)
	if *logRequests {
		h = logged(h, os.Stderr)
	}
	log.Fatal(http.ListenAndServe(*listen, h))
}
