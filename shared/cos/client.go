// Package cos is directup's Tencent Cloud COS store: it signs and sends the multipart
// calls (Initiate, ListParts, Complete, Abort) and presigns UploadPart URLs.
//
// Permissions the signing credentials need on the bucket's key prefix:
// cos:InitiateMultipartUpload, cos:UploadPart, cos:ListParts,
// cos:CompleteMultipartUpload, cos:AbortMultipartUpload.
package cos

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/directup/directup/shared/cos/cossign"
	"github.com/directup/directup/shared/credentials"
)

// Config locates the bucket.
type Config struct {
	Bucket   string // name-appid
	Region   string // ap-guangzhou
	Endpoint string // optional scheme://host[:port]: acceleration, custom domain, local store
}

var (
	bucketPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9-]*-[0-9]{6,}$`)
	regionPattern = regexp.MustCompile(`^[a-z]+(-[a-z0-9]+)+$`)
)

// Validate checks the settings; errors name the environment variable.
func (c Config) Validate() error {
	if !bucketPattern.MatchString(c.Bucket) {
		return fmt.Errorf("COS_BUCKET: %q is not a bucket name with its APPID, like examplebucket-1250000000", c.Bucket)
	}
	if c.Endpoint == "" && !regionPattern.MatchString(c.Region) {
		return fmt.Errorf("COS_REGION: %q is not a region like ap-guangzhou", c.Region)
	}
	if c.Endpoint != "" {
		u, err := url.Parse(c.Endpoint)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" {
			return fmt.Errorf("COS_ENDPOINT: %q is not a URL like https://host[:port]", c.Endpoint)
		}
	}
	return nil
}

// Client talks to one bucket.
type Client struct {
	bucket   string
	endpoint string // scheme://host, no trailing slash
	host     string
	creds    credentials.Provider
	http     *http.Client
	now      func() time.Time

	// Retry policy for 5xx, SlowDown, resets and timeouts, always inside the caller's deadline.
	MaxAttempts    int
	BaseDelay      time.Duration
	MaxDelay       time.Duration
	AttemptTimeout time.Duration
}

// New returns a client; it does no network I/O.
func New(cfg Config, creds credentials.Provider, httpClient *http.Client) (*Client, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	endpoint := strings.TrimSuffix(cfg.Endpoint, "/")
	if endpoint == "" {
		endpoint = "https://" + cfg.Bucket + ".cos." + cfg.Region + ".myqcloud.com"
	}
	u, _ := url.Parse(endpoint)
	if httpClient == nil {
		httpClient = &http.Client{}
	}
	return &Client{
		bucket: cfg.Bucket, endpoint: endpoint, host: u.Host, creds: creds, http: httpClient, now: time.Now,
		MaxAttempts: 4, BaseDelay: 100 * time.Millisecond, MaxDelay: 2 * time.Second, AttemptTimeout: 15 * time.Second,
	}, nil
}

// SetClock replaces time.Now (tests).
func (c *Client) SetClock(now func() time.Time) { c.now = now }

// Endpoint returns the base URL requests go to.
func (c *Client) Endpoint() string { return c.endpoint }

// ResponseError is an error answer from COS (or a transport failure, with Status 0).
type ResponseError struct {
	Status    int
	Code      string
	Message   string
	RequestID string
	TraceID   string
	Err       error // transport failure
}

func (e *ResponseError) Error() string {
	if e.Err != nil {
		return "cos: " + e.Err.Error()
	}
	return fmt.Sprintf("cos: %d %s: %s (request id %s)", e.Status, e.Code, e.Message, e.RequestID)
}

func (e *ResponseError) Unwrap() error { return e.Err }

func (e *ResponseError) expired() bool { return e.Code == "ExpiredToken" || e.Code == "TokenExpired" }

type errorBody struct {
	XMLName   xml.Name `xml:"Error"`
	Code      string   `xml:"Code"`
	Message   string   `xml:"Message"`
	RequestID string   `xml:"RequestId"`
	TraceID   string   `xml:"TraceId"`
}

// retryable reports whether another attempt may succeed.
func (e *ResponseError) retryable() bool {
	if e.Err != nil {
		return !errors.Is(e.Err, context.Canceled)
	}
	switch e.Code {
	case "SlowDown", "InternalError", "ServiceUnavailable", "RequestTimeout":
		return true
	case "ExpiredToken", "TokenExpired":
		return true // the next attempt re-reads (or re-fetches) the credentials
	}
	return e.Status >= 500 || e.Status == http.StatusTooManyRequests
}

// maxResponse bounds what is read of a COS answer (ListParts pages are far smaller).
const maxResponse = 8 << 20

// call is one COS operation, retried on transient faults while the deadline allows.
type call struct {
	method string
	key    string
	query  url.Values
	header http.Header
	body   []byte
	// errorIn200 makes a 200 answer whose body is an <Error> an error (Complete).
	errorIn200 bool
}

func (c *Client) do(ctx context.Context, cl call) (*http.Response, []byte, error) {
	var last *ResponseError
	for attempt := 0; attempt < max(1, c.MaxAttempts); attempt++ {
		if attempt > 0 {
			// Full jitter: sleep a random part of an exponentially growing ceiling.
			ceiling := min(c.MaxDelay, c.BaseDelay<<(attempt-1))
			delay := time.Duration(rand.Int64N(int64(ceiling) + 1))
			if dl, ok := ctx.Deadline(); ok && time.Until(dl) < delay+50*time.Millisecond {
				break // no time left for another try: report what we have
			}
			select {
			case <-ctx.Done():
				return nil, nil, c.timeout(ctx, last)
			case <-time.After(delay):
			}
		}
		resp, body, err := c.once(ctx, cl)
		if err == nil {
			return resp, body, nil
		}
		if !errors.As(err, &last) {
			return nil, nil, err // credentials or request building: no retry
		}
		if ctx.Err() != nil {
			return nil, nil, c.timeout(ctx, last)
		}
		if !last.retryable() {
			return nil, nil, last
		}
		if last.expired() {
			if inv, ok := c.creds.(interface{ Invalidate() }); ok {
				inv.Invalidate()
			}
		}
	}
	return nil, nil, last
}

func (c *Client) timeout(ctx context.Context, last *ResponseError) error {
	e := &ResponseError{Err: ctx.Err()}
	if last != nil {
		e.RequestID = last.RequestID
	}
	return e
}

func (c *Client) once(ctx context.Context, cl call) (*http.Response, []byte, error) {
	cred, err := c.creds.Retrieve(ctx)
	if err != nil {
		return nil, nil, err
	}
	if c.AttemptTimeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.AttemptTimeout)
		defer cancel()
	}
	u := c.endpoint + "/" + cossign.EscapePath(cl.key)
	if len(cl.query) > 0 {
		u += "?" + encodeQuery(cl.query)
	}
	req, err := http.NewRequestWithContext(ctx, cl.method, u, bytes.NewReader(cl.body))
	if err != nil {
		return nil, nil, err
	}
	req.ContentLength = int64(len(cl.body))
	if len(cl.body) == 0 {
		req.Body = http.NoBody
	}
	for k, v := range cl.header {
		req.Header[k] = v
	}
	if cred.SessionToken != "" {
		req.Header.Set(cossign.TokenHeader, cred.SessionToken)
	}
	signed := cossign.SignableHeaders(req.Header, c.host)
	if cl.method == http.MethodPost || cl.method == http.MethodPut || len(cl.body) > 0 {
		signed.Set("Content-Length", fmt.Sprint(len(cl.body))) // Go sends it; COS sees it signed
	}
	now := c.now()
	kt := cossign.KeyTime(now.Add(-time.Minute), now.Add(15*time.Minute))
	sig := cossign.Sign(cred.SecretAccessKey, kt, cossign.Request{
		Method: cl.method, Path: "/" + cl.key, Params: cl.query, Headers: signed,
	})
	req.Header.Set("Authorization", sig.Authorization(cred.AccessKeyID))

	resp, err := c.http.Do(req)
	if err != nil {
		return nil, nil, &ResponseError{Err: err}
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	if err != nil {
		return nil, nil, &ResponseError{Status: resp.StatusCode, RequestID: resp.Header.Get("x-cos-request-id"), Err: err}
	}
	if resp.StatusCode >= 300 || (cl.errorIn200 && isErrorBody(body)) {
		e := &ResponseError{Status: resp.StatusCode, RequestID: resp.Header.Get("x-cos-request-id"), TraceID: resp.Header.Get("x-cos-trace-id")}
		var eb errorBody
		if xml.Unmarshal(body, &eb) == nil {
			e.Code, e.Message = eb.Code, eb.Message
			if eb.RequestID != "" {
				e.RequestID = eb.RequestID
			}
		}
		if e.Code == "" {
			e.Code = http.StatusText(resp.StatusCode)
		}
		return nil, nil, e
	}
	return resp, body, nil
}

// isErrorBody spots COS's 200-with-<Error> answer: keep-alive whitespace, then <Error>.
func isErrorBody(body []byte) bool {
	b := bytes.TrimLeft(body, " \t\r\n")
	if bytes.HasPrefix(b, []byte("<?xml")) {
		if i := bytes.Index(b, []byte("?>")); i >= 0 {
			b = bytes.TrimLeft(b[i+2:], " \t\r\n")
		}
	}
	return bytes.HasPrefix(b, []byte("<Error>")) || bytes.HasPrefix(b, []byte("<Error "))
}

// encodeQuery writes parameters sorted by name; valueless ones ("uploads") stay bare.
func encodeQuery(q url.Values) string {
	keys := make([]string, 0, len(q))
	for k := range q {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		for _, v := range q[k] {
			if b.Len() > 0 {
				b.WriteByte('&')
			}
			b.WriteString(url.QueryEscape(k))
			if v != "" {
				b.WriteByte('=')
				b.WriteString(url.QueryEscape(v))
			}
		}
	}
	return b.String()
}

// isTimeout tells a deadline from other transport failures.
func isTimeout(err error) bool {
	var ne net.Error
	return errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout())
}
