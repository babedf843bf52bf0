package s3

import (
	"context"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"time"

	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/directup/directup/shared/upload"
)

var _ upload.Store = (*Client)(nil)

// Capabilities implements upload.Store: S3's smallest part but the last is 5 MiB (COS's
// 1 MiB), keys take 1,024 bytes, the storage classes with an S3 equivalent, no
// per-grantee permissions by Tencent UIN.
func (c *Client) Capabilities() upload.Capabilities {
	caps := upload.DefaultCapabilities()
	caps.MinPartSize, caps.MaxKeyLength, caps.Grants = 5<<20, 1024, false
	caps.StorageClasses = slices.Sorted(maps.Keys(storageClasses))
	return caps
}

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
	return c.Client.Initiate(ctx, obj.Key, h)
}

const sseCKeyHeader = "x-amz-server-side-encryption-customer-key"

// Presign implements upload.Store with SigV4 query signing: host and (pinned uploads)
// content-length are signed; one signer per call, since it caches keys by key id.
func (c *Client) Presign(ctx context.Context, req *upload.PresignRequest) (*upload.Presigned, error) {
	cred, err := c.Credentials(ctx)
	if err != nil {
		return nil, err
	}
	now := c.Now()
	ttl := min(req.TTL, 7*24*time.Hour) // SigV4's limit
	if !cred.Expires.IsZero() && cred.Expires.Before(now.Add(ttl)) {
		ttl = cred.Expires.Sub(now)
	}
	if ttl < time.Minute {
		return nil, &upload.Error{Status: http.StatusServiceUnavailable, Code: upload.CodeCredentialsFailed,
			Message: "signing credentials expire too soon to presign parts; retry shortly"}
	}
	var clientHeaders map[string]string
	keyHeader := ""
	if req.CustomerKeyMD5 != "" {
		// S3 refuses x-amz-* headers a presigned URL did not sign, the key's among them:
		// the key is signed in (and sent by the client, never returned).
		if req.CustomerKey == "" {
			return nil, &upload.Error{Status: http.StatusBadRequest, Code: upload.CodeMissingField, Field: "customerKey",
				Message: "S3 signs the SSE-C key into part URLs: send customerKey with the request for URLs"}
		}
		keyHeader = sseCKeyHeader
		clientHeaders = map[string]string{"x-amz-server-side-encryption-customer-algorithm": "AES256",
			"x-amz-server-side-encryption-customer-key-MD5": req.CustomerKeyMD5}
	}
	signer := v4.NewSigner(func(o *v4.SignerOptions) { o.DisableHeaderHoisting = true })
	expires := strconv.FormatInt(int64(ttl/time.Second), 10)
	out := &upload.Presigned{Parts: make([]upload.PresignedPart, len(req.Parts)), Expires: time.Unix(now.Add(ttl).Unix(), 0)}
	// One request serves every part: PresignHTTP clones it, and only the query and the
	// signed length change between parts.
	r, err := http.NewRequestWithContext(ctx, http.MethodPut, c.url(req.Key, nil), nil)
	if err != nil {
		return nil, err
	}
	for k, v := range clientHeaders {
		r.Header.Set(k, v)
	}
	if keyHeader != "" {
		r.Header.Set(keyHeader, req.CustomerKey)
	}
	query := url.Values{"uploadId": {req.UploadID}, "X-Amz-Expires": {expires}}
	for i, part := range req.Parts {
		query.Set("partNumber", strconv.Itoa(part.Number))
		r.URL.RawQuery = query.Encode()
		size := part.Size
		if req.Unpinned {
			size = 0
		}
		r.ContentLength = size // signed when > 0
		u, _, err := signer.PresignHTTP(ctx, awsCreds(cred), r, "UNSIGNED-PAYLOAD", "s3", c.region, now)
		if err != nil {
			return nil, err
		}
		out.Parts[i] = upload.PresignedPart{PartNumber: part.Number, Method: http.MethodPut, URL: u, Headers: clientHeaders, Size: size,
			CustomerKeyHeader: keyHeader}
	}
	return out, nil
}
