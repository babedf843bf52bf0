// Package storage is the store contract: the core every backend implements (Store), the
// optional abilities some have (Objects, UploadLister, Downloader, Embedded, FormUploader; records.Store
// and tempkeys.Issuer elsewhere), what a store declares it can keep (Capabilities), and the
// storage-neutral description of an object to upload (Object). Backends register in shared/stores;
// shared/storage/storagetest is the conformance suite each runs.
package storage

import (
	"context"
	"slices"
	"time"

	"github.com/directup/directup/shared/checksum"
	"github.com/directup/directup/shared/wire"
)

// Store is the object storage a Service drives: the small core every backend has (as
// go-cloud's blob driver and tusd's DataStore keep theirs). One package per backend
// implements it and registers itself (Register); what only some stores can do is an
// optional interface below, found with a type assertion.
//
// Errors are *errcode.Error values carrying the storage request id. The codes a caller may
// act on are part of the contract (shared/storage/storagetest checks each):
//   - errcode.UploadNotFound: the upload id names no open upload (completed, aborted,
//     expired or never made) — from ListParts, Complete and Abort alike;
//   - errcode.ObjectExists: CompleteOptions.ForbidOverwrite (or Object.ForbidOverwrite)
//     and the key holds an object;
//   - errcode.InvalidPart: Complete's parts do not match what is stored;
//   - errcode.UpstreamBusy, UpstreamTimeout, UpstreamError, UpstreamDenied,
//     CredentialsFailed: storage's own failures, after the store's retries.
//
// Part requests and completed objects are the wire's shapes (shared/wire): a store makes
// them directly, the compact form included, so answers are never copied.
type Store interface {
	// Bucket names the bucket uploads land in.
	Bucket() string
	// Capabilities declares what the store accepts. The service checks the policy against
	// it at start and every request before the store sees it.
	Capabilities() Capabilities
	// Initiate starts a multipart upload and returns its UploadId.
	Initiate(ctx context.Context, obj *Object) (uploadID string, err error)
	// Presign returns presigned part requests for one upload. The URLs live at most ttl
	// and never beyond the signing credentials' own expiry; Expires says when they end.
	Presign(ctx context.Context, req *PresignRequest) (*Presigned, error)
	// ListParts returns every part stored so far (all pages), ascending.
	ListParts(ctx context.Context, key, uploadID string) ([]wire.StoredPart, error)
	// Complete assembles the object from the given parts, ascending.
	Complete(ctx context.Context, key, uploadID string, parts []wire.CompletedPart, opts CompleteOptions) (*wire.Completed, error)
	// Abort discards the upload and its parts; UploadNotFound if it is not open.
	Abort(ctx context.Context, key, uploadID string) error
}

// Objects is a store that reads and deletes whole objects. The service needs it to verify
// content (UPLOAD_VERIFY_CONTENT), to tell a completed upload from a gone one, and for the
// storage-triggered function; without it those are refused at start or answered as gone.
type Objects interface {
	// Stat tells whether an object exists at key: Exists false and no error when none does.
	Stat(ctx context.Context, key string) (ObjectInfo, error)
	// ReadHead returns up to the first n bytes of an object, and what the same answer
	// tells of it (its whole size, type, metadata, ETag, modification time): one round
	// trip serves a content check and what is told of the object.
	ReadHead(ctx context.Context, key string, n int) ([]byte, ObjectInfo, error)
	// Delete removes an object; deleting a missing object is no error.
	Delete(ctx context.Context, key string) error
}

// UploadLister is a store that lists the multipart uploads in progress on exactly one key.
// Temporary keys need it: keys for a key can act on every upload to it (list, send parts,
// complete, abort), so none are handed out while an API upload to that key is open.
type UploadLister interface {
	OpenUploads(ctx context.Context, key string) (uploadIDs []string, err error)
}

// FormUploader is a store that signs browser form uploads (POST Object): one request that
// writes one whole object, bounded by a policy the store itself enforces. The form must
// pin the exact key, every setting of the object (its type, metadata, class, ACL and
// encryption, each an exact condition), the file's length to MinSize..MaxSize, and end no
// later than the signing credentials or TTL after now. Objects asking what a form cannot
// carry (forbid-overwrite, SSE-C, tags) are refused (errcode.NotAvailable).
type FormUploader interface {
	PresignForm(ctx context.Context, req *FormRequest) (*Form, error)
}

// GrantReader is a store that reads an object's access list: the storage-triggered check
// of a form upload on a store that takes fields a form's policy does not name (grants a
// client added show nowhere else). Others reports whether anyone but the bucket's owner
// holds a grant on key — an account, or a group such as everyone.
type GrantReader interface {
	OthersGranted(ctx context.Context, key string) (others bool, err error)
	// OthersGrants are those grants: to anyone but the bucket's owner.
	OthersGrants(ctx context.Context, key string) ([]Grant, error)
}

// Grant is one grant of an object's access list: to an account (ID) or a group (URI, such
// as everyone), of a permission (READ, WRITE, READ_ACP, WRITE_ACP, FULL_CONTROL).
type Grant struct {
	ID, URI, Permission string
}

// FormRequest asks for a form.
type FormRequest struct {
	Object           *Object
	MinSize, MaxSize int64
	TTL              time.Duration
}

// Form is a signed browser form: POST every field, then the file (named "file"), to URL.
type Form struct {
	URL     string
	Fields  map[string]string
	Expires time.Time
}

// MaxFormSize is the largest object one form upload may write (COS's and S3's limit).
const MaxFormSize int64 = 5 << 30

