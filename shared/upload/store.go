package upload

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Store is the object storage a Service drives. One package per backend implements it
// (cos for Tencent COS and the local store); the service never sees a wire format.
// Errors are *errcode.Error values so the service can pass status and upstream request ids on.
type Store interface {
	// Bucket names the bucket uploads land in.
	Bucket() string
	// Initiate starts a multipart upload and returns its UploadId.
	Initiate(ctx context.Context, obj *Object) (uploadID string, err error)
	// Presign returns presigned part requests for one upload. The URLs live at most ttl
	// and never beyond the signing credentials' own expiry; Expires says when they end.
	Presign(ctx context.Context, req *PresignRequest) (*Presigned, error)
	// ListParts returns every part stored so far (all pages), ascending.
	ListParts(ctx context.Context, key, uploadID string) ([]StoredPart, error)
	// Complete assembles the object from the given parts, ascending.
	Complete(ctx context.Context, key, uploadID string, parts []CompletedPart, opts CompleteOptions) (*Completed, error)
	// Abort discards the upload and its parts.
	Abort(ctx context.Context, key, uploadID string) error
	// Stat tells whether an object exists at key (to tell a completed upload from a gone one).
	Stat(ctx context.Context, key string) (ObjectInfo, error)
	// ReadHead returns up to the first n bytes of an object (content verification).
	ReadHead(ctx context.Context, key string, n int) ([]byte, error)
	// Delete removes an object (one whose content contradicts its declaration).
	Delete(ctx context.Context, key string) error
	// Capabilities declares what the store accepts. The service checks the policy against
	// it at start and every request before the store sees it.
	Capabilities() Capabilities
}

// Capabilities are a store's limits and the options it can honour, in the JSON API's
// vocabulary (the store maps each to its own).
type Capabilities struct {
	MinPartSize  int64 // smallest part but the last
	MaxPartSize  int64
	MaxParts     int
	MaxKeyLength int // bytes
	// StorageClasses, ACLs (besides "default") and Encryption (SSECOS, SSEKMS, SSEC) list
	// what the store can honour.
	StorageClasses []string
	ACLs           []string
	Encryption     []string
	Grants         bool // per-grantee permissions (x-cos-grant-*)
	Tags           bool
}

// DefaultCapabilities are COS's: every option of the Initiate Multipart Upload document,
// parts of 1 MiB to 5 GiB, 10,000 of them, keys of 850 bytes. Other stores declare less.
func DefaultCapabilities() Capabilities {
	return Capabilities{
		MinPartSize: MinPartSize, MaxPartSize: MaxPartSize, MaxParts: MaxParts, MaxKeyLength: MaxKeyLength,
		StorageClasses: slices.Clone(storageClasses), ACLs: slices.Clone(objectACLs[1:]),
		Encryption: []string{SSECOS, SSEKMS, SSEC}, Grants: true, Tags: true,
	}
}

// check refuses a policy the store cannot keep; the error names the variable.
func (c Capabilities) check(p *Policy) error {
	for _, sc := range p.AllowedStorageClasses {
		if !slices.Contains(c.StorageClasses, sc) {
			return fmt.Errorf("UPLOAD_ALLOWED_STORAGE_CLASSES: %s is not available on this store (it has %s)", sc, strings.Join(c.StorageClasses, ", "))
		}
	}
	for _, a := range p.AllowedACLs {
		if a != "default" && !slices.Contains(c.ACLs, a) {
			return fmt.Errorf("UPLOAD_ALLOWED_ACLS: %s is not available on this store", a)
		}
	}
	if p.AllowGrants && !c.Grants {
		return errors.New("UPLOAD_ALLOW_GRANTS: this store has no per-grantee permissions; use UPLOAD_ALLOWED_ACLS")
	}
	if p.DefaultPartSize < c.MinPartSize || p.DefaultPartSize > c.MaxPartSize {
		return fmt.Errorf("UPLOAD_PART_SIZE: this store takes parts of %d to %d bytes", c.MinPartSize, c.MaxPartSize)
	}
	if p.MaxSize > c.MaxPartSize*int64(c.MaxParts) {
		return fmt.Errorf("UPLOAD_MAX_SIZE: this store holds objects of at most %d bytes", c.MaxPartSize*int64(c.MaxParts))
	}
	return nil
}

// ObjectInfo describes a stored object.
type ObjectInfo struct {
	Exists       bool
	LastModified time.Time
	ETag         string
	Size         int64
	ContentType  string
	CRC64        string            // where the store reports one
	Metadata     map[string]string // suffix (lowercase) -> value
	// CustomerKeyEncrypted: SSE-C, unreadable without the customer's key.
	CustomerKeyEncrypted bool
}

