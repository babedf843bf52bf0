// Package webhook posts signed JSON to the deployer's own endpoints — the queue function's
// callbacks, the pre-create hook, completion events — one way for all of them:
// "X-Directup-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>",
// https only (http to loopback), redirects never followed, and no connection to an
// address of the IANA special-purpose registries (link-local and the cloud metadata
// services, shared address space, documentation, benchmarking, reserved, multicast,
// unspecified, 6to4, Teredo…) but loopback, nor to a private one unless the deployer
// pinned the hosts. Errors never carry a URL's query or userinfo.
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
	"net/netip"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"code.dny.dev/ssrf"
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
	// SecretFunc, when set, replaces Secret: a secret read from a store, which rotates
	// (receivers accept both values while they rotate it too).
	SecretFunc func() []byte
	// AllowedHosts, if set, are the only hosts allowed; setting it also allows private
	// addresses (RFC 1918, fc00::/7; never any other special-purpose range).
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
	ip, ipErr := netip.ParseAddr(host)
	loopback := host == "localhost" || (ipErr == nil && ip.Unmap().IsLoopback())
	if u.Scheme != "https" && !(u.Scheme == "http" && loopback) {
		return fmt.Errorf("%w: it must use https (http only to loopback)", ErrInvalidURL)
	}
	if len(t.AllowedHosts) > 0 && !slices.Contains(t.AllowedHosts, host) {
		return fmt.Errorf("%w: host %s is not allowed", ErrAddress, host)
	}
	if loopback && runtimeAPIPort(portOf(u)) {
		return fmt.Errorf("%w: %s is the platform's runtime API", ErrAddress, u.Host)
	}
	if ipErr == nil && !t.addressAllowed(ip) {
		if ip.Unmap().IsPrivate() {
			return fmt.Errorf("%w: %s is private (allowed only when the hosts are pinned)", ErrAddress, host)
		}
		return fmt.Errorf("%w: %s is a special-purpose address", ErrAddress, host)
	}
	return nil
}

// runtimeAPIPort reports whether port is where the platform's runtime API listens on
// loopback (AWS_LAMBDA_RUNTIME_API, SCF_RUNTIME_API_PORT): a webhook there could answer the
// function's own invocation, so loopback receivers are allowed on every other port only.
func runtimeAPIPort(port uint16) bool {
	for _, v := range []string{os.Getenv("AWS_LAMBDA_RUNTIME_API"), ":" + os.Getenv("SCF_RUNTIME_API_PORT")} {
		if i := strings.LastIndexByte(v, ':'); i >= 0 {
			if p, err := strconv.ParseUint(v[i+1:], 10, 16); err == nil && uint16(p) == port {
				return true
			}
		}
	}
	return false
}

// portOf is u's port, or its scheme's.
func portOf(u *url.URL) uint16 {
	if p, err := strconv.ParseUint(u.Port(), 10, 16); err == nil {
		return uint16(p)
	}
	if u.Scheme == "https" {
		return 443
	}
	return 80
}

// guardian holds the IANA special-purpose registries (IPv4 and IPv6, generated from
// them by code.dny.dev/ssrf): only its address check is used, never its port or network
// rules.
var guardian = ssrf.New()