// Embedded is a store running inside the process (local mode): the API serves the demo
// page and download links beside it. EmbeddedEndpoint is where it listens; Close stops it;
// OnFormUpload sets what is called with the key of each object a form stored (the storage
// trigger's stand-in: it may be called from the store's own goroutines).
type Embedded interface {
	EmbeddedEndpoint() string
	Close() error
	OnFormUpload(func(key string))
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
	// ChecksObjectSize: Complete refuses parts that do not add up to
	// CompleteOptions.ObjectSize (S3), so the size needs no read afterwards.
	ChecksObjectSize bool
	// FormsTakeUnnamedFields: the store's form uploads take fields their policy does not
	// name (COS), so a client can add settings: form objects are checked against the
	// settings sealed into them. S3 refuses such a form itself.
	FormsTakeUnnamedFields bool
	// Checksum names the whole-object checksum the store computes at complete
	// (checksum.CRC64ECMA on COS, checksum.CRC64NVME on S3; "" none): a complete may
	// declare it, and must where the rules require it.
	Checksum string
	// PartChecksums: the store's complete takes each part's checksum too
	// (CompletedPart.Checksum; S3, for an upload created with one). A store lists the parts
	// for those a complete lacks, a round trip more: clients that send them save it.
	PartChecksums bool
	// ChecksChecksum: Complete refuses to assemble an object whose checksum is not
	// CompleteOptions.Checksum (S3: errcode.ChecksumMismatch, no object made, the upload
	// still open), so a wrong declaration never replaces what the key held.
	ChecksChecksum bool
}

// DefaultCapabilities are COS's: every option of the Initiate Multipart Upload document,
// parts of 1 MiB to 5 GiB, 10,000 of them, keys of 850 bytes. Other stores declare less.
func DefaultCapabilities() Capabilities {
	return Capabilities{
		MinPartSize: MinPartSize, MaxPartSize: MaxPartSize, MaxParts: MaxParts, MaxKeyLength: MaxKeyLength,
		StorageClasses: slices.Clone(StorageClasses), ACLs: slices.Clone(ACLs[1:]),
		Encryption: []string{SSECOS, SSEKMS, SSEC}, Grants: true, Tags: true, Checksum: checksum.CRC64ECMA,
	}
}

// ObjectInfo describes a stored object.
type ObjectInfo struct {
	Exists       bool
	LastModified time.Time
	ETag         string
	Size         int64
	ContentType  string
	CRC64        string            // where the store reports one (COS's crc64ecma, decimal)
	CRC64NVME    string            // S3's full-object crc64nvme (base64), where it keeps one
	Metadata     map[string]string // suffix (lowercase) -> value
	// CustomerKeyEncrypted: SSE-C, unreadable without the customer's key.
	CustomerKeyEncrypted bool
	// What else the answer tells of its settings: the entity headers, the storage class
	// ("" where the store names none: its default) and the encryption (SSECOS, SSEKMS or "").
	CacheControl, ContentDisposition, ContentEncoding, Expires string
	StorageClass, Encryption                                   string
}

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
	// Checksum creates the upload with the store's whole-object checksum where that is a
	// choice made at create (S3's CRC64NVME, FULL_OBJECT: its complete then needs each
	// part's checksum, which clients that cannot send one — Uppy — would cost a listing).
	Checksum   bool
	ACL        string
	Grants     Grants
	Encryption *Encryption
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

// PresignRequest asks a store for part URLs.
type PresignRequest struct {
	Key            string
	UploadID       string
	Parts          []wire.PartSpec
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
	Parts   []wire.PresignedPart
	Compact *wire.CompactParts
	Expires time.Time
}

// CompleteOptions carry what the initiate asked of the complete.
type CompleteOptions struct {
	// ForbidOverwrite fails the complete when the key already holds an object. COS fixes
	// this at initiate (x-cos-forbid-overwrite); S3 checks it only here (If-None-Match: *).
	ForbidOverwrite bool
	// ObjectSize, when set (0 included: an empty object), is the size the parts must add up
	// to: a store that can check it in the same call (S3's x-amz-mp-object-size) refuses
	// otherwise (InvalidPart).
	ObjectSize *int64
	// PartChecksums: the upload was created with the store's checksum (Object.Checksum), so
	// a store whose complete needs each part's (Capabilities.PartChecksums) fills in those
	// the parts lack from a listing.
	PartChecksums bool
	// Checksum, when set, is the whole object's checksum in the store's algorithm and form,
	// for a store that checks it in the same call (Capabilities.ChecksChecksum).
	Checksum string
}

// COS multipart limits (COS API documentation): parts 1..10000, each 1 MiB..5 GiB but the last.
const (
	MinPartSize  int64 = 1 << 20
	MaxPartSize  int64 = 5 << 30
	MaxParts           = 10000
	MaxTotalSize       = MaxPartSize * MaxParts
)

// MaxKeyLength is COS's limit on an object key, in UTF-8 bytes.
const MaxKeyLength = 850

// Enumerations from the COS documentation.
var (
	ACLs = []string{"default", "private", "public-read", "authenticated-read", "bucket-owner-read", "bucket-owner-full-control"}
	// StorageClasses are COS's object storage classes.
	StorageClasses = []string{"STANDARD", "STANDARD_IA", "ARCHIVE", "DEEP_ARCHIVE", "INTELLIGENT_TIERING",
		"MAZ_STANDARD", "MAZ_STANDARD_IA", "MAZ_INTELLIGENT_TIERING", "MAZ_ARCHIVE"}
)
