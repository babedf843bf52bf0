package webhook

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Every address of the IANA special-purpose registries is refused but loopback (and the
// private ranges when the hosts are pinned), both by Check (the URL as configured or
// sent) and by the dialer (every address a name resolves to, here dialled directly).
func TestAddresses(t *testing.T) {
	open := &Target{Secret: []byte("s")}
	tests := []struct {
		host   string // as in a URL
		ok     bool   // allowed without pinned hosts
		pinned bool   // allowed when the hosts are pinned (to this host)
	}{
		{"100.100.100.200", false, false}, // Alibaba Cloud's metadata service (shared address space)
		{"100.64.0.1", false, false},
		{"100.127.255.254", false, false},
		{"169.254.169.254", false, false}, // AWS, Tencent Cloud, GCP, Azure metadata
		{"[::ffff:169.254.169.254]", false, false},
		{"[::ffff:100.100.100.200]", false, false},
		{"[::ffff:a9fe:a9fe]", false, false},
		{"[64:ff9b::a9fe:a9fe]", false, false}, // NAT64 of 169.254.169.254
		{"[64:ff9b::7f00:1]", false, false},    // NAT64 of 127.0.0.1
		{"[64:ff9b::a00:1]", false, false},     // NAT64 of 10.0.0.1
		{"[64:ff9b:1::a9fe:a9fe]", false, false},
		{"[2002:a9fe:a9fe::1]", false, false}, // 6to4 of 169.254.169.254
		{"[2002:101:101::1]", false, false},   // 6to4 at all
		{"[2001:0:a9fe:a9fe::1]", false, false},
		{"[::a9fe:a9fe]", false, false}, // IPv4-compatible (deprecated)
		{"198.18.0.1", false, false},
		{"198.19.255.255", false, false},
		{"192.0.0.1", false, false},
		{"192.0.0.170", false, false},
		{"192.0.2.1", false, false},
		{"198.51.100.1", false, false},
		{"203.0.113.1", false, false},
		{"192.88.99.1", false, false},
		{"240.0.0.1", false, false},
		{"255.255.255.255", false, false},
		{"224.0.0.1", false, false},
		{"0.0.0.0", false, false},
		{"0.1.2.3", false, false},
		{"[::]", false, false},
		{"[fe80::1]", false, false},
		{"[fe80::1%25eth0]", false, false},
		{"[ff02::1]", false, false},
		{"[2001:db8::1]", false, false},
		{"[100::1]", false, false},
		{"10.0.0.1", false, true},
		{"172.16.0.1", false, true},
		{"192.168.1.1", false, true},
		{"[::ffff:10.0.0.1]", false, true},
		{"[fd00::1]", false, true},
		{"127.0.0.1", true, true},
		{"127.1.2.3", true, true},
		{"[::1]", true, true},
		{"[::ffff:127.0.0.1]", true, true},
		{"1.1.1.1", true, true},
		{"[::ffff:1.1.1.1]", true, true},
		{"[2606:4700::1111]", true, true},
		{"[64:ff9b::101:101]", true, true}, // NAT64 of 1.1.1.1 (DNS64 networks)
	}
	for _, tt := range tests {
		t.Run(tt.host, func(t *testing.T) {
			u, err := url.Parse("https://" + tt.host + "/x")
			if err != nil {
				t.Fatal(err)
			}
			pinned := &Target{Secret: []byte("s"), AllowedHosts: []string{u.Hostname()}}
			for _, c := range []struct {
				name   string
				target *Target
				ok     bool
			}{{"open", open, tt.ok}, {"pinned", pinned, tt.pinned}} {
				err := c.target.Check("https://" + tt.host + "/x")
				if c.ok != (err == nil) || (err != nil && !errors.Is(err, ErrAddress)) {
					t.Errorf("%s: Check = %v, want ok=%v (or ErrAddress)", c.name, err, c.ok)
				}
				// The dialer: a real dial, the URL's check bypassed (as for a name that
				// resolves to the address). Refused before any packet leaves; an allowed
				// address may still fail to connect here, but never with ErrAddress.
				ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
				req, _ := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+tt.host+":9/x", nil)
				_, err = c.target.client().Do(req)
				cancel()
				if refused := errors.Is(err, ErrAddress); refused == c.ok {
					t.Errorf("%s: dial = %v, want refused=%v", c.name, err, !c.ok)
				}
			}
		})
	}
}

