package cos

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/directup/directup/shared/cos/campolicy"
	"github.com/directup/directup/shared/cos/cossign"
	"github.com/directup/directup/shared/errcode"
	"github.com/directup/directup/shared/storage"
	"github.com/directup/directup/shared/storerest"
	"github.com/directup/directup/shared/tempkeys"
	"github.com/directup/directup/shared/wire"
)

var (
	_ storage.Store      = (*Client)(nil)
	_ storage.Downloader = (*Client)(nil)
	_ tempkeys.Issuer    = (*Client)(nil)
)

// IssueKeys implements tempkeys.Issuer through Tencent STS: AssumeRole into COS_ROLE_ARN
// with the upload's inline policy (campolicy.ForUpload), so the keys can do exactly the
// upload calls on exactly that key, with the declared type and size.
func (c *Client) IssueKeys(ctx context.Context, scope tempkeys.Scope) (*tempkeys.Keys, error) {
	if c.Issuer == nil {
		return nil, &errcode.Error{Code: errcode.NotAvailable,
			Message: "temporary keys need COS_ROLE_ARN: the role STS narrows to each upload"}
	}
	policy := campolicy.ForUpload(c.region, c.bucket, scope.Key, scope.ContentType, scope.Size)
	start := c.Now()
	v, rid, err := c.Issuer(ctx, policy.JSON(), scope.TTL)
	if err != nil {
		return nil, &errcode.Error{Code: errcode.CredentialsFailed,
			Message: "Tencent STS did not issue the keys", UpstreamRequestID: rid, Err: err}
	}
	keys := &tempkeys.Keys{SecretID: v.AccessKeyID, SecretKey: v.SecretAccessKey, SessionToken: v.SessionToken,
		Start: start, Expires: v.Expires, RequestID: rid, Region: c.region}
	if c.custom {
		keys.Endpoint = c.endpoint
	}
	return keys, nil
}

// Capabilities implements storage.Store: COS takes every option of the Initiate
// Multipart Upload document, the JSON API's own vocabulary.
func (c *Client) Capabilities() storage.Capabilities {
	caps := storage.DefaultCapabilities()
	caps.FormsTakeUnnamedFields = true // POST Object binds only the fields its policy names
	return caps
}

// Bucket implements storage.Store.
func (c *Client) Bucket() string { return c.bucket }

// names are COS's header names for the settings it shares with S3.
var names = storerest.Names{Prefix: "X-Cos-", EscapeTag: cossign.Escape, KMS: "cos/kms",
	KMSKeyID: "X-Cos-Server-Side-Encryption-Cos-Kms-Key-Id", DefaultACL: true}

// InitiateHeaders renders an object's settings as the request headers of the user's
// document (Initiate Multipart Upload): entity headers, x-cos-meta-*, storage class,
// tagging, forbid-overwrite, ACL and grants, and SSE-COS / SSE-KMS / SSE-C.
func InitiateHeaders(obj *storage.Object) http.Header {
	h := storerest.InitiateHeaders(obj, names)
	set := func(name, v string) {
		if v != "" {
			h[name] = []string{v}
		}
	}
	if obj.ForbidOverwrite {
		set("X-Cos-Forbid-Overwrite", "true")
	}
	for k, v := range grantHeaders(obj.Grants) {
		h[k] = v
	}
	return h
}

// grantHeaders are the x-cos-grant-* headers (and form fields) of the grants, those set.
func grantHeaders(g storage.Grants) http.Header {
	h := http.Header{}
	for name, ids := range map[string][]string{"X-Cos-Grant-Read": g.Read, "X-Cos-Grant-Read-Acp": g.ReadACP,
		"X-Cos-Grant-Write-Acp": g.WriteACP, "X-Cos-Grant-Full-Control": g.FullControl} {
		if len(ids) > 0 {
			h[name] = []string{grantees(ids)}
		}
	}
	return h
}

// grantees writes ids as COS's grant headers take them: id="...",id="...".
func grantees(ids []string) string {
	var b strings.Builder
	for i, id := range ids {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`id="` + id + `"`)
	}
	return b.String()
}

// Initiate implements storage.Store: POST /<key>?uploads.
func (c *Client) Initiate(ctx context.Context, obj *storage.Object) (string, error) {
	return c.Client.Initiate(ctx, obj.Key, InitiateHeaders(obj))
}

// crc64Header is the answer header COS reports a stored part's CRC-64 in.
const crc64Header = "x-cos-hash-crc64ecma"

// Presign implements storage.Store. URLs sign host and content-length, so each part
// can only be uploaded with its planned size, and never outlive the credentials.
func (c *Client) Presign(ctx context.Context, req *storage.PresignRequest) (*storage.Presigned, error) {
	cred, now, end, err := c.PresignWindow(ctx, req.TTL, 0)
	if err != nil {
		return nil, err
	}
	// SSE-C: the algorithm and the key's MD5 are signed into every URL (COS takes the key
	// itself unsigned, from the client).
	var headers http.Header
	var clientHeaders map[string]string
	keyHeader := ""
	if req.CustomerKeyMD5 != "" {
		clientHeaders, keyHeader = storerest.SSECPartHeaders("x-cos-", req.CustomerKeyMD5)
		headers = http.Header{}
		for k, v := range clientHeaders {
			headers.Set(k, v)
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
	parts := make([]cossign.Part, len(req.Parts))
	for i, part := range req.Parts {
		parts[i] = cossign.Part{Number: part.Number, Size: part.Size}
	}
	if req.Compact { // the template and the signatures: no URL is built
		return &storage.Presigned{Expires: time.Unix(end.Unix(), 0), Compact: &wire.CompactParts{
			URL: p.Template(wire.PartNumberPlaceholder, wire.SignaturePlaceholder), Method: http.MethodPut,
			Headers: clientHeaders, CustomerKeyHeader: keyHeader, CRC64Header: crc64Header,
			Parts: wire.RunsOf(req.Parts), Signatures: wire.Signatures(p.Signatures(parts)), SignatureLength: cossign.SignatureLength,
		}}, nil
	}
	urls := p.URLs(parts)
	out := &storage.Presigned{Parts: make([]wire.PresignedPart, len(req.Parts)), Expires: time.Unix(end.Unix(), 0)}
	for i, part := range parts {
		out.Parts[i] = wire.PresignedPart{
			PartNumber: part.Number, Method: http.MethodPut, URL: urls[i], Headers: clientHeaders, Size: part.Size,
			CustomerKeyHeader: keyHeader, CRC64Header: crc64Header,
		}
	}
	return out, nil
}

// PresignGet returns a URL that downloads key for ttl (local mode's demo links).
func (c *Client) PresignGet(ctx context.Context, key string, ttl time.Duration) (string, error) {
	cred, err := c.Credentials(ctx)
	if err != nil {
		return "", err
	}
	now := c.Now()
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
