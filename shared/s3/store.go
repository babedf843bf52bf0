package s3

import (
	"context"
	"encoding/xml"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"time"

	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/directup/directup/shared/upload"
)

// MinPartSize is S3's smallest non-last part, 5 MiB (COS takes 1 MiB).
func (c *Client) MinPartSize() int64 { return 5 << 20 }

// storageClasses maps COS classes to their S3 equivalents; the others have none.
var storageClasses = map[string]string{
	"STANDARD": "STANDARD", "STANDARD_IA": "STANDARD_IA", "INTELLIGENT_TIERING": "INTELLIGENT_TIERING",
	"ARCHIVE": "GLACIER", "DEEP_ARCHIVE": "DEEP_ARCHIVE",
}

func refuse(field, msg string) error {
	return &upload.Error{Status: http.StatusBadRequest, Code: upload.CodeInvalidField, Field: field, Message: msg}
}

// InitiateHeaders maps an object's settings to S3's CreateMultipartUpload headers, and
// refuses clearly what S3 has no equivalent for.
func InitiateHeaders(obj *upload.Object) (http.Header, error) {
	h := http.Header{}
	set := func(name, v string) {
		if v != "" {
			h.Set(name, v)
		}
	}
	set("Content-Type", obj.ContentType)
	set("Cache-Control", obj.CacheControl)
	set("Content-Disposition", obj.ContentDisposition)
	set("Content-Encoding", obj.ContentEncoding)
	set("Expires", obj.Expires)
	for k, v := range obj.Metadata {
		set("X-Amz-Meta-"+k, v)
	}
	if obj.StorageClass != "" {
		c, ok := storageClasses[obj.StorageClass]
		if !ok {
			return nil, refuse("storageClass", obj.StorageClass+" has no S3 equivalent")
		}
		set("X-Amz-Storage-Class", c)
	}
	if len(obj.Tags) > 0 {
		set("X-Amz-Tagging", upload.EncodeTags(obj.Tags, url.QueryEscape))
	}
	if obj.ForbidOverwrite {
		return nil, refuse("forbidOverwrite", "the S3 store does not support forbidOverwrite")
	}
	if obj.ACL != "" && obj.ACL != "default" {
		set("X-Amz-Acl", obj.ACL) // the other COS object ACLs are S3's canned ACLs by the same names
	}
	g := obj.Grants
	if len(g.Read)+len(g.ReadACP)+len(g.WriteACP)+len(g.FullControl) > 0 {
		return nil, refuse("grants", "S3 grants name AWS canonical users, not Tencent UINs: use acl")
	}
	if e := obj.Encryption; e != nil {
		switch e.Type {
		case upload.SSECOS:
			set("X-Amz-Server-Side-Encryption", "AES256")
		case upload.SSEKMS:
			set("X-Amz-Server-Side-Encryption", "aws:kms")
			set("X-Amz-Server-Side-Encryption-Aws-Kms-Key-Id", e.KMSKeyID)
			set("X-Amz-Server-Side-Encryption-Context", e.Context)
		case upload.SSEC:
			set(sseCAlgorithm, "AES256")
			set("X-Amz-Server-Side-Encryption-Customer-Key", e.CustomerKey)
			set(sseCKeyMD5, e.CustomerKeyMD5)
		}
	}
	return h, nil
}

const (
	sseCAlgorithm = "X-Amz-Server-Side-Encryption-Customer-Algorithm"
	sseCKeyMD5    = "X-Amz-Server-Side-Encryption-Customer-Key-Md5"
)

// Initiate implements upload.Store: CreateMultipartUpload.
func (c *Client) Initiate(ctx context.Context, obj *upload.Object) (string, error) {
	h, err := InitiateHeaders(obj)
	if err != nil {
		return "", err
	}
	_, body, err := c.do(ctx, call{method: http.MethodPost, key: obj.Key, query: url.Values{"uploads": {""}}, header: h})
	if err != nil {
		return "", storeError(err)
	}
	var r struct {
		UploadID string `xml:"UploadId"`
	}
	if err := xml.Unmarshal(body, &r); err != nil || r.UploadID == "" {
		return "", &upload.Error{Status: http.StatusBadGateway, Code: upload.CodeUpstreamError, Message: "S3 answered initiate without an UploadId"}
	}
	return r.UploadID, nil
}

