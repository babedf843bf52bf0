// Package webhook posts signed JSON to the deployer's own endpoints — the queue function's
// callbacks, the pre-create hook, completion events — one way for all of them:
// "X-Directup-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>",
// https only (http to loopback), redirects never followed, and no connection to a
// link-local, multicast or unspecified address (nor a private one unless the deployer
// pinned the hosts).
package webhook

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"sync"
	"syscall"
	"time"
)

// SignatureHeader carries the signature: "t=<unix seconds>,v1=<hex>", v1 being
// HMAC-SHA256(secret, "<t>.<body>"). Receivers recompute it and refuse old timestamps.
const SignatureHeader = "X-Directup-Signature"

// Sign returns the signature header value for body at time t.
func Sign(secret, body []byte, t time.Time) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(ts + "."))
	m.Write(body)
	return "t=" + ts + ",v1=" + hex.EncodeToString(m.Sum(nil))
}

// Verify checks a signature header against body, refusing one older than maxAge: what a
// receiver does (the tests' receivers and README's examples use it).
func Verify(secret, body []byte, header string, now time.Time, maxAge time.Duration) bool {
	var ts string
	var sig []byte
	for _, part := range bytes.Split([]byte(header), []byte(",")) {
		k, v, _ := bytes.Cut(part, []byte("="))
		switch string(k) {
		case "t":
			ts = string(v)
		case "v1":
			sig = v
		}
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || now.Sub(time.Unix(sec, 0)).Abs() > maxAge {
		return false
	}
	want := Sign(secret, body, time.Unix(sec, 0))
	return hmac.Equal([]byte(want[len("t="+ts+",v1="):]), sig)
}

// Target is one kind of endpoint and the rules for its addresses.
type Target struct {
	Secret []byte
	// AllowedHosts, if set, are the only hosts allowed; setting it also allows private
	// addresses (never link-local).
	AllowedHosts []string
	// Client, if set, replaces the default client (tests); redirects are never followed
	// either way.
	Client *http.Client
	Now    func() time.Time

	once sync.Once
	hc   *http.Client // built once: connections are kept between posts
}

// Refusals of Check: a URL that is not one webhooks may use at all (ErrInvalidURL), or a
// host or address the rules do not allow (ErrAddress).
var (
	ErrInvalidURL = errors.New("webhook: invalid URL")
	ErrAddress    = errors.New("webhook: address not allowed")
)

// Check refuses a URL the rules do not allow.
func (t *Target) Check(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || len(raw) > 2048 {
		return fmt.Errorf("%w: not an absolute URL", ErrInvalidURL)
	}
	host := u.Hostname()
	loopback := host == "localhost" || net.ParseIP(host).IsLoopback()
	if u.Scheme != "https" && !(u.Scheme == "http" && loopback) {
		return fmt.Errorf("%w: it must use https (http only to loopback)", ErrInvalidURL)
	}
	if len(t.AllowedHosts) > 0 && !slices.Contains(t.AllowedHosts, host) {
		return fmt.Errorf("%w: host %s is not allowed", ErrAddress, host)
	}
	if ip := net.ParseIP(host); ip != nil && !t.addressAllowed(ip) {
		return fmt.Errorf("%w: %s is link-local, private or unspecified", ErrAddress, host)
	}
	return nil
}

// addressAllowed is the rule for every address connected to: never link-local (the cloud
// metadata service lives there), multicast or unspecified; private ranges only when the
// hosts are pinned; loopback is allowed (local receivers).
func (t *Target) addressAllowed(ip net.IP) bool {
	switch {
	case ip.IsLinkLocalUnicast(), ip.IsLinkLocalMulticast(), ip.IsInterfaceLocalMulticast(), ip.IsMulticast(), ip.IsUnspecified():
		return false
	case ip.IsPrivate():
		return len(t.AllowedHosts) > 0
	}
	return true
}

// client is the one client of the target, made on first use: its transport keeps
// connections (a hook is asked at every initiate; a new TLS handshake each time would cost
// more than the question), its dialer checks every address, and it never follows a
// redirect. Timeouts come from each post's context.
func (t *Target) client() *http.Client {
	t.once.Do(func() {
		var client http.Client
		if t.Client != nil {
			client = *t.Client
		} else {
			dialer := &net.Dialer{Timeout: 5 * time.Second, Control: func(_, address string, _ syscall.RawConn) error {
				host, _, _ := net.SplitHostPort(address)
				if ip := net.ParseIP(host); ip == nil || !t.addressAllowed(ip) {
					return fmt.Errorf("%w: %s", ErrAddress, host)
				}
				return nil
			}}
			transport := http.DefaultTransport.(*http.Transport).Clone()
			transport.Proxy = nil // a proxy would dial for us, unchecked
			transport.DialContext = dialer.DialContext
			client = http.Client{Transport: transport}
		}
		// A 3xx would carry the body and its signature to a host nobody checked: it is
		// answered as it is, and callers treat it as a refusal.
		client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
		t.hc = &client
	})
	return t.hc
}

// Answer is what an endpoint answered (its body read up to 64 KiB).
type Answer struct {
	Status int
	Body   []byte
}

// Post sends body, signed, to target once, within timeout (0: 10 s).
func (t *Target) Post(ctx context.Context, target string, body []byte, timeout time.Duration) (*Answer, error) {
	if err := t.Check(target); err != nil {
		return nil, err
	}
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	now := time.Now
	if t.Now != nil {
		now = t.Now
	}
	ctx, cancel := context.WithTimeout(ctx, timeout) // the answer's body is read within it too
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(SignatureHeader, Sign(t.Secret, body, now()))
	resp, err := t.client().Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	return &Answer{Status: resp.StatusCode, Body: b}, err
}

// RefusedError means the endpoint answered 3xx (never followed) or 4xx other than 429:
// delivering again would not help.
type RefusedError struct{ Status int }

func (e *RefusedError) Error() string { return fmt.Sprintf("webhook: refused with %d", e.Status) }

// Deliver posts body until the endpoint answers 2xx: up to attempts times (default 3)
// with doubling backoff from 200 ms, inside ctx's deadline. A refusal (RefusedError) or
// an address the rules refuse is final at once.
func (t *Target) Deliver(ctx context.Context, target string, body []byte, attempts int, timeout time.Duration) error {
	if attempts <= 0 {
		attempts = 3
	}
	var last error
	for i := 0; i < attempts; i++ {
		if i > 0 {
			select {
			case <-ctx.Done():
				return fmt.Errorf("webhook: %w (last: %v)", ctx.Err(), last)
			case <-time.After(time.Duration(200<<(i-1)) * time.Millisecond):
			}
		}
		a, err := t.Post(ctx, target, body, timeout)
		switch {
		case errors.Is(err, ErrInvalidURL), errors.Is(err, ErrAddress):
			return err
		case err != nil:
			last = err
		case a.Status < 300:
			return nil
		case a.Status < 500 && a.Status != http.StatusTooManyRequests:
			return &RefusedError{Status: a.Status}
		default:
			last = fmt.Errorf("webhook: answered %d", a.Status)
		}
	}
	return last
}
