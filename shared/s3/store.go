package s3

import (
	"context"
	"crypto/sha256"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/directup/directup/shared/checksum"
	"github.com/directup/directup/shared/errcode"
	"github.com/directup/directup/shared/storage"
	"github.com/directup/directup/shared/storerest"
	"github.com/directup/directup/shared/wire"
)

var _ storage.Store = (*Client)(nil)

// Capabilities implements storage.Store: S3's smallest part but the last is 5 MiB (COS's
// 1 MiB), keys take 1,024 bytes, the storage classes with an S3 equivalent, no
// per-grantee permissions by Tencent UIN.
func (c *Client) Capabilities() storage.Capabilities {
	caps := storage.DefaultCapabilities()
	caps.MinPartSize, caps.MaxKeyLength, caps.Grants = 5<<20, 1024, false
	caps.ChecksObjectSize = true // x-amz-mp-object-size
	// Uploads are created with a full-object CRC-64/NVME, which S3 computes from the parts;
	// its complete then takes each part's value.
	caps.Checksum, caps.PartChecksums, caps.ChecksChecksum = checksum.CRC64NVME, true, true
	caps.StorageClasses = slices.Sorted(maps.Keys(storageClasses))
	return caps
}

// storageClasses maps COS classes to their S3 equivalents; the others have none.
var storageClasses = map[string]string{
	"STANDARD": "STANDARD", "STANDARD_IA": "STANDARD_IA", "INTELLIGENT_TIERING": "INTELLIGENT_TIERING",
	"ARCHIVE": "GLACIER", "DEEP_ARCHIVE": "DEEP_ARCHIVE",
}

func refuse(field, msg string) error {
	return &errcode.Error{Code: errcode.InvalidField, Field: field, Message: msg}
}

// names are S3's header names for the settings it shares with COS.
var names = storerest.Names{Prefix: "X-Amz-", EscapeTag: url.QueryEscape, StorageClass: func(c string) string { return storageClasses[c] },
	KMS: "aws:kms", KMSKeyID: "X-Amz-Server-Side-Encryption-Aws-Kms-Key-Id"}

// InitiateHeaders maps an object's settings to S3's CreateMultipartUpload headers, and
// refuses clearly what S3 has no equivalent for (the service refuses it first, from
// Capabilities; this guards any other caller).
func InitiateHeaders(obj *storage.Object) (http.Header, error) {
	if _, ok := storageClasses[obj.StorageClass]; obj.StorageClass != "" && !ok {
		return nil, refuse("storageClass", obj.StorageClass+" has no S3 equivalent")
	}
	g := obj.Grants
	if len(g.Read)+len(g.ReadACP)+len(g.WriteACP)+len(g.FullControl) > 0 {
		return nil, refuse("grants", "S3 grants name AWS canonical users, not Tencent UINs: use acl")
	}
	h := storerest.InitiateHeaders(obj, names) // COS's object ACLs are S3's canned ACLs by the same names
	if obj.Checksum {
		h.Set("X-Amz-Checksum-Algorithm", "CRC64NVME")
		h.Set("X-Amz-Checksum-Type", "FULL_OBJECT")
	}
	return h, nil
}

// Initiate implements storage.Store: CreateMultipartUpload.
func (c *Client) Initiate(ctx context.Context, obj *storage.Object) (string, error) {
	h, err := InitiateHeaders(obj)
	if err != nil {
		return "", err
	}
	return c.Client.Initiate(ctx, obj.Key, h)
}

// Presign implements storage.Store with SigV4 query signing: host, the SSE-C headers and
// (pinned uploads) content-length are signed. partPresigner does the signing: the SDK's
// signer, byte for byte, at a tenth of the cost for a whole plan (BenchmarkPresign10000).
func (c *Client) Presign(ctx context.Context, req *storage.PresignRequest) (*storage.Presigned, error) {
	cred, now, end, err := c.PresignWindow(ctx, req.TTL, 7*24*time.Hour) // SigV4's limit
	if err != nil {
		return nil, err
	}
	ttl := end.Sub(now)
	var clientHeaders map[string]string
	keyHeader := ""
	if req.CustomerKeyMD5 != "" {
		// S3 refuses x-amz-* headers a presigned URL did not sign, the key's among them:
		// the key is signed in (and sent by the client, never returned).
		if req.CustomerKey == "" {
			return nil, &errcode.Error{Code: errcode.MissingField, Field: "customerKey",
				Message: "S3 signs the SSE-C key into part URLs: send customerKey with the request for URLs"}
		}
		clientHeaders, keyHeader = storerest.SSECPartHeaders("x-amz-", req.CustomerKeyMD5)
	}
	expires := time.Unix(now.Add(ttl).Unix(), 0)
	signed := make(map[string]string, len(clientHeaders)+1)
	for k, v := range clientHeaders {
		signed[strings.ToLower(k)] = v
	}
	if keyHeader != "" {
		signed[keyHeader] = req.CustomerKey
	}
	p := newPartPresigner(presignOptions{base: c.base, path: c.pathPrefix + "/" + escapePath(req.Key), host: c.host,
		region: c.region, uploadID: req.UploadID, headers: signed, signLength: !req.Unpinned, now: now, expires: ttl,
		accessKeyID: cred.AccessKeyID, token: cred.SessionToken,
		signingKey: c.keys.get(cred.AccessKeyID, cred.SecretAccessKey, now.UTC().Format("20060102"), c.region)})
	parts := req.Parts
	if req.Compact && len(parts) > 0 { // the template and the signatures: no URL is built
		if sigs, ok := p.signatures(parts); ok {
			return &storage.Presigned{Expires: expires, Compact: &wire.CompactParts{
				URL: p.template(parts[0].Size, wire.PartNumberPlaceholder, wire.SignaturePlaceholder), Method: http.MethodPut,
				Headers: clientHeaders, CustomerKeyHeader: keyHeader, Parts: wire.RunsOf(parts),
				Signatures: wire.Signatures(sigs), SignatureLength: 2 * sha256.Size,
			}}, nil
		}
	}
	out := &storage.Presigned{Parts: make([]wire.PresignedPart, len(parts)), Expires: expires}
	for i, part := range parts {
		out.Parts[i] = wire.PresignedPart{PartNumber: part.Number, Method: http.MethodPut, URL: p.url(part.Number, part.Size),
			Headers: clientHeaders, Size: part.Size, CustomerKeyHeader: keyHeader}
	}
	return out, nil
}

// Complete implements storage.Store. An upload created with a checksum
// (CompleteOptions.PartChecksums) needs each part's in the complete: those the caller did
// not send are taken from a listing, one round trip more.
func (c *Client) Complete(ctx context.Context, key, uploadID string, parts []wire.CompletedPart, opts storage.CompleteOptions) (*wire.Completed, error) {
	if !opts.PartChecksums {
		parts = slices.Clone(parts)
		for i := range parts {
			parts[i].Checksum = "" // an upload created without one takes none
		}
	} else if slices.ContainsFunc(parts, func(p wire.CompletedPart) bool { return p.Checksum == "" }) {
		stored, err := c.ListParts(ctx, key, uploadID)
		if err != nil {
			return nil, err
		}
		sums := make(map[int]string, len(stored))
		for _, p := range stored {
			sums[p.PartNumber] = p.Checksum
		}
		parts = slices.Clone(parts)
		for i := range parts {
			if parts[i].Checksum == "" {
				parts[i].Checksum = sums[parts[i].PartNumber]
			}
		}
	}
	return c.Client.Complete(ctx, key, uploadID, parts, opts)
}