// Optional abilities a Store may also have, each its own interface (as tusd's stores do).

// Downloader is a store that can hand out a download link (local mode's demo page).
type Downloader interface {
	PresignGet(ctx context.Context, key string, ttl time.Duration) (string, error)
}

// Object is a validated initiate request in storage-neutral terms.
type Object struct {
	Key                string
	ContentType        string
	CacheControl       string
	ContentDisposition string
	ContentEncoding    string
	Expires            string
	Metadata           map[string]string // suffix (lowercase) -> value
	StorageClass       string
	Tags               map[string]string
	ForbidOverwrite    bool
	ACL                string
	Grants             Grants
	Encryption         *Encryption
}

// Grants are grantee ids per permission (account UINs or qcs::cam::uin/<owner>:uin/<sub>),
// bare: each store writes them its own way (COS: id="...").
type Grants struct {
	Read        []string
	ReadACP     []string
	WriteACP    []string
	FullControl []string
}

// Encryption types, storage-neutral; the JSON API's spellings (AES256, cos/kms, SSE-C)
// map to them, and each store to its own.
const (
	SSECOS = "AES256" // keys the store manages (SSE-COS, SSE-S3)
	SSEKMS = "kms"    // keys of the cloud's KMS
	SSEC   = "SSE-C"  // the customer's key, sent with every request
)

// Encryption is the server-side encryption asked for at initiate.
type Encryption struct {
	Type     string
	KMSKeyID string
	Context  string // base64 of a JSON object, as COS takes it
	// SSE-C: the customer key (base64 of 32 bytes) and its MD5 (base64). The key is
	// sent at initiate only; part requests carry it from the client itself.
	CustomerKey    string
	CustomerKeyMD5 string
}

// PartSpec is one part to presign: its number and exact size.
type PartSpec struct {
	Number int
	Size   int64
}

// PresignRequest asks a store for part URLs.
type PresignRequest struct {
	Key            string
	UploadID       string
	Parts          []PartSpec
	TTL            time.Duration
	CustomerKeyMD5 string // set for SSE-C uploads: parts must carry the same key
	// CustomerKey is the SSE-C key itself when the caller has it (at initiate, or sent
	// again with a request for URLs): stores whose URLs must sign it (S3) need it; it is
	// never put in a URL or an answer.
	CustomerKey string
	// Unpinned leaves part sizes out of the signatures (open uploads, whose size is
	// unknown until complete); PartSpec sizes are then 0.
	Unpinned bool
	// Compact asks for the compact form: a store that can make it without building each
	// URL answers Compact instead of Parts (the service compacts full URLs otherwise).
	// Unasked, a store answers Parts.
	Compact bool
}

// Presigned are part requests ready for a client: Parts, or Compact when it was asked
// for and the store makes it.
type Presigned struct {
	Parts   []PresignedPart
	Compact *CompactParts
	Expires time.Time
}

// PresignedPart is one part request: the client sends Method to URL with Headers (and
// the part's exact Size as body; browsers set Content-Length themselves).
type PresignedPart struct {
	PartNumber int               `json:"partNumber"`
	Method     string            `json:"method"`
	URL        string            `json:"url"`
	Headers    map[string]string `json:"headers"`
	Size       int64             `json:"size"`
	// CustomerKeyHeader names the header the client sends its SSE-C key in (the function
	// never holds the key): clients need no storage's header names of their own.
	CustomerKeyHeader string `json:"customerKeyHeader,omitempty"`
	// CRC64Header names the answer header carrying the stored part's CRC-64/ECMA-182, for
	// stores that report one (COS), so clients can check what was stored.
	CRC64Header string `json:"crc64Header,omitempty"`
}

// StoredPart is a part the store already holds.
type StoredPart struct {
	PartNumber int    `json:"partNumber"`
	ETag       string `json:"etag"`
	Size       int64  `json:"size"`
}

// CompletedPart names a part to assemble.
type CompletedPart struct {
	PartNumber int    `json:"partNumber"`
	ETag       string `json:"etag"`
}

// CompleteOptions carry what the initiate asked of the complete.
type CompleteOptions struct {
	// ForbidOverwrite fails the complete when the key already holds an object. COS fixes
	// this at initiate (x-cos-forbid-overwrite); S3 checks it only here (If-None-Match: *).
	ForbidOverwrite bool
}

// Completed describes the assembled object.
type Completed struct {
	Bucket   string `json:"bucket"`
	Key      string `json:"key"`
	Location string `json:"location"`
	ETag     string `json:"etag"`
	Size     int64  `json:"size"`
	CRC64    string `json:"crc64,omitempty"`
}
