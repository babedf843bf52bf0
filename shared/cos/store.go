package cos

import (
	"context"
	"encoding/xml"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/directup/directup/shared/cos/cossign"
	"github.com/directup/directup/shared/credentials"
	"github.com/directup/directup/shared/upload"
)

var _ upload.Store = (*Client)(nil)

// Bucket implements upload.Store.
func (c *Client) Bucket() string { return c.bucket }

// InitiateHeaders renders an object's settings as the request headers of the user's
// document (Initiate Multipart Upload): entity headers, x-cos-meta-*, storage class,
// tagging, forbid-overwrite, ACL and grants, and SSE-COS / SSE-KMS / SSE-C.
func InitiateHeaders(obj *upload.Object) http.Header {
	h := http.Header{}
	set := func(name, v string) {
		if v != "" {
			h[name] = []string{v}
		}
	}
	set("Content-Type", obj.ContentType)
	set("Cache-Control", obj.CacheControl)
	set("Content-Disposition", obj.ContentDisposition)
	set("Content-Encoding", obj.ContentEncoding)
	set("Expires", obj.Expires)
	for k, v := range obj.Metadata {
		set(http.CanonicalHeaderKey("x-cos-meta-"+k), v)
	}
	set("X-Cos-Storage-Class", obj.StorageClass)
	if len(obj.Tags) > 0 {
		set("X-Cos-Tagging", upload.EncodeTags(obj.Tags, cossign.Escape))
	}
	if obj.ForbidOverwrite {
		set("X-Cos-Forbid-Overwrite", "true")
	}
	set("X-Cos-Acl", obj.ACL)
	set("X-Cos-Grant-Read", strings.Join(obj.Grants.Read, ","))
	set("X-Cos-Grant-Read-Acp", strings.Join(obj.Grants.ReadACP, ","))
	set("X-Cos-Grant-Write-Acp", strings.Join(obj.Grants.WriteACP, ","))
	set("X-Cos-Grant-Full-Control", strings.Join(obj.Grants.FullControl, ","))
	if e := obj.Encryption; e != nil {
		switch e.Type {
		case upload.SSECOS, upload.SSEKMS:
			set("X-Cos-Server-Side-Encryption", e.Type)
			set("X-Cos-Server-Side-Encryption-Cos-Kms-Key-Id", e.KMSKeyID)
			set("X-Cos-Server-Side-Encryption-Context", e.Context)
		case upload.SSEC:
			set(sseCAlgorithm, "AES256")
			set(sseCKey, e.CustomerKey)
			set(sseCKeyMD5, e.CustomerKeyMD5)
		}
	}
	return h
}

// SSE-C headers; UploadPart must carry the same three.
const (
	sseCAlgorithm = "X-Cos-Server-Side-Encryption-Customer-Algorithm"
	sseCKey       = "X-Cos-Server-Side-Encryption-Customer-Key"
	sseCKeyMD5    = "X-Cos-Server-Side-Encryption-Customer-Key-Md5"
)

// Initiate implements upload.Store: POST /<key>?uploads.
func (c *Client) Initiate(ctx context.Context, obj *upload.Object) (string, error) {
	_, body, err := c.do(ctx, call{method: http.MethodPost, key: obj.Key, query: url.Values{"uploads": {""}}, header: InitiateHeaders(obj)})
	if err != nil {
		return "", storeError(err)
	}
	var r struct {
		UploadID string `xml:"UploadId"`
	}
	if err := xml.Unmarshal(body, &r); err != nil || r.UploadID == "" {
		return "", &upload.Error{Status: http.StatusBadGateway, Code: upload.CodeUpstreamError, Message: "COS answered initiate without an UploadId"}
	}
	return r.UploadID, nil
}

// Presign implements upload.Store. URLs sign host and content-length, so each part
// can only be uploaded with its planned size, and never outlive the credentials.
func (c *Client) Presign(ctx context.Context, req *upload.PresignRequest) (*upload.Presigned, error) {
	cred, err := c.creds.Retrieve(ctx)
	if err != nil {
		return nil, storeError(err)
	}
	now := c.now()
	end := now.Add(req.TTL)
	if !cred.Expires.IsZero() && cred.Expires.Before(end) {
		end = cred.Expires
	}
	if !end.After(now.Add(time.Minute)) {
		return nil, &upload.Error{Status: http.StatusServiceUnavailable, Code: upload.CodeCredentialsFailed,
			Message: "signing credentials expire too soon to presign parts; retry shortly"}
	}
	var headers http.Header
	var clientHeaders map[string]string
	if req.CustomerKeyMD5 != "" {
		headers = http.Header{sseCAlgorithm: {"AES256"}, sseCKeyMD5: {req.CustomerKeyMD5}}
		clientHeaders = map[string]string{
			"x-cos-server-side-encryption-customer-algorithm": "AES256",
			"x-cos-server-side-encryption-customer-key-MD5":   req.CustomerKeyMD5,
		}
	}
	p, err := cossign.NewPartPresigner(cossign.Credentials{
		SecretID: cred.AccessKeyID, SecretKey: cred.SecretAccessKey, SessionToken: cred.SessionToken,
	}, cossign.PartOptions{
		Endpoint: c.endpoint, Host: c.host, Key: req.Key, UploadID: req.UploadID,
		KeyTime: cossign.KeyTime(now, end), SignContentLength: !req.Unpinned, Headers: headers,
	})
	if err != nil {
		return nil, err
	}
	out := &upload.Presigned{Parts: make([]upload.PresignedPart, len(req.Parts)), Expires: time.Unix(end.Unix(), 0)}
	for i, part := range req.Parts {
		size := part.Size
		if req.Unpinned {
			size = 0 // not signed, not reported
		}
		out.Parts[i] = upload.PresignedPart{
			PartNumber: part.Number, Method: http.MethodPut, URL: p.URL(part.Number, size),
			Headers: clientHeaders, Size: size,
		}
	}
	return out, nil
}

