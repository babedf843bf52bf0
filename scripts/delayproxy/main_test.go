package main

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"
)

// A round trip through the proxy costs at least twice the delay, reaches the upstream with
// the Host the client sent (so signatures made for the proxy's address verify) and returns
// the body whole.
func TestDelayAndHost(t *testing.T) {
	var host string
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host = r.Host
		body, _ := io.ReadAll(r.Body)
		w.Write(append([]byte("got "), body...))
	}))
	defer up.Close()
	u, _ := url.Parse(up.URL)
	p := httptest.NewServer(newProxy(u, 30*time.Millisecond))
	defer p.Close()
	start := time.Now()
	resp, err := http.Post(p.URL+"/bucket/key", "text/plain", strings.NewReader("part"))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	took := time.Since(start)
	if string(body) != "got part" || host != strings.TrimPrefix(p.URL, "http://") || took < 60*time.Millisecond {
		t.Fatalf("body %q, host %q (want the proxy's), %v (want at least 60 ms)", body, host, took)
	}
}

// -log names each request by method and path only: a presigned URL's query (signature,
// session token) never reaches the log.
func TestLogLeavesOutTheQuery(t *testing.T) {
	var log strings.Builder
	h := logged(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}), &log)
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("PUT", "/bucket/key?X-Amz-Signature=secret&partNumber=1", nil))
	if got := log.String(); got != "PUT /bucket/key\n" {
		t.Fatalf("logged %q", got)
	}
}
