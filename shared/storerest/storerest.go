// Package storerest is the REST client COS and S3 share: their multipart calls are the same
// REST requests with the same XML (InitiateMultipartUpload, ListParts, Complete, Abort),
// differing in addresses, signatures and header names. A Dialect says how; this package
// sends, retries within the caller's deadline, parses, and maps failures to errcode.Error.
package storerest

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
	"strconv"
	"strings"
	"time"

	"github.com/directup/directup/shared/credentials"
	"github.com/directup/directup/shared/errcode"
	"github.com/directup/directup/shared/storage"
	"github.com/directup/directup/shared/wire"
)

// Call is one request.
type Call struct {
	Method string
	Key    string
	Query  url.Values
	Header http.Header
	Body   []byte
	// ErrorIn200 makes a 200 answer whose body is an <Error> an error (Complete: COS and
	// S3 send keep-alive whitespace, then the outcome).
	ErrorIn200 bool
}

// Dialect is what one service does its own way.
type Dialect struct {
	Name            string // "COS", "S3": in error messages
	Bucket          string
	RequestIDHeader string // x-cos-request-id, x-amz-request-id
	CRCHeader       string // the whole-object CRC answered on complete, if any
	MetaPrefix      string // object metadata headers: "X-Cos-Meta-", "X-Amz-Meta-"
	// URL addresses an object (and its query).
	URL func(key string, q url.Values) string
	// Sign adds the request's signature with cred at now.
	Sign func(req *http.Request, call *Call, cred credentials.Value, now time.Time) error
	// Conditional makes a PUT fail when the object exists (markers).
	Conditional http.Header
	// CompleteConditional sends Conditional on Complete when the upload forbids overwrite:
	// S3 checks If-None-Match there; COS took x-cos-forbid-overwrite at initiate.
	CompleteConditional bool
	// ObjectSizeHeader, if set, carries CompleteOptions.ObjectSize on Complete: the store
	// itself refuses parts that do not add up to it (S3: x-amz-mp-object-size).
	ObjectSizeHeader string
	// ChecksumHeader is the HEAD answer header carrying a stored object's full-object
	// checksum when asked with StatHeader (S3: x-amz-checksum-crc64nvme, with
	// x-amz-checksum-mode: ENABLED); ObjectInfo.CRC64NVME takes it.
	ChecksumHeader string
	StatHeader     http.Header
	// CompleteChecksum, if set, carries CompleteOptions.Checksum on Complete in the
	// header ChecksumHeader names, with these headers beside it (S3:
	// x-amz-checksum-type: FULL_OBJECT); the store refuses another (BadDigest).
	CompleteChecksum http.Header
}

// Client sends a dialect's requests.
type Client struct {
	Dialect
	Creds credentials.Provider
	HTTP  *http.Client
	Now   func() time.Time

	// Retries for 5xx, SlowDown, resets, timeouts and expired credentials.
	MaxAttempts    int
	BaseDelay      time.Duration
	MaxDelay       time.Duration
	AttemptTimeout time.Duration
}

// New returns a client with the default retry policy.
func New(d Dialect, creds credentials.Provider, httpClient *http.Client) *Client {
	if httpClient == nil {
		httpClient = &http.Client{}
	}
	return &Client{Dialect: d, Creds: creds, HTTP: httpClient, Now: time.Now,
		MaxAttempts: 4, BaseDelay: 100 * time.Millisecond, MaxDelay: 2 * time.Second, AttemptTimeout: 15 * time.Second}
}

// ResponseError is an error answer, or a transport failure (Status 0).
type ResponseError struct {
	Status    int
	Code      string
	Message   string
	RequestID string
	Err       error
}

// HTTPStatus is the store's answer's status, 0 when none came (records tell a failure
// that lasts from one that may not by it).
func (e *ResponseError) HTTPStatus() int { return e.Status }

func (e *ResponseError) Error() string {
	if e.Err != nil {
		return e.Err.Error()
	}
	return fmt.Sprintf("%d %s: %s (request id %s)", e.Status, e.Code, e.Message, e.RequestID)
}

func (e *ResponseError) Unwrap() error { return e.Err }

// Expired reports the service calling the credentials expired.
func (e *ResponseError) Expired() bool { return e.Code == "ExpiredToken" || e.Code == "TokenExpired" }