type listPartsResult struct {
	IsTruncated          bool   `xml:"IsTruncated"`
	NextPartNumberMarker string `xml:"NextPartNumberMarker"`
	Parts                []struct {
		PartNumber int    `xml:"PartNumber"`
		ETag       string `xml:"ETag"`
		Size       int64  `xml:"Size"`
	} `xml:"Part"`
}

// ListParts implements upload.Store, following every page.
func (c *Client) ListParts(ctx context.Context, key, uploadID string) ([]upload.StoredPart, error) {
	var out []upload.StoredPart
	marker := ""
	for page := 0; page <= upload.MaxParts; page++ {
		q := url.Values{"uploadId": {uploadID}, "max-parts": {"1000"}}
		if marker != "" {
			q.Set("part-number-marker", marker)
		}
		_, body, err := c.do(ctx, call{method: http.MethodGet, key: key, query: q})
		if err != nil {
			return nil, storeError(err)
		}
		var r listPartsResult
		if err := xml.Unmarshal(body, &r); err != nil {
			return nil, &upload.Error{Status: http.StatusBadGateway, Code: upload.CodeUpstreamError, Message: "COS answered ListParts with malformed XML", Err: err}
		}
		for _, p := range r.Parts {
			out = append(out, upload.StoredPart{PartNumber: p.PartNumber, ETag: p.ETag, Size: p.Size})
		}
		if !r.IsTruncated {
			return out, nil
		}
		if r.NextPartNumberMarker == "" || r.NextPartNumberMarker == marker {
			return nil, &upload.Error{Status: http.StatusBadGateway, Code: upload.CodeUpstreamError, Message: "COS ListParts paging did not advance"}
		}
		marker = r.NextPartNumberMarker
	}
	return out, nil
}

type completeBody struct {
	XMLName xml.Name `xml:"CompleteMultipartUpload"`
	Parts   []struct {
		PartNumber int    `xml:"PartNumber"`
		ETag       string `xml:"ETag"`
	} `xml:"Part"`
}

// Complete implements upload.Store. COS may answer 200 and still fail (an <Error> after
// keep-alive whitespace), so the body is always parsed.
func (c *Client) Complete(ctx context.Context, key, uploadID string, parts []upload.CompletedPart) (*upload.Completed, error) {
	var cb completeBody
	for _, p := range parts {
		cb.Parts = append(cb.Parts, struct {
			PartNumber int    `xml:"PartNumber"`
			ETag       string `xml:"ETag"`
		}{p.PartNumber, p.ETag})
	}
	body, _ := xml.Marshal(cb)
	resp, rb, err := c.do(ctx, call{
		method: http.MethodPost, key: key, query: url.Values{"uploadId": {uploadID}},
		header: http.Header{"Content-Type": {"application/xml"}}, body: body, errorIn200: true,
	})
	if err != nil {
		return nil, storeError(err)
	}
	var r struct {
		Location string `xml:"Location"`
		Bucket   string `xml:"Bucket"`
		Key      string `xml:"Key"`
		ETag     string `xml:"ETag"`
	}
	if err := xml.Unmarshal(rb, &r); err != nil {
		return nil, &upload.Error{Status: http.StatusBadGateway, Code: upload.CodeUpstreamError,
			Message: "COS answered complete with malformed XML", UpstreamRequestID: resp.Header.Get("x-cos-request-id"), Err: err}
	}
	loc := r.Location
	if loc == "" {
		loc = c.endpoint + "/" + cossign.EscapePath(key)
	}
	return &upload.Completed{
		Bucket: c.bucket, Key: key, Location: loc, ETag: r.ETag,
		CRC64: resp.Header.Get("x-cos-hash-crc64ecma"),
	}, nil
}

