package s3

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"time"

	"github.com/directup/directup/shared/formpolicy"
	"github.com/directup/directup/shared/storage"
	"github.com/directup/directup/shared/storerest"
)

var _ storage.FormUploader = (*Client)(nil)

// PresignForm implements storage.FormUploader with a SigV4 POST policy: the object's exact
// key and settings, the file's length range, the bucket and the signature's own fields
// (x-amz-algorithm, x-amz-credential, x-amz-date, x-amz-security-token) as conditions;
// x-amz-signature is HMAC-SHA256 of the base64 policy with the day's signing key, as
// aws-sdk-go-v2's PresignPostObject signs it (the tests hold the two to each other).
func (c *Client) PresignForm(ctx context.Context, req *storage.FormRequest) (*storage.Form, error) {
	if _, err := InitiateHeaders(req.Object); err != nil { // what S3 has no equivalent for
		return nil, err
	}
	fields, conds, err := storerest.FormFields(req.Object, names, nil)
	if err != nil {
		return nil, err
	}
	cred, now, end, err := c.PresignWindow(ctx, req.TTL, 7*24*time.Hour)
	if err != nil {
		return nil, err
	}
	day := now.UTC().Format("20060102")
	sign := map[string]string{
		"x-amz-algorithm":  "AWS4-HMAC-SHA256",
		"x-amz-credential": cred.AccessKeyID + "/" + day + "/" + c.region + "/s3/aws4_request",
		"x-amz-date":       now.UTC().Format("20060102T150405Z"),
	}
	if cred.SessionToken != "" {
		sign["x-amz-security-token"] = cred.SessionToken
	}
	conds = append(conds, formpolicy.Eq("bucket", c.bucket), formpolicy.Length(req.MinSize, req.MaxSize))
	for _, name := range []string{"x-amz-algorithm", "x-amz-credential", "x-amz-date", "x-amz-security-token"} {
		if v, ok := sign[name]; ok {
			fields[name] = v
			conds = append(conds, formpolicy.Eq(name, v))
		}
	}
	expires := time.Unix(end.Unix(), 0)
	policy := base64.StdEncoding.EncodeToString((&formpolicy.Document{Expiration: expires, Conditions: conds}).JSON())
	fields["policy"] = policy
	fields["x-amz-signature"] = c.postSignature(cred.AccessKeyID, cred.SecretAccessKey, day, policy)
	u := c.base + "/" // virtual-hosted: the bucket's root; path-style: POST /<bucket>
	if c.pathPrefix != "" {
		u = c.base + c.pathPrefix
	}
	return &storage.Form{URL: u, Fields: fields, Expires: expires}, nil
}

// postSignature is a POST policy's x-amz-signature: HMAC-SHA256 of the base64 policy with
// the day's SigV4 signing key, in lowercase hex.
func (c *Client) postSignature(id, secret, day, policy string) string {
	return hex.EncodeToString(hmacSum(c.keys.get(id, secret, day, c.region), policy))
}
