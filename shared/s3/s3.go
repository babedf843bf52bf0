// Package s3 is directup's Amazon S3 store: the same multipart calls as the COS store,
// signed with AWS Signature V4 (aws-sdk-go-v2's signer alone: the SDK's presign client
// costs ~18x more per part URL, measured in FACTS.md), path-style or virtual-hosted.
//
// Permissions the role needs on arn:aws:s3:::<bucket>/<prefix>*: s3:PutObject (initiate,
// upload part, complete), s3:AbortMultipartUpload, s3:ListMultipartUploadParts; and
// s3:GetObject for the queue function's markers.
package s3

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/directup/directup/shared/credentials"
	"github.com/directup/directup/shared/upload"
)

// Config locates the bucket.
type Config struct {
	Bucket   string
	Region   string
	Endpoint string // optional scheme://host[:port]; then path-style addressing
}

// Client talks to one bucket.
type Client struct {
	bucket, region string
	base           string // scheme://host
	host           string
	pathPrefix     string // "/<bucket>" for path-style, "" for virtual-hosted
	creds          credentials.Provider
	http           *http.Client
	now            func() time.Time

	MaxAttempts    int
	BaseDelay      time.Duration
	MaxDelay       time.Duration
	AttemptTimeout time.Duration
}

// New returns a client; it does no network I/O.
func New(cfg Config, creds credentials.Provider, httpClient *http.Client) (*Client, error) {
	if cfg.Bucket == "" || strings.ContainsAny(cfg.Bucket, "/ ") {
		return nil, fmt.Errorf("S3_BUCKET: %q is not a bucket name", cfg.Bucket)
	}
	if cfg.Region == "" {
		return nil, errors.New("S3_REGION: required (like us-east-1)")
	}
	c := &Client{bucket: cfg.Bucket, region: cfg.Region, creds: creds, http: httpClient, now: time.Now,
		MaxAttempts: 4, BaseDelay: 100 * time.Millisecond, MaxDelay: 2 * time.Second, AttemptTimeout: 15 * time.Second}
	if c.http == nil {
		c.http = &http.Client{}
	}
	if cfg.Endpoint != "" {
		u, err := url.Parse(cfg.Endpoint)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("S3_ENDPOINT: %q is not a URL like https://host[:port]", cfg.Endpoint)
		}
		c.base, c.host, c.pathPrefix = u.Scheme+"://"+u.Host, u.Host, "/"+cfg.Bucket
	} else {
		c.host = cfg.Bucket + ".s3." + cfg.Region + ".amazonaws.com"
		c.base = "https://" + c.host
	}
	return c, nil
}

// SetClock replaces time.Now (tests).
func (c *Client) SetClock(now func() time.Time) { c.now = now }

// Bucket implements upload.Store.
func (c *Client) Bucket() string { return c.bucket }

var _ upload.Store = (*Client)(nil)

// escapePath encodes a key for a URL path as SigV4 canonicalises it.
func escapePath(key string) string {
	var b strings.Builder
	for i := 0; i < len(key); i++ {
		ch := key[i]
		if ('a' <= ch && ch <= 'z') || ('A' <= ch && ch <= 'Z') || ('0' <= ch && ch <= '9') || strings.IndexByte("-_.~/", ch) >= 0 {
			b.WriteByte(ch)
		} else {
			fmt.Fprintf(&b, "%%%02X", ch)
		}
	}
	return b.String()
}

