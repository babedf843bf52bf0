// Package s3 is directup's Amazon S3 store: the same multipart calls as the COS store,
// signed with AWS Signature V4 — requests with aws-sdk-go-v2's signer alone (its presign
// client costs ~18x more per URL), part URLs with partPresigner (presign.go), which the
// tests hold to that signer byte for byte — path-style or virtual-hosted.
//
// Permissions the role needs on arn:aws:s3:::<bucket>/<prefix>*: s3:PutObject (initiate,
// upload part, complete), s3:AbortMultipartUpload, s3:ListMultipartUploadParts,
// s3:GetObject (HEAD at abort, content verification, the queue function's markers),
// s3:DeleteObject (content verification); and on the bucket
// s3:ListBucketMultipartUploads (orphan clean-up after a lost initiate answer).
package s3

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/directup/directup/shared/credentials"
	"github.com/directup/directup/shared/storage"
	"github.com/directup/directup/shared/storerest"
)

// Config locates the bucket.
type Config struct {
	Bucket   string
	Region   string
	Endpoint string // optional scheme://host[:port]; then path-style addressing
}

// Client talks to one bucket: the shared multipart client with S3's addresses,
// signatures and header names.
type Client struct {
	*storerest.Client
	bucket, region string
	base           string // scheme://host
	pathPrefix     string // "/<bucket>" for path-style, "" for virtual-hosted
	host           string // the Host header as SigV4 signs it (no default port)
	keys           derivedKeys
}

// New returns a client; it does no network I/O.
func New(cfg Config, creds credentials.Provider, httpClient *http.Client) (*Client, error) {
	if cfg.Bucket == "" || strings.ContainsAny(cfg.Bucket, "/ ") {
		return nil, fmt.Errorf("S3_BUCKET: %q is not a bucket name", cfg.Bucket)
	}
	if cfg.Region == "" {
		return nil, errors.New("S3_REGION: required (like us-east-1)")
	}
	c := &Client{bucket: cfg.Bucket, region: cfg.Region, host: cfg.Bucket + ".s3." + cfg.Region + ".amazonaws.com"}
	c.base = "https://" + c.host
	if cfg.Endpoint != "" {
		u, err := url.Parse(cfg.Endpoint)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("S3_ENDPOINT: %q is not a URL like https://host[:port]", cfg.Endpoint)
		}
		c.base, c.pathPrefix = u.Scheme+"://"+u.Host, "/"+cfg.Bucket
		c.host = strings.TrimSuffix(u.Host, map[string]string{"http": ":80", "https": ":443"}[u.Scheme]) // as the signer does
	}
	c.Client = storerest.New(storerest.Dialect{
		Name: "S3", Bucket: cfg.Bucket, RequestIDHeader: "x-amz-request-id", MetaPrefix: "X-Amz-Meta-", URL: c.url, Sign: c.sign,
		Conditional: http.Header{"If-None-Match": {"*"}}, CompleteConditional: true, ObjectSizeHeader: "x-amz-mp-object-size",
		ChecksumHeader: "X-Amz-Checksum-Crc64nvme", StatHeader: http.Header{"X-Amz-Checksum-Mode": {"ENABLED"}},
		CompleteChecksum: http.Header{"X-Amz-Checksum-Type": {"FULL_OBJECT"}},
	}, creds, httpClient)
	return c, nil
}

// Bucket implements storage.Store.
func (c *Client) Bucket() string { return c.bucket }

var _ storage.Store = (*Client)(nil)

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
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(q)) {
		for _, v := range q[k] {
			parts = append(parts, url.QueryEscape(k)+"="+strings.ReplaceAll(url.QueryEscape(v), "+", "%20"))
		}
	}
	return strings.Join(parts, "&")
}

func (c *Client) url(key string, q url.Values) string {
	u := c.base + c.pathPrefix + "/" + escapePath(key)
	if len(q) > 0 {
		u += "?" + encodeQuery(q)
	}
	return u
}

func awsCreds(v credentials.Value) aws.Credentials {
	return aws.Credentials{AccessKeyID: v.AccessKeyID, SecretAccessKey: v.SecretAccessKey, SessionToken: v.SessionToken}
}

// sign adds a SigV4 signature over the body's SHA-256; a fresh signer each time, since
// it caches derived keys by key id and temporary credentials change.
func (c *Client) sign(req *http.Request, call *storerest.Call, cred credentials.Value, now time.Time) error {
	sum := sha256.Sum256(call.Body)
	hash := hex.EncodeToString(sum[:])
	req.Header.Set("X-Amz-Content-Sha256", hash)
	// S3 signs the path as sent, escaped once (the SDK's S3 client sets the same option);
	// the signer's default escapes it twice, which breaks keys with spaces or non-ASCII.
	return v4.NewSigner(func(o *v4.SignerOptions) { o.DisableURIPathEscaping = true }).SignHTTP(req.Context(), awsCreds(cred), req, hash, "s3", c.region, now)
}
