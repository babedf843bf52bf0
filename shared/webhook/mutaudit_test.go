package webhook

import (
	"context"
	"net"
	"os"
	"os/exec"
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