// A loopback receiver is reached through the guarded dialer, over IPv4 and IPv6.
func TestLoopbackIsDialled(t *testing.T) {
	target := &Target{Secret: []byte("s")}
	for _, network := range []string{"tcp4", "tcp6"} {
		addr := map[string]string{"tcp4": "127.0.0.1:0", "tcp6": "[::1]:0"}[network]
		l, err := net.Listen(network, addr)
		if err != nil {
			t.Logf("%s: %v (skipped)", network, err)
			continue
		}
		srv := &httptest.Server{Listener: l, Config: &http.Server{Handler: http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})}}
		srv.Start()
		a, err := target.Post(context.Background(), srv.URL+"/x", []byte("{}"), time.Second)
		srv.Close()
		if err != nil || a.Status != 200 {
			t.Errorf("%s: %v", network, err)
		}
	}
}

// Errors never carry the URL's query or userinfo (where deployers put tokens), and still
// unwrap to their causes.
func TestErrorsRedactTheURL(t *testing.T) {
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	closed := l.Addr().String()
	l.Close()
	hang := make(chan struct{})
	hung := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-hang:
		case <-r.Context().Done():
		}
	}))
	defer hung.Close()
	defer close(hang)
	failing := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(500) }))
	defer failing.Close()
	target := &Target{Secret: []byte("s")}
	for _, host := range []string{closed, strings.TrimPrefix(hung.URL, "http://"), strings.TrimPrefix(failing.URL, "http://")} {
		raw := "http://user:pass@" + host + "/hook?token=s3cr3t#frag"
		_, perr := target.Post(context.Background(), raw, []byte("{}"), 200*time.Millisecond)
		derr := target.Deliver(context.Background(), raw, []byte("{}"), 2, 200*time.Millisecond)
		for _, err := range []error{perr, derr} {
			if err == nil {
				if host == strings.TrimPrefix(failing.URL, "http://") {
					continue // Post answers a 500 without an error
				}
				t.Fatalf("%s: no error", host)
			}
			for _, leak := range []string{"s3cr3t", "token", "user", "pass", "frag"} {
				if strings.Contains(err.Error(), leak) {
					t.Errorf("the error carries %q: %v", leak, err)
				}
			}
		}
		if host == closed {
			var ue *url.Error
			var op *net.OpError
			if !errors.As(perr, &ue) || ue.URL != "http://"+host+"/hook" || !errors.As(perr, &op) {
				t.Errorf("the error no longer unwraps: %#v", perr)
			}
		}
		if strings.Contains(hung.URL, host) && !errors.Is(perr, context.DeadlineExceeded) {
			t.Errorf("a hung endpoint: %v, want a deadline", perr)
		}
	}
}

func TestRedact(t *testing.T) {
	for raw, want := range map[string]string{
		"https://u:p@h.example:8443/a/b%20c?token=x#f": "https://h.example:8443/a/b%20c",
		"https://h.example":                            "https://h.example",
		"::":                                           "(invalid URL)",
	} {
		if got := Redact(raw); got != want {
			t.Errorf("Redact(%q) = %q, want %q", raw, got, want)
		}
	}
}

// A queue message (or a deployer's setting) cannot make the function post to its own
// platform's runtime API on loopback (AWS_LAMBDA_RUNTIME_API, SCF_RUNTIME_API_PORT): a
// signed body there could answer the function's own invocation. Other loopback ports stay
// open to local receivers.
func TestRuntimeAPIIsRefused(t *testing.T) {
	for _, env := range [][2]string{{"AWS_LAMBDA_RUNTIME_API", "127.0.0.1:9001"}, {"SCF_RUNTIME_API_PORT", "9001"}} {
		t.Setenv("AWS_LAMBDA_RUNTIME_API", "")
		t.Setenv("SCF_RUNTIME_API_PORT", "")
		t.Setenv(env[0], env[1])
		var target Target
		for _, u := range []string{"http://127.0.0.1:9001/2018-06-01/runtime/invocation/next", "http://localhost:9001/x", "http://[::1]:9001/x", "http://[::ffff:127.0.0.1]:9001/"} {
			if err := target.Check(u); !errors.Is(err, ErrAddress) {
				t.Errorf("%s with %s: %v", u, env[0], err)
			}
		}
		if err := target.Check("http://127.0.0.1:9002/hook"); err != nil {
			t.Errorf("another loopback port: %v", err)
		}
		// The dialer refuses it too (a name resolving to loopback).
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		port := l.Addr().(*net.TCPAddr).Port
		t.Setenv(env[0], strings.Replace(env[1], "9001", strconv.Itoa(port), 1))
		_, err = (&Target{Secret: []byte("s")}).Post(context.Background(), "http://localhost:"+strconv.Itoa(port)+"/", []byte("{}"), time.Second)
		if !errors.Is(err, ErrAddress) {
			t.Errorf("dialling the runtime API's port: %v", err)
		}
	}
}