// addressAllowed is the rule for every address connected to (names are resolved and each
// address dialled is checked again): loopback is allowed (local receivers); private
// ranges (RFC 1918, fc00::/7) only when the hosts are pinned; every other address of the
// IANA special-purpose registries is refused — link-local (the cloud metadata services),
// 100.64.0.0/10 (shared address space; Alibaba Cloud's metadata is 100.100.100.200),
// 192.0.0.0/24, 198.18.0.0/15, documentation, 240.0.0.0/4 and broadcast, multicast,
// unspecified, and in IPv6 anything outside 2000::/3 and the registry's ranges inside it
// (Teredo 2001::/32, 6to4 2002::/16, documentation…). An IPv4-mapped address
// (::ffff:a.b.c.d) is dialled as its IPv4 address and judged as it; a NAT64 address
// (64:ff9b::/96) is allowed only when the IPv4 address it embeds is a public one.
func (t *Target) addressAllowed(ip netip.Addr) bool {
	if !ip.IsValid() || ip.Zone() != "" { // a zone only means something for link-local
		return false
	}
	ip = ip.Unmap()
	switch {
	case ip.IsLoopback():
		return true
	case ip.IsPrivate():
		return len(t.AllowedHosts) > 0
	case ssrf.IPv6NAT64Prefix.Contains(ip):
		b := ip.As16()
		return guardian.SafeAddr(netip.AddrFrom4([4]byte(b[12:]))) == nil
	}
	return guardian.SafeAddr(ip) == nil
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
				ap, err := netip.ParseAddrPort(address)
				if err != nil || !t.addressAllowed(ap.Addr()) || ap.Addr().Unmap().IsLoopback() && runtimeAPIPort(ap.Port()) {
					return fmt.Errorf("%w: %s", ErrAddress, address)
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

// Post sends body, signed, to target once, within timeout (0: 10 s). Its errors name the
// URL as Redact does, never with its query or userinfo.
func (t *Target) Post(ctx context.Context, target string, body []byte, timeout time.Duration) (*Answer, error) {
	a, err := t.post(ctx, target, body, timeout)
	return a, redactError(err, target)
}

func (t *Target) post(ctx context.Context, target string, body []byte, timeout time.Duration) (*Answer, error) {
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
		return nil, fmt.Errorf("%w: not a URL a request can be made to", ErrInvalidURL)
	}
	req.Header.Set("Content-Type", "application/json")
	secret := t.Secret
	if t.SecretFunc != nil {
		secret = t.SecretFunc()
	}
	if len(secret) == 0 {
		return nil, errors.New("webhook: no secret to sign with yet")
	}
	req.Header.Set(SignatureHeader, Sign(secret, body, now()))
	resp, err := t.client().Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	return &Answer{Status: resp.StatusCode, Body: b}, err
}

// Redact returns raw as scheme://host/path: without its userinfo, query and fragment,
// where deployers put tokens (HOOK_URL=https://h/hook?token=…). It is how webhook errors
// name URLs; callers log URLs through it too.
func Redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return "(invalid URL)"
	}
	return u.Scheme + "://" + u.Host + u.EscapedPath()
}

// redactError rewrites the URL net/http's *url.Error carries (the whole request URL) to
// Redact's form; the error still unwraps to the same causes (errors.Is and As work, a
// *url.Error is still one). Should any other part of the message quote the URL's query
// or userinfo, the message is scrubbed too.
func redactError(err error, target string) error {
	if err == nil {
		return nil
	}
	safe := Redact(target)
	var ue *url.Error
	if errors.As(err, &ue) && ue.URL != safe {
		if error(ue) == err {
			err = &url.Error{Op: ue.Op, URL: safe, Err: ue.Err}
		} else {
			ue.URL = safe // nested: made by this post alone, so changed in place
		}
	}
	// The forms a URL's secrets take when quoted: the URL itself, "?query", "#fragment",
	// "userinfo@" (never a bare value: a short one would garble the whole message).
	pairs := []string{target, safe}
	if u, perr := url.Parse(target); perr == nil {
		if u.RawQuery != "" {
			pairs = append(pairs, "?"+u.RawQuery, "?[redacted]")
		}
		if u.Fragment != "" {
			pairs = append(pairs, "#"+u.EscapedFragment(), "#[redacted]")
		}
		if u.User != nil {
			pairs = append(pairs, u.User.String()+"@", "[redacted]@")
		}
	}
	msg := err.Error()
	for i := 0; i < len(pairs); i += 2 {
		if pairs[i] != "" && strings.Contains(msg, pairs[i]) {
			return &scrubbedError{err: err, r: strings.NewReplacer(pairs...)}
		}
	}
	return err
}

// scrubbedError is an error whose message had to lose parts of a URL.
type scrubbedError struct {
	err error
	r   *strings.Replacer
}

func (e *scrubbedError) Error() string { return e.r.Replace(e.err.Error()) }

func (e *scrubbedError) Unwrap() error { return e.err }

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