// Presign implements upload.Store with SigV4 query signing: host and (pinned uploads)
// content-length are signed; one signer per call, since it caches keys by key id.
func (c *Client) Presign(ctx context.Context, req *upload.PresignRequest) (*upload.Presigned, error) {
	cred, err := c.creds.Retrieve(ctx)
	if err != nil {
		return nil, storeError(err)
	}
	now := c.now()
	ttl := min(req.TTL, 7*24*time.Hour) // SigV4's limit
	if !cred.Expires.IsZero() && cred.Expires.Before(now.Add(ttl)) {
		ttl = cred.Expires.Sub(now)
	}
	if ttl < time.Minute {
		return nil, &upload.Error{Status: http.StatusServiceUnavailable, Code: upload.CodeCredentialsFailed,
			Message: "signing credentials expire too soon to presign parts; retry shortly"}
	}
	var clientHeaders map[string]string
	if req.CustomerKeyMD5 != "" {
		clientHeaders = map[string]string{"x-amz-server-side-encryption-customer-algorithm": "AES256",
			"x-amz-server-side-encryption-customer-key-MD5": req.CustomerKeyMD5}
	}
	signer := v4.NewSigner(func(o *v4.SignerOptions) { o.DisableHeaderHoisting = true })
	expires := strconv.FormatInt(int64(ttl/time.Second), 10)
	out := &upload.Presigned{Parts: make([]upload.PresignedPart, len(req.Parts)), Expires: time.Unix(now.Add(ttl).Unix(), 0)}
	for i, part := range req.Parts {
		q := url.Values{"partNumber": {strconv.Itoa(part.Number)}, "uploadId": {req.UploadID}, "X-Amz-Expires": {expires}}
		r, _ := http.NewRequestWithContext(ctx, http.MethodPut, c.objectURL(req.Key, q).String(), nil)
		size := part.Size
		if req.Unpinned {
			size = 0
		}
		r.ContentLength = size // signed when > 0
		for k, v := range clientHeaders {
			r.Header.Set(k, v)
		}
		u, _, err := signer.PresignHTTP(ctx, awsCreds(cred), r, "UNSIGNED-PAYLOAD", "s3", c.region, now)
		if err != nil {
			return nil, err
		}
		out.Parts[i] = upload.PresignedPart{PartNumber: part.Number, Method: http.MethodPut, URL: u, Headers: clientHeaders, Size: size}
	}
	return out, nil
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
		var r struct {
			IsTruncated          bool
			NextPartNumberMarker string
			Part                 []struct {
				PartNumber int
				ETag       string
				Size       int64
			}
		}
		if err := xml.Unmarshal(body, &r); err != nil {
			return nil, &upload.Error{Status: http.StatusBadGateway, Code: upload.CodeUpstreamError, Message: "S3 answered ListParts with malformed XML", Err: err}
		}
		for _, p := range r.Part {
			out = append(out, upload.StoredPart{PartNumber: p.PartNumber, ETag: p.ETag, Size: p.Size})
		}
		if !r.IsTruncated {
			return out, nil
		}
		if r.NextPartNumberMarker == "" || r.NextPartNumberMarker == marker {
			return nil, &upload.Error{Status: http.StatusBadGateway, Code: upload.CodeUpstreamError, Message: "S3 ListParts paging did not advance"}
		}
		marker = r.NextPartNumberMarker
	}
	return out, nil
}

// Complete implements upload.Store; S3, like COS, may answer 200 with an <Error> body.
func (c *Client) Complete(ctx context.Context, key, uploadID string, parts []upload.CompletedPart) (*upload.Completed, error) {
	type xmlPart struct {
		PartNumber int
		ETag       string
	}
	var cb struct {
		XMLName xml.Name  `xml:"CompleteMultipartUpload"`
		Part    []xmlPart `xml:"Part"`
	}
	for _, p := range parts {
		cb.Part = append(cb.Part, xmlPart{p.PartNumber, p.ETag})
	}
	body, _ := xml.Marshal(cb)
	resp, rb, err := c.do(ctx, call{method: http.MethodPost, key: key, query: url.Values{"uploadId": {uploadID}},
		header: http.Header{"Content-Type": {"application/xml"}}, body: body, errorIn200: true})
	if err != nil {
		return nil, storeError(err)
	}
	var r struct{ Location, ETag string }
	if err := xml.Unmarshal(rb, &r); err != nil {
		return nil, &upload.Error{Status: http.StatusBadGateway, Code: upload.CodeUpstreamError,
			Message: "S3 answered complete with malformed XML", UpstreamRequestID: resp.Header.Get("x-amz-request-id"), Err: err}
	}
	loc := r.Location
	if loc == "" {
		loc = c.objectURL(key, nil).String()
	}
	return &upload.Completed{Bucket: c.bucket, Key: key, Location: loc, ETag: r.ETag}, nil
}

// Abort implements upload.Store.
func (c *Client) Abort(ctx context.Context, key, uploadID string) error {
	if _, _, err := c.do(ctx, call{method: http.MethodDelete, key: key, query: url.Values{"uploadId": {uploadID}}}); err != nil {
		return storeError(err)
	}
	return nil
}

// PutMarker stores a marker only if none exists (If-None-Match: *, S3's conditional write).
func (c *Client) PutMarker(ctx context.Context, key string, body []byte) (bool, error) {
	_, _, err := c.do(ctx, call{method: http.MethodPut, key: key, body: body,
		header: http.Header{"Content-Type": {"application/json"}, "If-None-Match": {"*"}}})
	var re *responseError
	if errors.As(err, &re) && (re.Status == http.StatusPreconditionFailed || re.Status == http.StatusConflict) {
		return false, nil
	}
	if err != nil {
		return false, storeError(err)
	}
	return true, nil
}

// GetMarker reads a marker; ok is false when there is none.
func (c *Client) GetMarker(ctx context.Context, key string) ([]byte, bool, error) {
	_, body, err := c.do(ctx, call{method: http.MethodGet, key: key})
	var re *responseError
	if errors.As(err, &re) && (re.Code == "NoSuchKey" || re.Status == http.StatusNotFound) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, storeError(err)
	}
	return body, true, nil
}
