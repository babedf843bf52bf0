package webhook

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"
)

func TestSignVerify(t *testing.T) {
	secret, body := []byte("s3cret"), []byte(`{"a":1}`)
	now := time.Unix(1_800_000_000, 0)
	h := Sign(secret, body, now)
	tests := []struct {
		name   string
		secret []byte
		body   []byte
		header string
		at     time.Time
		ok     bool
	}{
		{"genuine", secret, body, h, now.Add(time.Minute), true},
		{"too old", secret, body, h, now.Add(10 * time.Minute), false},
		{"other body", secret, []byte(`{"a":2}`), h, now, false},
		{"other secret", []byte("other"), body, h, now, false},
		{"no signature", secret, body, "t=1800000000", now, false},
		{"garbage", secret, body, "v1=,t=x", now, false},
	}
	for _, tt := range tests {
		if got := Verify(tt.secret, tt.body, tt.header, tt.at, 5*time.Minute); got != tt.ok {
			t.Errorf("%s: Verify = %v, want %v", tt.name, got, tt.ok)
		}
	}
}

// A target keeps its connections: posts after the first reuse one (a hook asked at every
// initiate pays no new handshake), and each post is still bounded by its timeout.
func TestTargetKeepsConnections(t *testing.T) {
	var conns atomic.Int32
	slow := make(chan struct{})
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			<-slow
		}
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	defer srv.Close()
	defer close(slow)
	target := &Target{Secret: []byte("s")}
	for i := 0; i < 5; i++ {
		if a, err := target.Post(context.Background(), srv.URL+"/ok", []byte("{}"), time.Second); err != nil || a.Status != 200 {
			t.Fatalf("post %d: %v", i, err)
		}
	}
	if n := conns.Load(); n != 1 {
		t.Fatalf("5 posts opened %d connections, want 1", n)
	}
	start := time.Now()
	if _, err := target.Post(context.Background(), srv.URL+"/slow", []byte("{}"), 200*time.Millisecond); err == nil || time.Since(start) > 2*time.Second {
		t.Fatalf("a hung endpoint: %v after %v", err, time.Since(start))
	}
}
