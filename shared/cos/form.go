package cos

import (
	"context"
	"encoding/base64"
	"encoding/xml"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/directup/directup/shared/cos/cossign"
	"github.com/directup/directup/shared/errcode"
	"github.com/directup/directup/shared/formpolicy"
	"github.com/directup/directup/shared/storage"
	"github.com/directup/directup/shared/storerest"
)

var _ storage.FormUploader = (*Client)(nil)

// PresignForm implements storage.FormUploader with COS's POST Object policy: the object's
// exact key and settings, the file's length range, the bucket, and the signature's own
// fields (q-sign-algorithm, q-ak, q-sign-time) as the policy's conditions, signed with
// SignPolicy; the window ends with the policy, never after the credentials.
func (c *Client) PresignForm(ctx context.Context, req *storage.FormRequest) (*storage.Form, error) {
	obj := req.Object
	// COS's own fields beside those it shares with S3: the grants (forbid-overwrite is
	// refused by FormFields).
	fields, conds, err := storerest.FormFields(obj, names, grantHeaders(obj.Grants))
	if err != nil {
		return nil, err
	}
	// COS takes form fields its policy does not name: the ACL and the storage class are
	// pinned even when the upload leaves them to the bucket, so no added field changes them.
	for _, pin := range [][2]string{{"acl", "default"}, {"x-cos-storage-class", "STANDARD"}} {
		field, v := pin[0], pin[1]
		if _, set := fields[field]; !set {
			fields[field] = v
			conds = append(conds, formpolicy.Eq(field, v))
		}
	}
	cred, now, end, err := c.PresignWindow(ctx, req.TTL, 0)
	if err != nil {
		return nil, err
	}
	keyTime := cossign.KeyTime(now, end)
	conds = append(conds, formpolicy.Eq("bucket", c.bucket), formpolicy.Length(req.MinSize, req.MaxSize),
		formpolicy.Eq(cossign.FormAlgorithm, "sha1"), formpolicy.Eq(cossign.FormKeyID, cred.AccessKeyID),
		formpolicy.Eq(cossign.FormSignTime, keyTime))
	if cred.SessionToken != "" {
		fields[cossign.TokenHeader] = cred.SessionToken
		conds = append(conds, formpolicy.Eq(cossign.TokenHeader, cred.SessionToken))
	}
	doc := (&formpolicy.Document{Expiration: time.Unix(end.Unix(), 0), Conditions: conds}).JSON()
	fields["policy"] = base64.StdEncoding.EncodeToString(doc)
	fields[cossign.FormAlgorithm] = "sha1"
	fields[cossign.FormKeyID] = cred.AccessKeyID
	fields[cossign.FormKeyTime] = keyTime
	fields[cossign.FormSignature] = cossign.SignPolicy(cred.SecretAccessKey, keyTime, doc)
	return &storage.Form{URL: c.endpoint + "/", Fields: fields, Expires: time.Unix(end.Unix(), 0)}, nil
}

var _ storage.GrantReader = (*Client)(nil)

// accessList is GET Object acl's answer, as much of it as OthersGranted reads.
type accessList struct {
	Owner struct {
		ID string `xml:"ID"`
	} `xml:"Owner"`
	Grants []struct {
		Grantee struct {
			ID  string `xml:"ID"`
			URI string `xml:"URI"`
		} `xml:"Grantee"`
		Permission string `xml:"Permission"`
	} `xml:"AccessControlList>Grant"`
}

// OthersGranted implements storage.GrantReader with GET Object acl: a grant to a group
// (URI: everyone, authenticated users) or to an id other than the owner's is another's.
func (c *Client) OthersGranted(ctx context.Context, key string) (bool, error) {
	others, err := c.OthersGrants(ctx, key)
	return len(others) > 0, err
}

// OthersGrants implements storage.GrantReader: the grants OthersGranted tells of.
func (c *Client) OthersGrants(ctx context.Context, key string) ([]storage.Grant, error) {
	_, body, err := c.Do(ctx, storerest.Call{Method: http.MethodGet, Key: key, Query: url.Values{"acl": {""}}})
	if err != nil {
		return nil, err
	}
	var acl accessList
	if err := xml.Unmarshal(body, &acl); err != nil {
		return nil, &errcode.Error{Code: errcode.UpstreamError, Message: "COS answered an access list directup cannot read", Err: err}
	}
	var others []storage.Grant
	for _, g := range acl.Grants {
		if g.Grantee.URI != "" || g.Grantee.ID != acl.Owner.ID {
			others = append(others, storage.Grant{ID: g.Grantee.ID, URI: g.Grantee.URI, Permission: strings.ToUpper(strings.TrimSpace(g.Permission))})
		}
	}
	return others, nil
}