// Abort implements upload.Store: DELETE /<key>?uploadId=ID.
func (c *Client) Abort(ctx context.Context, key, uploadID string) error {
	_, _, err := c.do(ctx, call{method: http.MethodDelete, key: key, query: url.Values{"uploadId": {uploadID}}})
	if err != nil {
		return storeError(err)
	}
	return nil
}

// storeError maps COS and transport failures to the service's errors, keeping the COS
// request id and never the request itself (it would carry the signature).
func storeError(err error) error {
	if errors.Is(err, credentials.ErrMissing) {
		return &upload.Error{Status: http.StatusServiceUnavailable, Code: upload.CodeCredentialsFailed,
			Message: "no signing credentials are available", Err: err}
	}
	var re *ResponseError
	if !errors.As(err, &re) {
		return &upload.Error{Status: http.StatusBadGateway, Code: upload.CodeCredentialsFailed,
			Message: "could not obtain signing credentials", Err: err}
	}
	e := &upload.Error{Status: http.StatusBadGateway, Code: upload.CodeUpstreamError, UpstreamRequestID: re.RequestID, Err: err}
	switch {
	case re.Status == 0 && isTimeout(re.Err):
		e.Status, e.Code, e.Message = http.StatusGatewayTimeout, upload.CodeUpstreamTimeout, "COS did not answer in time"
	case re.Status == 0:
		e.Message = "could not reach COS"
	case re.expired():
		e.Status, e.Code, e.Message = http.StatusServiceUnavailable, upload.CodeCredentialsFailed, "COS refused the function's credentials as expired; retry shortly"
	case re.Code == "NoSuchUpload":
		e.Status, e.Code, e.Message = http.StatusNotFound, upload.CodeUploadNotFound, "the upload does not exist (completed, aborted or expired)"
	case re.Code == "FileAlreadyExists" || re.Code == "ObjectAlreadyExists" || re.Status == http.StatusConflict:
		e.Status, e.Code, e.Message = http.StatusConflict, upload.CodeObjectExists, "an object with this key exists and overwriting is forbidden"
	case re.Code == "EntityTooSmall" || re.Code == "InvalidPart" || re.Code == "InvalidPartOrder":
		e.Status, e.Code, e.Message = http.StatusConflict, upload.CodeInvalidPart, "COS refused the parts: "+re.Code
	case re.Code == "SlowDown" || re.Status == http.StatusServiceUnavailable:
		e.Status, e.Code, e.Message = http.StatusServiceUnavailable, upload.CodeUpstreamBusy, "COS is busy; retry later"
	case re.Status == http.StatusForbidden || re.Status == http.StatusUnauthorized:
		e.Code, e.Message = upload.CodeUpstreamDenied, "COS refused the function's credentials: "+re.Code
	default:
		e.Message = "COS answered " + strconv.Itoa(re.Status) + " " + re.Code
	}
	return e
}

// PresignGet returns a URL that downloads key for ttl (local mode's demo links).
func (c *Client) PresignGet(ctx context.Context, key string, ttl time.Duration) (string, error) {
	cred, err := c.creds.Retrieve(ctx)
	if err != nil {
		return "", storeError(err)
	}
	now := c.now()
	q := url.Values{}
	if cred.SessionToken != "" {
		q.Set(cossign.TokenHeader, cred.SessionToken)
	}
	sig := cossign.Sign(cred.SecretAccessKey, cossign.KeyTime(now, now.Add(ttl)), cossign.Request{
		Method: http.MethodGet, Path: "/" + key, Params: q, Headers: http.Header{"Host": {c.host}},
	})
	u := c.endpoint + "/" + cossign.EscapePath(key) + "?"
	if len(q) > 0 {
		u += q.Encode() + "&"
	}
	return u + sig.Query(cred.AccessKeyID), nil
}

// PutMarker stores a small object only if none exists at key (x-cos-forbid-overwrite), and
// reports whether this call created it. Queue idempotency markers use it: of two
// deliveries of one message, exactly one wins. Needs cos:PutObject on the marker prefix.
func (c *Client) PutMarker(ctx context.Context, key string, body []byte) (bool, error) {
	_, _, err := c.do(ctx, call{method: http.MethodPut, key: key, body: body, header: http.Header{
		"Content-Type": {"application/json"}, "X-Cos-Forbid-Overwrite": {"true"},
	}})
	var re *ResponseError
	if errors.As(err, &re) && (re.Code == "FileAlreadyExists" || re.Status == http.StatusConflict) {
		return false, nil
	}
	if err != nil {
		return false, storeError(err)
	}
	return true, nil
}

// GetMarker reads a marker; ok is false when there is none. Needs cos:GetObject.
func (c *Client) GetMarker(ctx context.Context, key string) ([]byte, bool, error) {
	_, body, err := c.do(ctx, call{method: http.MethodGet, key: key})
	var re *ResponseError
	if errors.As(err, &re) && (re.Code == "NoSuchKey" || re.Status == http.StatusNotFound) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, storeError(err)
	}
	return body, true, nil
}
