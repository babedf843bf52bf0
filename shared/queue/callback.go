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
	return nil
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
	client := c.Client
	if client == nil {
		client = &http.Client{Timeout: 10 * time.Second}
	}
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