func (e *ResponseError) retryable() bool {
	if e.Err != nil {
		return !errors.Is(e.Err, context.Canceled)
	}
	switch e.Code {
	case "SlowDown", "InternalError", "ServiceUnavailable", "RequestTimeout",
		"ConditionalRequestConflict": // S3: a concurrent conditional write; AWS says retry
		return true
	}
	return e.Expired() || e.Status >= 500 || e.Status == http.StatusTooManyRequests
}

// maxResponse bounds what is read of an answer (ListParts pages are far smaller).
const maxResponse = 8 << 20

// Do sends c, retrying transient faults with full-jitter backoff while the deadline allows.
func (c *Client) Do(ctx context.Context, call Call) (*http.Response, []byte, error) {
	return c.do(ctx, call, nil)
}

// mayHaveLanded reports a failed attempt whose request may have been carried out all the
// same: the connection was made but the answer was lost (a timeout, a reset). A refused
// dial, or an answer, says the request did nothing the caller does not know about.
func mayHaveLanded(e *ResponseError) bool {
	if e.Status != 0 || e.Err == nil {
		return false
	}
	var op *net.OpError
	return !(errors.As(e.Err, &op) && op.Op == "dial")
}

// do is Do; lost, when not nil, is set if an attempt may have landed unanswered.
func (c *Client) do(ctx context.Context, call Call, lost *bool) (*http.Response, []byte, error) {
	var last *ResponseError
	for attempt := 0; attempt < max(1, c.MaxAttempts); attempt++ {
		if attempt > 0 {
			ceiling := min(c.MaxDelay, c.BaseDelay<<(attempt-1))
			delay := time.Duration(rand.Int64N(int64(ceiling) + 1))
			if dl, ok := ctx.Deadline(); ok && time.Until(dl) < delay+50*time.Millisecond {
				break // no time left for another try: report what we have
			}
			select {
			case <-ctx.Done():
				return nil, nil, &ResponseError{Err: ctx.Err(), RequestID: last.RequestID}
			case <-time.After(delay):
			}
		}
		resp, body, err := c.once(ctx, &call)
		if err == nil {
			return resp, body, nil
		}
		if !errors.As(err, &last) {
			return nil, nil, err // credentials or request building: no retry
		}
		if lost != nil && mayHaveLanded(last) {
			*lost = true
		}
		if ctx.Err() != nil {
			return nil, nil, &ResponseError{Err: ctx.Err(), RequestID: last.RequestID}
		}
		if !last.retryable() {
			return nil, nil, last
		}
		if last.Expired() {
			if inv, ok := c.Creds.(credentials.Invalidator); ok {
				inv.Invalidate() // the next attempt fetches fresh credentials
			}
		}
	}
	return nil, nil, last
}

func (c *Client) once(ctx context.Context, call *Call) (*http.Response, []byte, error) {
	cred, err := c.Creds.Retrieve(ctx)
	if err != nil {
		return nil, nil, &credentialsError{err}
	}
	if c.AttemptTimeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.AttemptTimeout)
		defer cancel()
	}
	req, err := http.NewRequestWithContext(ctx, call.Method, c.URL(call.Key, call.Query), bytes.NewReader(call.Body))
	if err != nil {
		return nil, nil, err
	}
	req.ContentLength = int64(len(call.Body))
	if len(call.Body) == 0 {
		req.Body = http.NoBody
	}
	for k, v := range call.Header {
		req.Header[k] = v
	}
	if err := c.Sign(req, call, cred, c.Now()); err != nil {
		return nil, nil, err
	}
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return nil, nil, &ResponseError{Err: err}
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	rid := resp.Header.Get(c.RequestIDHeader)
	if err != nil {
		return nil, nil, &ResponseError{Status: resp.StatusCode, RequestID: rid, Err: err}
	}
	if resp.StatusCode >= 300 || (call.ErrorIn200 && isErrorBody(body)) {
		e := &ResponseError{Status: resp.StatusCode, RequestID: rid}
		var eb struct{ Code, Message, RequestId string }
		if xml.Unmarshal(body, &eb) == nil {
			e.Code, e.Message = eb.Code, eb.Message
			if eb.RequestId != "" {
				e.RequestID = eb.RequestId
			}
		}
		if e.Code == "" {
			e.Code = http.StatusText(resp.StatusCode)
		}
		return nil, nil, e
	}
	return resp, body, nil
}