func encodeQuery(q url.Values) string {
	keys := make([]string, 0, len(q))
	for k := range q {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var parts []string
	for _, k := range keys {
		for _, v := range q[k] {
			parts = append(parts, url.QueryEscape(k)+"="+strings.ReplaceAll(url.QueryEscape(v), "+", "%20"))
		}
	}
	return strings.Join(parts, "&")
}

func (c *Client) objectURL(key string, q url.Values) *url.URL {
	u, _ := url.Parse(c.base)
	u.Path = c.pathPrefix + "/" + key
	u.RawPath = c.pathPrefix + "/" + escapePath(key)
	u.RawQuery = encodeQuery(q)
	return u
}

func awsCreds(v credentials.Value) aws.Credentials {
	return aws.Credentials{AccessKeyID: v.AccessKeyID, SecretAccessKey: v.SecretAccessKey, SessionToken: v.SessionToken}
}

// responseError is an S3 error answer, or a transport failure (Status 0).
type responseError struct {
	Status    int
	Code      string
	Message   string
	RequestID string
	Err       error
}

func (e *responseError) Error() string {
	if e.Err != nil {
		return "s3: " + e.Err.Error()
	}
	return fmt.Sprintf("s3: %d %s: %s (request id %s)", e.Status, e.Code, e.Message, e.RequestID)
}

func (e *responseError) Unwrap() error { return e.Err }

func (e *responseError) retryable() bool {
	if e.Err != nil {
		return !errors.Is(e.Err, context.Canceled)
	}
	switch e.Code {
	case "SlowDown", "InternalError", "ServiceUnavailable", "RequestTimeout", "ExpiredToken":
		return true
	}
	return e.Status >= 500 || e.Status == http.StatusTooManyRequests
}

type call struct {
	method     string
	key        string
	query      url.Values
	header     http.Header
	body       []byte
	errorIn200 bool
}

func (c *Client) do(ctx context.Context, cl call) (*http.Response, []byte, error) {
	var last *responseError
	for attempt := 0; attempt < max(1, c.MaxAttempts); attempt++ {
		if attempt > 0 {
			ceiling := min(c.MaxDelay, c.BaseDelay<<(attempt-1))
			delay := time.Duration(rand.Int64N(int64(ceiling) + 1))
			if dl, ok := ctx.Deadline(); ok && time.Until(dl) < delay+50*time.Millisecond {
				break
			}
			select {
			case <-ctx.Done():
				return nil, nil, &responseError{Err: ctx.Err(), RequestID: last.RequestID}
			case <-time.After(delay):
			}
		}
		resp, body, err := c.once(ctx, cl)
		if err == nil {
			return resp, body, nil
		}
		if !errors.As(err, &last) {
			return nil, nil, err
		}
		if ctx.Err() != nil {
			return nil, nil, &responseError{Err: ctx.Err(), RequestID: last.RequestID}
		}
		if !last.retryable() {
			return nil, nil, last
		}
	}
	return nil, nil, last
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
	req, err := http.NewRequestWithContext(ctx, cl.method, c.objectURL(cl.key, cl.query).String(), bytes.NewReader(cl.body))
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
	sum := sha256.Sum256(cl.body)
	hash := hex.EncodeToString(sum[:])
	req.Header.Set("X-Amz-Content-Sha256", hash)
	if err := v4.NewSigner().SignHTTP(ctx, awsCreds(cred), req, hash, "s3", c.region, c.now()); err != nil {
		return nil, nil, err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, nil, &responseError{Err: err}
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	rid := resp.Header.Get("x-amz-request-id")
	if err != nil {
		return nil, nil, &responseError{Status: resp.StatusCode, RequestID: rid, Err: err}
	}
	trimmed := bytes.TrimLeft(body, " \t\r\n")
	if resp.StatusCode >= 300 || (cl.errorIn200 && (bytes.HasPrefix(trimmed, []byte("<Error")) || bytes.Contains(trimmed[:min(len(trimmed), 200)], []byte("<Error>")))) {
		var eb struct {
			Code, Message, RequestId string
		}
		xml.Unmarshal(body, &eb)
		e := &responseError{Status: resp.StatusCode, Code: eb.Code, Message: eb.Message, RequestID: rid}
		if e.RequestID == "" {
			e.RequestID = eb.RequestId
		}
		if e.Code == "" {
			e.Code = http.StatusText(resp.StatusCode)
		}
		return nil, nil, e
	}
	return resp, body, nil
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout())
}

// storeError maps S3 and transport failures to the service's errors, keeping the S3
// request id and never the request.
func storeError(err error) error {
	var re *responseError
	if !errors.As(err, &re) {
		return &upload.Error{Status: http.StatusServiceUnavailable, Code: upload.CodeCredentialsFailed, Message: "could not obtain signing credentials", Err: err}
	}
	e := &upload.Error{Status: http.StatusBadGateway, Code: upload.CodeUpstreamError, UpstreamRequestID: re.RequestID, Err: err}
	switch {
	case re.Status == 0 && isTimeout(re.Err):
		e.Status, e.Code, e.Message = http.StatusGatewayTimeout, upload.CodeUpstreamTimeout, "S3 did not answer in time"
	case re.Status == 0:
		e.Message = "could not reach S3"
	case re.Code == "ExpiredToken":
		e.Status, e.Code, e.Message = http.StatusServiceUnavailable, upload.CodeCredentialsFailed, "S3 refused the function's credentials as expired; retry shortly"
	case re.Code == "NoSuchUpload":
		e.Status, e.Code, e.Message = http.StatusNotFound, upload.CodeUploadNotFound, "the upload does not exist (completed, aborted or expired)"
	case re.Status == http.StatusPreconditionFailed || re.Code == "PreconditionFailed" || re.Status == http.StatusConflict:
		e.Status, e.Code, e.Message = http.StatusConflict, upload.CodeObjectExists, "an object with this key exists and overwriting is forbidden"
	case re.Code == "EntityTooSmall" || re.Code == "InvalidPart" || re.Code == "InvalidPartOrder":
		e.Status, e.Code, e.Message = http.StatusConflict, upload.CodeInvalidPart, "S3 refused the parts: "+re.Code
	case re.Code == "SlowDown" || re.Status == http.StatusServiceUnavailable:
		e.Status, e.Code, e.Message = http.StatusServiceUnavailable, upload.CodeUpstreamBusy, "S3 is busy; retry later"
	case re.Status == http.StatusForbidden || re.Status == http.StatusUnauthorized:
		e.Code, e.Message = upload.CodeUpstreamDenied, "S3 refused the function's credentials: "+re.Code
	default:
		e.Message = "S3 answered " + strconv.Itoa(re.Status) + " " + re.Code
	}
	return e
}
