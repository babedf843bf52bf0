// Package cos is directup's Tencent Cloud COS store: it signs and sends the multipart
// calls (Initiate, ListParts, Complete, Abort) and presigns UploadPart URLs.
//
// Permissions the signing credentials need on the bucket's key prefix:
// cos:InitiateMultipartUpload, cos:UploadPart, cos:ListParts,
// cos:CompleteMultipartUpload, cos:AbortMultipartUpload, cos:HeadObject (abort tells a
// completed upload from a gone one), cos:GetObject and cos:DeleteObject (content
// verification); on the bucket, cos:ListMultipartUploads (orphan
// clean-up after a lost initiate answer).
package cos

import (
	"context"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/directup/directup/shared/cos/cossign"
	"github.com/directup/directup/shared/credentials"
	"github.com/directup/directup/shared/storerest"
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

// Client talks to one bucket: the shared multipart client with COS's addresses,
// signatures and header names.
type Client struct {
	*storerest.Client
	bucket   string
	region   string
	endpoint string // scheme://host, no trailing slash
	custom   bool   // the endpoint was set (COS_ENDPOINT), not derived
	host     string

	// Issuer, when set, issues one-off keys narrowed by an inline policy (Tencent STS's
	// AssumeRole into COS_ROLE_ARN): the store can then hand clients scoped keys.
	Issuer func(ctx context.Context, policy string, ttl time.Duration) (credentials.Value, string, error)
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
	c := &Client{bucket: cfg.Bucket, region: cfg.Region, endpoint: endpoint, custom: cfg.Endpoint != "", host: u.Host}
	c.Client = storerest.New(storerest.Dialect{
		Name: "COS", Bucket: cfg.Bucket, RequestIDHeader: "x-cos-request-id", CRCHeader: crc64Header, MetaPrefix: "X-Cos-Meta-",
		URL: c.url, Sign: c.sign, Conditional: http.Header{"X-Cos-Forbid-Overwrite": {"true"}},
	}, creds, httpClient)
	return c, nil
}

// Endpoint returns the base URL requests go to.
func (c *Client) Endpoint() string { return c.endpoint }

func (c *Client) url(key string, q url.Values) string {
	u := c.endpoint + "/" + cossign.EscapePath(key)
	if len(q) > 0 {
		u += "?" + encodeQuery(q)
	}
	return u
}

// sign adds the COS signature: the session token header, host, every x-cos-* and standard
// header the SDK signs, and the length Go will send, over a window around now.
func (c *Client) sign(req *http.Request, call *storerest.Call, cred credentials.Value, now time.Time) error {
	if cred.SessionToken != "" {
		req.Header.Set(cossign.TokenHeader, cred.SessionToken)
	}
	signed := cossign.SignableHeaders(req.Header, c.host)
	if call.Method == http.MethodPost || call.Method == http.MethodPut || len(call.Body) > 0 {
		signed.Set("Content-Length", strconv.Itoa(len(call.Body))) // Go sends it; COS sees it signed
	}
	kt := cossign.KeyTime(now.Add(-time.Minute), now.Add(15*time.Minute))
	sig := cossign.Sign(cred.SecretAccessKey, kt, cossign.Request{Method: call.Method, Path: "/" + call.Key, Params: call.Query, Headers: signed})
	req.Header.Set("Authorization", sig.Authorization(cred.AccessKeyID))
	return nil
}

// encodeQuery writes parameters sorted by name; valueless ones ("uploads") stay bare.
func encodeQuery(q url.Values) string {
	var b strings.Builder
	for _, k := range slices.Sorted(maps.Keys(q)) {
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