// isErrorBody spots the 200-with-<Error> answer: whitespace, maybe a prolog, then <Error>.
func isErrorBody(body []byte) bool {
	b := bytes.TrimLeft(body, " \t\r\n")
	if bytes.HasPrefix(b, []byte("<?xml")) {
		if i := bytes.Index(b, []byte("?>")); i >= 0 {
			b = bytes.TrimLeft(b[i+2:], " \t\r\n")
		}
	}
	return bytes.HasPrefix(b, []byte("<Error>")) || bytes.HasPrefix(b, []byte("<Error "))
}

func (c *Client) malformed(what string, err error) error {
	return &errcode.Error{Code: errcode.UpstreamError, Message: c.Name + " answered " + what + " with malformed XML", Err: err}
}

// Initiate sends POST /<key>?uploads with the dialect's headers. Initiate is not
// idempotent: when an attempt's answer was lost and a retry succeeded, the store may hold
// a second upload nobody knows the id of, so the uploads on the key since the first
// attempt are listed and every one but the answered one is aborted.
func (c *Client) Initiate(ctx context.Context, key string, header http.Header) (string, error) {
	start := c.Now()
	var lost bool
	_, body, err := c.do(ctx, Call{Method: http.MethodPost, Key: key, Query: url.Values{"uploads": {""}}, Header: header}, &lost)
	if err != nil {
		return "", c.Error(err)
	}
	var r struct {
		UploadID string `xml:"UploadId"`
	}
	if err := xml.Unmarshal(body, &r); err != nil || r.UploadID == "" {
		return "", &errcode.Error{Code: errcode.UpstreamError, Message: c.Name + " answered initiate without an UploadId"}
	}
	if lost {
		c.abortOrphans(ctx, key, r.UploadID, start.Add(-orphanSkew))
	}
	return r.UploadID, nil
}

// orphanSkew allows for the store's clock running behind the function's.
const orphanSkew = time.Minute

// Upload is an upload in progress, as ListMultipartUploads answers it.
type Upload struct {
	Key       string
	UploadID  string `xml:"UploadId"`
	Initiated time.Time
}

// ListUploads lists the uploads in progress on keys starting with prefix (first 1,000).
func (c *Client) ListUploads(ctx context.Context, prefix string) ([]Upload, error) {
	_, body, err := c.Do(ctx, Call{Method: http.MethodGet, Query: url.Values{"uploads": {""}, "prefix": {prefix}}})
	if err != nil {
		return nil, c.Error(err)
	}
	var r struct {
		Upload []Upload
	}
	if err := xml.Unmarshal(body, &r); err != nil {
		return nil, c.malformed("ListMultipartUploads", err)
	}
	return r.Upload, nil
}

// OpenUploads lists the uploads in progress on exactly key (storage.UploadLister).
func (c *Client) OpenUploads(ctx context.Context, key string) ([]string, error) {
	uploads, err := c.ListUploads(ctx, key)
	if err != nil {
		return nil, err
	}
	var ids []string
	for _, u := range uploads {
		if u.Key == key {
			ids = append(ids, u.UploadID)
		}
	}
	return ids, nil
}

// abortOrphans aborts the uploads on exactly key initiated since `since`, but keep.
// Best effort, on its own short deadline: the caller already has its upload.
func (c *Client) abortOrphans(ctx context.Context, key, keep string, since time.Time) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	uploads, err := c.ListUploads(ctx, key)
	if err != nil {
		return
	}
	for _, u := range uploads {
		if u.Key == key && u.UploadID != keep && !u.Initiated.Before(since) {
			c.Abort(ctx, key, u.UploadID)
		}
	}
}

// ReadHead returns up to the first n bytes of the object at key (a ranged GET).
func (c *Client) ReadHead(ctx context.Context, key string, n int) ([]byte, storage.ObjectInfo, error) {
	resp, body, err := c.Do(ctx, Call{Method: http.MethodGet, Key: key, Header: http.Header{"Range": {"bytes=0-" + strconv.Itoa(n-1)}}})
	var re *ResponseError
	if errors.As(err, &re) && re.Status == http.StatusRequestedRangeNotSatisfiable {
		// No byte to range over: an empty object. Its head is empty; a HEAD tells the rest.
		info, err := c.Stat(ctx, key)
		return nil, info, err
	}
	if err != nil {
		return nil, storage.ObjectInfo{}, c.Error(err)
	}
	info := c.infoOf(resp)
	// A ranged answer's length is the range's: the object's is after the slash of
	// Content-Range ("bytes 0-3071/734003200"). A server that ignored the range sent all.
	if _, total, ok := strings.Cut(resp.Header.Get("Content-Range"), "/"); ok && resp.StatusCode == http.StatusPartialContent {
		info.Size, _ = strconv.ParseInt(total, 10, 64)
	} else {
		info.Size = int64(len(body))
	}
	if len(body) > n {
		body = body[:n]
	}
	return body, info, nil
}

