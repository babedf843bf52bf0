package queue

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"syscall"
	"time"

	"github.com/directup/directup/shared/upload"
)

// SignatureHeader carries a callback's signature: "t=<unix seconds>,v1=<hex>", where v1 is
// HMAC-SHA256(secret, "<t>.<body>"). Receivers recompute it and reject old timestamps.
const SignatureHeader = "X-Directup-Signature"

// Callbacks posts results to callback URLs.
type Callbacks struct {
	Secret       []byte
	AllowedHosts []string // empty: any host (https only, http for loopback)
	Attempts     int      // default 3
	Client       *http.Client
	Now          func() time.Time
}

// Check refuses callback URLs the settings do not allow (400, never retried).
func (c *Callbacks) Check(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || len(raw) > 2048 {
		return upload.Invalid("callbackUrl", "callbackUrl must be an absolute URL")
	}
	if len(c.Secret) == 0 {
		return upload.Denied("callbackUrl", "callbacks are off: set QUEUE_CALLBACK_SECRET")
	}
	host := u.Hostname()
	loopback := host == "localhost" || net.ParseIP(host).IsLoopback()
	if u.Scheme != "https" && !(u.Scheme == "http" && loopback) {
		return upload.Invalid("callbackUrl", "callbackUrl must use https")
	}
	if len(c.AllowedHosts) > 0 && !slices.Contains(c.AllowedHosts, host) {
		return upload.Denied("callbackUrl", "callback host %s is not allowed", host)
	}
	if ip := net.ParseIP(host); ip != nil && !c.addressAllowed(ip) {
		return upload.Denied("callbackUrl", "callbacks may not go to %s (link-local, private or unspecified); list it in QUEUE_CALLBACK_ALLOWED_HOSTS to allow a private one", host)
	}
	return nil
}

// addressAllowed is the rule for every address a callback connects to: never link-local
// (the cloud metadata service lives there), multicast or unspecified; private ranges only
// when the deployer pinned the callback hosts; loopback is allowed (local receivers).
func (c *Callbacks) addressAllowed(ip net.IP) bool {
	switch {
	case ip.IsLinkLocalUnicast(), ip.IsLinkLocalMulticast(), ip.IsInterfaceLocalMulticast(), ip.IsMulticast(), ip.IsUnspecified():
		return false
	case ip.IsPrivate():
		return len(c.AllowedHosts) > 0
	}
	return true
}

// client is the HTTP client callbacks go through. It never follows a redirect: a 3xx
// would carry the body (an upload token, part URLs) and its signature to a host nobody
// checked; it is answered as a refusal instead. The default client also checks every
// address it dials, so a host name resolving to a metadata or private address is refused.
func (c *Callbacks) client() *http.Client {
	var client http.Client
	if c.Client != nil {
		client = *c.Client
	} else {
		dialer := &net.Dialer{Timeout: 5 * time.Second, Control: func(_, address string, _ syscall.RawConn) error {
			host, _, _ := net.SplitHostPort(address)
			if ip := net.ParseIP(host); ip == nil || !c.addressAllowed(ip) {
				return fmt.Errorf("callback: address %s is not allowed", host)
			}
			return nil
		}}
		transport := http.DefaultTransport.(*http.Transport).Clone()
		transport.Proxy = nil // a proxy would dial for us, unchecked
		transport.DialContext = dialer.DialContext
		client = http.Client{Timeout: 10 * time.Second, Transport: transport}
	}
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &client
}

// Sign returns the signature header value for body at time t.
func Sign(secret, body []byte, t time.Time) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(ts + "."))
	m.Write(body)
	return "t=" + ts + ",v1=" + hex.EncodeToString(m.Sum(nil))
}

// RefusedError means the receiver answered 4xx: delivering again would not help.
type RefusedError struct{ Status int }

func (e *RefusedError) Error() string { return fmt.Sprintf("callback refused with %d", e.Status) }

// Send posts the result, retrying with backoff inside the context's deadline.
func (c *Callbacks) Send(ctx context.Context, target string, res *Result) error {
	body, err := json.Marshal(res)
	if err != nil {
		return err
	}
	attempts := c.Attempts
	if attempts <= 0 {
		attempts = 3
	}
	client := c.client()
	now := c.Now
	if now == nil {
		now = time.Now
	}
	var last error
	for i := 0; i < attempts; i++ {
		if i > 0 {
			select {
			case <-ctx.Done():
				return fmt.Errorf("callback: %w (last: %v)", ctx.Err(), last)
			case <-time.After(time.Duration(200<<(i-1)) * time.Millisecond):
			}
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(body))
		if err != nil {
			return err
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set(SignatureHeader, Sign(c.Secret, body, now()))
		resp, err := client.Do(req)
		if err != nil {
			last = err
			continue
		}
		io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		resp.Body.Close()
		if resp.StatusCode < 300 {
			return nil
		}
		last = fmt.Errorf("callback answered %d", resp.StatusCode)
		if resp.StatusCode < 500 && resp.StatusCode != http.StatusTooManyRequests {
			return &RefusedError{Status: resp.StatusCode} // retrying will not help
		}
	}
	return last
}
