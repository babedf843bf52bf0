package webhook

import (
	"bytes"
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// A receiver's check (README: webhook.Verify with 5 minutes) refuses a signature dated
// beyond the window either way: ten minutes ahead of the receiver's clock is refused as
// ten minutes behind is. Kills: Verify's `.Abs()` dropped (future dates then passed).
func TestMutauditVerifyRefusesFutureDates(t *testing.T) {
	secret, body := []byte("s3cret"), []byte(`{"a":1}`)
	now := time.Unix(1_800_000_000, 0)
	for _, d := range []time.Duration{10 * time.Minute, -10 * time.Minute} {
		if Verify(secret, body, Sign(secret, body, now.Add(d)), now, 5*time.Minute) {
			t.Errorf("a signature dated %v from now verified", d)
		}
	}
	if !Verify(secret, body, Sign(secret, body, now.Add(4*time.Minute)), now, 5*time.Minute) {
		t.Error("a signature within the window did not verify")
	}
}

// Posts never go through a proxy from the environment (HTTPS_PROXY): a proxy dials for
// the client, so the address check on the dial would never see the target. Run in a child
// process, since net/http reads the proxy settings once per process. Kills: client()'s
// `transport.Proxy = nil` dropped.
func TestMutauditPostsIgnoreEnvironmentProxies(t *testing.T) {
	if os.Getenv("MUTAUDIT_PROXY_CHILD") != "" {
		(&Target{Secret: []byte("s3cret")}).Post(context.Background(), "https://93.184.215.14/hook", []byte(`{}`), 500*time.Millisecond)
		return
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var proxied atomic.Int32
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			proxied.Add(1)
			c.Close()
		}
	}()
	cmd := exec.Command(os.Args[0], "-test.run=^TestMutauditPostsIgnoreEnvironmentProxies$")
	cmd.Env = append(os.Environ(), "MUTAUDIT_PROXY_CHILD=1", "HTTPS_PROXY=http://"+ln.Addr().String(), "https_proxy=http://"+ln.Addr().String(), "NO_PROXY=", "no_proxy=")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	if n := proxied.Load(); n != 0 {
		t.Errorf("a post went through the environment's proxy (%d connections)", n)
	}
}

// Post checks its target itself, whatever its caller checked: a cleartext URL to a
// public address, or one over 2,048 bytes, is ErrInvalidURL and nothing is sent. Kills:
// post's `t.Check(target)` dropped; Check's `len(raw) > 2048` dropped.
func TestMutauditPostChecksItsTarget(t *testing.T) {
	var sent atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { sent.Add(1) }))
	defer srv.Close()
	tg := &Target{Secret: []byte("s3cret"), Client: srv.Client()}
	long := srv.URL + "/" + strings.Repeat("a", 2048)
	for _, u := range []string{"http://93.184.215.14/hook", long} {
		_, err := tg.Post(context.Background(), u, []byte(`{}`), time.Second)
		if !errors.Is(err, ErrInvalidURL) {
			t.Errorf("%.40s…: %v; want ErrInvalidURL", u, err)
		}
	}
	if n := sent.Load(); n != 0 {
		t.Errorf("%d requests sent to refused targets", n)
	}
	if _, err := tg.Post(context.Background(), srv.URL+"/ok", []byte(`{}`), time.Second); err != nil || sent.Load() != 1 {
		t.Errorf("a loopback target: %v", err)
	}
}

// An answer is read up to 64 KiB: a hook or callback answering more cannot make the
// function hold it. Kills: post's io.LimitReader dropped.
func TestMutauditAnswersAreBounded(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Write(bytes.Repeat([]byte("x"), 1<<20))
	}))
	defer srv.Close()
	a, err := (&Target{Secret: []byte("s3cret")}).Post(context.Background(), srv.URL, []byte(`{}`), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if len(a.Body) != 64<<10 {
		t.Errorf("read %d bytes of a 1 MiB answer; want 64 KiB", len(a.Body))
	}
}