// Delete removes the object at key (deleting nothing is not an error).
func (c *Client) Delete(ctx context.Context, key string) error {
	_, _, err := c.Do(ctx, Call{Method: http.MethodDelete, Key: key})
	var re *ResponseError
	if errors.As(err, &re) && re.Status == http.StatusNotFound {
		return nil
	}
	if err != nil {
		return c.Error(err)
	}
	return nil
}

// Stat reports whether an object exists at key and when it was last written.
func (c *Client) Stat(ctx context.Context, key string) (storage.ObjectInfo, error) {
	resp, _, err := c.Do(ctx, Call{Method: http.MethodHead, Key: key, Header: c.StatHeader.Clone()})
	var re *ResponseError
	if errors.As(err, &re) && re.Status == http.StatusNotFound {
		return storage.ObjectInfo{}, nil
	}
	if err != nil {
		return storage.ObjectInfo{}, c.Error(err)
	}
	return c.infoOf(resp), nil
}

// infoOf is what an object's HEAD or GET answer tells of it.
func (c *Client) infoOf(resp *http.Response) storage.ObjectInfo {
	modified, _ := http.ParseTime(resp.Header.Get("Last-Modified"))
	size, _ := strconv.ParseInt(resp.Header.Get("Content-Length"), 10, 64)
	info := storage.ObjectInfo{Exists: true, LastModified: modified, ETag: resp.Header.Get("ETag"), Size: size,
		ContentType: resp.Header.Get("Content-Type")}
	if c.CRCHeader != "" {
		info.CRC64 = resp.Header.Get(c.CRCHeader)
	}
	info.CacheControl, info.ContentDisposition = resp.Header.Get("Cache-Control"), resp.Header.Get("Content-Disposition")
	info.ContentEncoding, info.Expires = resp.Header.Get("Content-Encoding"), resp.Header.Get("Expires")
	vendor := strings.TrimSuffix(c.MetaPrefix, "Meta-") // X-Cos-, X-Amz-
	info.StorageClass = resp.Header.Get(vendor + "Storage-Class")
	switch resp.Header.Get(vendor + "Server-Side-Encryption") {
	case "AES256":
		info.Encryption = storage.SSECOS
	case "cos/kms", "aws:kms":
		info.Encryption = storage.SSEKMS
	}
	if c.ChecksumHeader != "" {
		info.CRC64NVME = resp.Header.Get(c.ChecksumHeader)
	}
	for k, v := range resp.Header {
		if strings.HasSuffix(k, "-Server-Side-Encryption-Customer-Algorithm") {
			info.CustomerKeyEncrypted = true
		}
		if suffix, ok := strings.CutPrefix(k, c.MetaPrefix); ok && c.MetaPrefix != "" && len(v) > 0 {
			if info.Metadata == nil {
				info.Metadata = map[string]string{}
			}
			info.Metadata[strings.ToLower(suffix)] = v[0]
		}
	}
	return info
}

// ListParts follows every page.
func (c *Client) ListParts(ctx context.Context, key, uploadID string) ([]wire.StoredPart, error) {
	var out []wire.StoredPart
	marker := ""
	for page := 0; page <= storage.MaxParts; page++ {
		q := url.Values{"uploadId": {uploadID}, "max-parts": {"1000"}}
		if marker != "" {
			q.Set("part-number-marker", marker)
		}
		_, body, err := c.Do(ctx, Call{Method: http.MethodGet, Key: key, Query: q})
		if err != nil {
			return nil, c.Error(err)
		}
		var r struct {
			IsTruncated          bool
			NextPartNumberMarker string
			Part                 []struct {
				PartNumber        int
				ETag              string
				Size              int64
				ChecksumCRC64NVME string
			}
		}
		if err := xml.Unmarshal(body, &r); err != nil {
			return nil, c.malformed("ListParts", err)
		}
		for _, p := range r.Part {
			out = append(out, wire.StoredPart{PartNumber: p.PartNumber, ETag: p.ETag, Size: p.Size, Checksum: p.ChecksumCRC64NVME})
		}
		if !r.IsTruncated {
			return out, nil
		}
		if r.NextPartNumberMarker == "" || r.NextPartNumberMarker == marker {
			return nil, &errcode.Error{Code: errcode.UpstreamError, Message: c.Name + " ListParts paging did not advance"}
		}
		marker = r.NextPartNumberMarker
	}
	return out, nil
}

// Complete assembles the parts; the body is always parsed (a 200 may carry an <Error>).
func (c *Client) Complete(ctx context.Context, key, uploadID string, parts []wire.CompletedPart, opts storage.CompleteOptions) (*wire.Completed, error) {
	type part struct {
		PartNumber        int
		ETag              string
		ChecksumCRC64NVME string `xml:",omitempty"` // S3, for uploads created with it
	}
	var cb struct {
		XMLName xml.Name `xml:"CompleteMultipartUpload"`
		Part    []part
	}
	for _, p := range parts {
		cb.Part = append(cb.Part, part{p.PartNumber, p.ETag, p.Checksum})
	}
	body, _ := xml.Marshal(cb)
	h := http.Header{"Content-Type": {"application/xml"}}
	if opts.ForbidOverwrite && c.CompleteConditional {
		for k, v := range c.Conditional {
			h[k] = v
		}
	}
	sized := opts.ObjectSize != nil && c.ObjectSizeHeader != ""
	if sized {
		h.Set(c.ObjectSizeHeader, strconv.FormatInt(*opts.ObjectSize, 10))
	}
	if opts.Checksum != "" && c.CompleteChecksum != nil {
		h.Set(c.ChecksumHeader, opts.Checksum)
		for k, v := range c.CompleteChecksum {
			h[k] = v
		}
	}
	resp, rb, err := c.Do(ctx, Call{Method: http.MethodPost, Key: key, Query: url.Values{"uploadId": {uploadID}},
		Header: h, Body: body, ErrorIn200: true})
	var re *ResponseError
	if opts.Checksum != "" && errors.As(err, &re) && re.Code == "BadDigest" {
		return nil, &errcode.Error{Code: errcode.ChecksumMismatch, Field: "checksum", UpstreamRequestID: re.RequestID, Err: err,
			Message: c.Name + " refused the object: its checksum is not the declared " + opts.Checksum}
	}
	if sized && errors.As(err, &re) && re.Status == http.StatusBadRequest && re.Code == "InvalidRequest" {
		return nil, &errcode.Error{Code: errcode.InvalidPart, Field: "parts", UpstreamRequestID: re.RequestID, Err: err,
			Message: c.Name + " refused the parts: they do not add up to the declared " + strconv.FormatInt(*opts.ObjectSize, 10) + " bytes"}
	}
	if err != nil {
		return nil, c.Error(err)
	}
	var r struct{ Location, ETag, ChecksumCRC64NVME string }
	if err := xml.Unmarshal(rb, &r); err != nil {
		e := c.malformed("complete", err).(*errcode.Error)
		e.UpstreamRequestID = resp.Header.Get(c.RequestIDHeader)
		return nil, e
	}
	done := &wire.Completed{Bucket: c.Bucket, Key: key, Location: r.Location, ETag: r.ETag, CRC64NVME: r.ChecksumCRC64NVME}
	if done.Location == "" {
		done.Location = c.URL(key, nil)
	}
	if c.CRCHeader != "" {
		done.CRC64 = resp.Header.Get(c.CRCHeader)
	}
	return done, nil
}

// Abort discards an upload.
func (c *Client) Abort(ctx context.Context, key, uploadID string) error {
	if _, _, err := c.Do(ctx, Call{Method: http.MethodDelete, Key: key, Query: url.Values{"uploadId": {uploadID}}}); err != nil {
		return c.Error(err)
	}
	return nil
}

// PutMarker stores a small object only if none exists at key and reports whether this
// call created it: of two deliveries of one queue message, exactly one wins.
func (c *Client) PutMarker(ctx context.Context, key string, body []byte) (bool, error) {
	h := http.Header{"Content-Type": {"application/json"}}
	for k, v := range c.Conditional {
		h[k] = v
	}
	_, _, err := c.Do(ctx, Call{Method: http.MethodPut, Key: key, Body: body, Header: h})
	var re *ResponseError
	if errors.As(err, &re) && (re.Code == "FileAlreadyExists" || re.Status == http.StatusConflict || re.Status == http.StatusPreconditionFailed) {
		return false, nil
	}
	if err != nil {
		return false, c.Error(err)
	}
	return true, nil
}

// PutRecord stores a small object at key, replacing any there (records a later writer
// may supersede: declarations).
func (c *Client) PutRecord(ctx context.Context, key string, body []byte) error {
	_, _, err := c.Do(ctx, Call{Method: http.MethodPut, Key: key, Body: body, Header: http.Header{"Content-Type": {"application/json"}}})
	if err != nil {
		return c.Error(err)
	}
	return nil
}

// GetMarker reads a marker; ok is false when there is none.
func (c *Client) GetMarker(ctx context.Context, key string) ([]byte, bool, error) {
	_, body, err := c.Do(ctx, Call{Method: http.MethodGet, Key: key})
	var re *ResponseError
	if errors.As(err, &re) && (re.Code == "NoSuchKey" || re.Status == http.StatusNotFound) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, c.Error(err)
	}
	return body, true, nil
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout())
}

// Credentials retrieves the signing credentials, failures mapped like Error's.
func (c *Client) Credentials(ctx context.Context) (credentials.Value, error) {
	v, err := c.Creds.Retrieve(ctx)
	if err != nil {
		return v, c.Error(&credentialsError{err})
	}
	return v, nil
}

// credentialsError is a failure to obtain signing credentials (not to sign or send).
type credentialsError struct{ err error }

func (e *credentialsError) Error() string { return "credentials: " + e.err.Error() }
func (e *credentialsError) Unwrap() error { return e.err }

// Error maps failures to the service's errors, keeping the service's request id and
// never the request (it would carry a signature).
func (c *Client) Error(err error) error {
	if errors.Is(err, credentials.ErrMissing) {
		return &errcode.Error{Code: errcode.CredentialsFailed, Message: "no signing credentials are available", Err: err}
	}
	var ce *credentialsError
	if errors.As(err, &ce) {
		return &errcode.Error{Code: errcode.CredentialsFailed, Message: "could not obtain signing credentials", Err: err}
	}
	var re *ResponseError
	if !errors.As(err, &re) {
		// Building or signing the request failed: the function's fault, not the credentials'.
		return &errcode.Error{Code: errcode.Internal, Message: "could not sign the " + c.Name + " request", Err: err}
	}
	n := c.Name
	e := &errcode.Error{Code: errcode.UpstreamError, UpstreamRequestID: re.RequestID, Err: err}
	switch {
	case re.Status == 0 && isTimeout(re.Err):
		e.Code, e.Message = errcode.UpstreamTimeout, n+" did not answer in time"
	case re.Status == 0:
		e.Message = "could not reach " + n
	case re.Expired():
		e.Code, e.Message = errcode.CredentialsFailed, n+" refused the function's credentials as expired; retry shortly"
	case re.Code == "NoSuchUpload":
		e.Code, e.Message = errcode.UploadNotFound, "the upload does not exist (completed, aborted or expired)"
	case re.Code == "FileAlreadyExists" || re.Code == "ObjectAlreadyExists" || re.Status == http.StatusConflict || re.Status == http.StatusPreconditionFailed:
		e.Code, e.Message = errcode.ObjectExists, "an object with this key exists and overwriting is forbidden"
	case re.Code == "EntityTooSmall" || re.Code == "InvalidPart" || re.Code == "InvalidPartOrder":
		e.Code, e.Message = errcode.InvalidPart, n+" refused the parts: "+re.Code
	case re.Code == "SlowDown" || re.Status == http.StatusServiceUnavailable || re.Status == http.StatusTooManyRequests:
		e.Code, e.Message = errcode.UpstreamBusy, n+" is busy; retry later"
	case re.Status == http.StatusForbidden || re.Status == http.StatusUnauthorized:
		e.Code, e.Message = errcode.UpstreamDenied, n+" refused the function's credentials: "+re.Code
	default:
		e.Message = n + " answered " + strconv.Itoa(re.Status) + " " + re.Code
	}
	return e
}
