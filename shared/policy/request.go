package policy

import (
	"crypto/md5"
	"encoding/base64"
	"encoding/json"
	"maps"
	"mime"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/directup/directup/shared/errcode"
	"github.com/directup/directup/shared/storage"
	"github.com/directup/directup/shared/uploadplan"
)

// InitiateRequest is the body of POST /uploads (and of a queue "initiate" message).
type InitiateRequest struct {
	Filename           string             `json:"filename,omitempty"`
	Key                string             `json:"key,omitempty"`
	ContentType        string             `json:"contentType"`
	Size               *int64             `json:"size"`
	PartSize           int64              `json:"partSize,omitempty"`
	CacheControl       string             `json:"cacheControl,omitempty"`
	ContentDisposition string             `json:"contentDisposition,omitempty"`
	ContentEncoding    string             `json:"contentEncoding,omitempty"`
	Expires            string             `json:"expires,omitempty"`
	Metadata           map[string]string  `json:"metadata,omitempty"`
	StorageClass       string             `json:"storageClass,omitempty"`
	Tagging            map[string]string  `json:"tagging,omitempty"`
	ForbidOverwrite    bool               `json:"forbidOverwrite,omitempty"`
	ACL                string             `json:"acl,omitempty"`
	Grants             *GrantsRequest     `json:"grants,omitempty"`
	Encryption         *EncryptionRequest `json:"encryption,omitempty"`
	// Profile names the kind of upload (UPLOAD_PROFILES) whose rules apply; none, the
	// deployment's own.
	Profile string `json:"profile,omitempty"`
	// Head is the file's first bytes (base64, up to 4 KB): the content rules run on them
	// before anything reaches storage, and the stored object must begin with them.
	Head string `json:"head,omitempty"`
	// Fingerprint is the client's fingerprint of the file (its name, size, first and last
	// bytes), kept with the upload so another device can find it (GET /uploads).
	Fingerprint string `json:"fingerprint,omitempty"`
}

// GrantsRequest lists grantees (account UINs, or "qcs::cam::uin/<owner>:uin/<sub>") per permission.
type GrantsRequest struct {
	Read        []string `json:"read,omitempty"`
	ReadACP     []string `json:"readAcp,omitempty"`
	WriteACP    []string `json:"writeAcp,omitempty"`
	FullControl []string `json:"fullControl,omitempty"`
}

// EncryptionRequest asks for server-side encryption.
type EncryptionRequest struct {
	Type        string            `json:"type"`
	KMSKeyID    string            `json:"kmsKeyId,omitempty"`
	Context     map[string]string `json:"context,omitempty"`
	CustomerKey string            `json:"customerKey,omitempty"`
}

// Limits from the COS documentation.
const (
	maxMetaHeader  = 2 << 10 // one x-cos-meta-* header, name and value
	maxMetaTotal   = 4 << 10 // all of them
	maxTags        = 10
	maxTagKey      = 128
	maxTagValue    = 256
	maxHeaderValue = 1024
	maxGrantees    = 100
)

var (
	metaSuffix = regexp.MustCompile(`^[A-Za-z0-9-]+$`)
	grantee    = regexp.MustCompile(`^(?:[0-9]{1,20}|qcs::cam::uin/[0-9]{1,20}:uin/[0-9]{1,20})$`)
)

// object checks a request against the COS rules and the policy and returns the object to
// initiate and its part plan. Nothing reaches the store before this passes.
func (p *Policy) object(req *InitiateRequest, generate func(filename string) (string, error)) (*storage.Object, uploadplan.Plan, error) {
	return p.ObjectFor(req, generate, storage.DefaultCapabilities())
}

// ObjectFor is object for a store with the given capabilities: its limits shape the
// plan, and what it cannot honour is refused here, before it is called.
func (p *Policy) ObjectFor(req *InitiateRequest, generate func(filename string) (string, error), caps storage.Capabilities) (*storage.Object, uploadplan.Plan, error) {
	var obj storage.Object
	if err := p.namedKey(req, &obj); err != nil {
		return nil, uploadplan.Plan{}, err
	}
	plan, err := p.planOf(req, caps)
	if err != nil {
		return nil, uploadplan.Plan{}, err
	}
	// The rules run in this order, so a request breaking several hears of the first.
	for _, rule := range []func(*InitiateRequest, storage.Capabilities, *storage.Object) error{
		p.contentType, headers, p.userData, p.storageClass, p.acl, p.grantees, storeOptions,
	} {
		if err := rule(req, caps, &obj); err != nil {
			return nil, uploadplan.Plan{}, err
		}
	}
	obj.ForbidOverwrite = req.ForbidOverwrite || p.ForbidOverwrite
	if obj.Key == "" {
		if obj.Key, err = generate(req.Filename); err != nil {
			return nil, uploadplan.Plan{}, err
		}
	}
	if _, err := p.AdmitKey(obj.Key, caps); err != nil {
		return nil, uploadplan.Plan{}, err
	}
	return &obj, plan, nil
}

// namedKey takes the client's key (admitted by the key rule) or checks its filename: one
// of the two, never both.
func (p *Policy) namedKey(req *InitiateRequest, obj *storage.Object) error {
	switch {
	case req.Key != "" && req.Filename != "":
		return errcode.Invalid("key", "send either filename or key, not both")
	case req.Key != "":
		key, err := p.clientKey(req.Key)
		if err != nil {
			return err
		}
		obj.Key = key
	case req.Filename == "":
		return errcode.Missing("filename")
	case len(req.Filename) > 1024 || !utf8.ValidString(req.Filename):
		return errcode.Invalid("filename", "filename must be valid UTF-8 of at most 1024 bytes")
	}
	return nil
}

// planOf holds the declared size to the deployment's limit and cuts it within the store's.
func (p *Policy) planOf(req *InitiateRequest, caps storage.Capabilities) (uploadplan.Plan, error) {
	if req.Size == nil {
		return uploadplan.Plan{}, errcode.Missing("size")
	}
	if *req.Size > p.MaxSize && *req.Size >= 0 {
		return uploadplan.Plan{}, &errcode.Error{Code: errcode.SizeTooLarge, Field: "size",
			Message: "size exceeds this deployment's limit of " + strconv.FormatInt(p.MaxSize, 10) + " bytes"}
	}
	if *req.Size < p.MinSize && *req.Size >= 0 {
		return uploadplan.Plan{}, errcode.Invalid("size", "size must be at least %d bytes here", p.MinSize)
	}
	return uploadplan.NewWithin(*req.Size, req.PartSize, p.DefaultPartSize, caps)
}

// contentType requires a media type the policy admits (scriptable types only by name).
func (p *Policy) contentType(req *InitiateRequest, _ storage.Capabilities, obj *storage.Object) error {
	if req.ContentType == "" {
		return errcode.Missing("contentType")
	}
	if err := headerValue("contentType", req.ContentType, 256); err != nil {
		return err
	}
	if _, _, err := mime.ParseMediaType(req.ContentType); err != nil {
		return errcode.Invalid("contentType", "contentType is not a media type like image/png")
	}
	if !p.typeAllowed(req.ContentType) {
		if scriptableType(req.ContentType) {
			return errcode.Denied("contentType", "content type %q is not allowed here (a type a browser may run script in or sniffs is admitted only when UPLOAD_ALLOWED_TYPES lists it by name)", req.ContentType)
		}
		return errcode.Denied("contentType", "content type %q is not allowed here", req.ContentType)
	}
	obj.ContentType = req.ContentType
	return nil
}

// headers takes the object's HTTP headers, and makes a scriptable type an attachment.
func headers(req *InitiateRequest, _ storage.Capabilities, obj *storage.Object) error {
	for _, h := range []struct {
		field string
		in    string
		out   *string
	}{
		{"cacheControl", req.CacheControl, &obj.CacheControl},
		{"contentDisposition", req.ContentDisposition, &obj.ContentDisposition},
		{"contentEncoding", req.ContentEncoding, &obj.ContentEncoding},
		{"expires", req.Expires, &obj.Expires},
	} {
		if err := headerValue(h.field, h.in, maxHeaderValue); err != nil {
			return err
		}
		*h.out = h.in
	}
	if scriptableType(obj.ContentType) && obj.ContentDisposition == "" {
		// Served inline from the bucket's domain, it would run script there (or be sniffed
		// and then run): a browser downloads it instead unless the client asked for a
		// disposition itself.
		obj.ContentDisposition = "attachment"
	}
	if req.Expires != "" {
		if _, err := http.ParseTime(req.Expires); err != nil {
			return errcode.Invalid("expires", "expires must be an HTTP date like %q", "Wed, 21 Oct 2026 07:28:00 GMT")
		}
	}
	return nil
}

// userData takes the metadata, every required name present, and the tags.
func (p *Policy) userData(req *InitiateRequest, _ storage.Capabilities, obj *storage.Object) (err error) {
	if obj.Metadata, err = CheckMetadata(req.Metadata); err != nil {
		return err
	}
	if missing := p.MissingMetadata(obj.Metadata); missing != "" {
		return errcode.Missing("metadata." + missing)
	}
	obj.Tags, err = CheckTags(req.Tagging)
	return err
}

// MissingMetadata is the first required metadata name m lacks (or holds empty), or "".
func (p *Policy) MissingMetadata(m map[string]string) string {
	for _, name := range p.RequiredMetadata {
		if m[name] == "" {
			return name
		}
	}
	return ""
}

// storageClass takes a class COS knows, the store has and the policy allows.
func (p *Policy) storageClass(req *InitiateRequest, caps storage.Capabilities, obj *storage.Object) error {
	if req.StorageClass == "" {
		return nil
	}
	c := strings.ToUpper(req.StorageClass)
	if !slices.Contains(storage.StorageClasses, c) {
		return errcode.Invalid("storageClass", "storageClass must be one of %s", strings.Join(storage.StorageClasses, ", "))
	}
	if !slices.Contains(caps.StorageClasses, c) {
		return errcode.Invalid("storageClass", "storage class %s is not available on this store", c)
	}
	if !slices.Contains(p.AllowedStorageClasses, c) {
		return errcode.Denied("storageClass", "storage class %s is not allowed here", c)
	}
	obj.StorageClass = c
	return nil
}

// acl takes a canned ACL the policy allows (the store's own list is checked last).
func (p *Policy) acl(req *InitiateRequest, _ storage.Capabilities, obj *storage.Object) error {
	if req.ACL == "" {
		return nil
	}
	a := strings.ToLower(req.ACL)
	if !slices.Contains(storage.ACLs, a) {
		return errcode.Invalid("acl", "acl must be one of %s", strings.Join(storage.ACLs, ", "))
	}
	if a != "default" && !slices.Contains(p.AllowedACLs, a) {
		return errcode.Denied("acl", "acl %s is not allowed here", a)
	}
	obj.ACL = a
	return nil
}

// grantees takes per-grantee permissions where the store has them and the policy allows.
func (p *Policy) grantees(req *InitiateRequest, caps storage.Capabilities, obj *storage.Object) (err error) {
	if req.Grants == nil {
		return nil
	}
	if obj.Grants, err = grants(req.Grants); err != nil {
		return err
	}
	if n := len(obj.Grants.Read) + len(obj.Grants.ReadACP) + len(obj.Grants.WriteACP) + len(obj.Grants.FullControl); n > 0 && !caps.Grants {
		return errcode.Invalid("grants", "this store has no per-grantee permissions: use acl")
	} else if n > 0 && !p.AllowGrants {
		return errcode.Denied("grants", "this deployment does not allow grants")
	}
	return nil
}

// storeOptions takes the encryption, and refuses what the store cannot keep.
func storeOptions(req *InitiateRequest, caps storage.Capabilities, obj *storage.Object) (err error) {
	if req.Encryption != nil {
		if obj.Encryption, err = encryption(req.Encryption); err != nil {
			return err
		}
		if !slices.Contains(caps.Encryption, obj.Encryption.Type) {
			return errcode.Invalid("encryption.type", "encryption %s is not available on this store", obj.Encryption.Type)
		}
	}
	if len(obj.Tags) > 0 && !caps.Tags {
		return errcode.Invalid("tagging", "this store keeps no tags")
	}
	if obj.ACL != "" && obj.ACL != "default" && !slices.Contains(caps.ACLs, obj.ACL) {
		return errcode.Invalid("acl", "acl %s is not available on this store", obj.ACL)
	}
	return nil
}

// headerValue accepts printable ASCII only: anything else would be mangled or refused
// by HTTP and break the signature. Non-ASCII text must be percent-encoded by the client
// (RFC 5987 for Content-Disposition filenames).
func headerValue(field, v string, limit int) *errcode.Error {
	if len(v) > limit {
		return errcode.Invalid(field, "%s must be at most %d bytes", field, limit)
	}
	if v != strings.TrimSpace(v) {
		return errcode.Invalid(field, "%s must not start or end with whitespace", field)
	}
	for i := 0; i < len(v); i++ {
		if c := v[i]; c < 0x20 || c > 0x7e {
			return errcode.Invalid(field, "%s must be printable ASCII (percent-encode other text)", field)
		}
	}
	return nil
}

func CheckMetadata(in map[string]string) (map[string]string, error) {
	if len(in) == 0 {
		return nil, nil
	}
	out := make(map[string]string, len(in))
	total := 0
	for k, v := range in {
		field := "metadata." + k
		if len(k) > maxMetaHeader || !metaSuffix.MatchString(k) {
			return nil, errcode.Invalid(field, "metadata names may hold only letters, digits and '-' (no '_')")
		}
		suffix := strings.ToLower(k)
		if strings.HasPrefix(suffix, ReservedMetaPrefix) {
			return nil, errcode.Denied(field, "metadata names starting with %q are directup's own", ReservedMetaPrefix)
		}
		if _, dup := out[suffix]; dup {
			return nil, errcode.Invalid(field, "metadata name %q repeats another one ignoring case", k)
		}
		if err := headerValue(field, v, maxMetaHeader); err != nil {
			return nil, err
		}
		size := len("x-cos-meta-") + len(suffix) + len(v)
		if size > maxMetaHeader {
			return nil, errcode.Invalid(field, "one metadata header may be at most %d bytes", maxMetaHeader)
		}
		total += size
		out[suffix] = v
	}
	if total > maxMetaTotal-WriteMetaBytes {
		return nil, errcode.Invalid("metadata", "metadata headers may be at most %d bytes in all", maxMetaTotal-WriteMetaBytes)
	}
	return out, nil
}

func CheckTags(in map[string]string) (map[string]string, error) {
	if len(in) == 0 {
		return nil, nil
	}
	if len(in) > maxTags {
		return nil, errcode.Invalid("tagging", "at most %d tags are allowed", maxTags)
	}
	for k, v := range in {
		field := "tagging." + k
		if k == "" || utf8.RuneCountInString(k) > maxTagKey || utf8.RuneCountInString(v) > maxTagValue {
			return nil, errcode.Invalid(field, "tag keys need 1 to %d characters and values at most %d", maxTagKey, maxTagValue)
		}
		if !printable(k) || !printable(v) {
			return nil, errcode.Invalid(field, "tags must be valid UTF-8 without control characters")
		}
	}
	return in, nil
}

// EncodeTags renders tags as COS's x-cos-tagging wants them: key=value pairs, each part
// URL-encoded, joined by '&', sorted so the header is deterministic.
func EncodeTags(tags map[string]string, escape func(string) string) string {
	var b strings.Builder
	for i, k := range slices.Sorted(maps.Keys(tags)) {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(escape(k))
		b.WriteByte('=')
		b.WriteString(escape(tags[k]))
	}
	return b.String()
}

func grants(in *GrantsRequest) (storage.Grants, error) {
	var out storage.Grants
	for _, g := range []struct {
		field string
		ids   []string
		out   *[]string
	}{
		{"grants.read", in.Read, &out.Read},
		{"grants.readAcp", in.ReadACP, &out.ReadACP},
		{"grants.writeAcp", in.WriteACP, &out.WriteACP},
		{"grants.fullControl", in.FullControl, &out.FullControl},
	} {
		if len(g.ids) > maxGrantees {
			return storage.Grants{}, errcode.Invalid(g.field, "at most %d grantees per permission", maxGrantees)
		}
		for _, id := range g.ids {
			id = strings.TrimSuffix(strings.TrimPrefix(id, `id="`), `"`)
			if !grantee.MatchString(id) {
				return storage.Grants{}, errcode.Invalid(g.field, `grantees are account UINs like "100000000001" or "qcs::cam::uin/<owner>:uin/<sub>"`)
			}
			*g.out = append(*g.out, id)
		}
	}
	return out, nil
}

// encryptionTypes maps the JSON API's spellings to the neutral types.
var encryptionTypes = map[string]string{"AES256": storage.SSECOS, "cos/kms": storage.SSEKMS, "SSE-C": storage.SSEC}

func encryption(in *EncryptionRequest) (*storage.Encryption, error) {
	out := &storage.Encryption{Type: encryptionTypes[in.Type]}
	switch out.Type {
	case storage.SSECOS:
		if in.KMSKeyID != "" || in.Context != nil || in.CustomerKey != "" {
			return nil, errcode.Invalid("encryption", "AES256 (SSE-COS) takes no kmsKeyId, context or customerKey")
		}
	case storage.SSEKMS:
		if in.CustomerKey != "" {
			return nil, errcode.Invalid("encryption.customerKey", "customerKey belongs to SSE-C, not cos/kms")
		}
		if err := headerValue("encryption.kmsKeyId", in.KMSKeyID, 256); err != nil {
			return nil, err
		}
		out.KMSKeyID = in.KMSKeyID
		if in.Context != nil {
			for k, v := range in.Context {
				if !printable(k) || !printable(v) {
					return nil, errcode.Invalid("encryption.context", "context keys and values must be text without control characters")
				}
			}
			js, _ := json.Marshal(in.Context) // map keys marshal sorted: deterministic
			if len(js) > 1024 {
				return nil, errcode.Invalid("encryption.context", "context must be at most 1024 bytes as JSON")
			}
			out.Context = base64.StdEncoding.EncodeToString(js)
		}
	case storage.SSEC:
		if in.KMSKeyID != "" || in.Context != nil {
			return nil, errcode.Invalid("encryption", "SSE-C takes no kmsKeyId or context")
		}
		if in.CustomerKey == "" {
			return nil, errcode.Missing("encryption.customerKey")
		}
		key, err := base64.StdEncoding.DecodeString(in.CustomerKey)
		if err != nil || len(key) != 32 {
			return nil, errcode.Invalid("encryption.customerKey", "customerKey must be base64 of exactly 32 bytes")
		}
		sum := md5.Sum(key)
		out.CustomerKey = in.CustomerKey
		out.CustomerKeyMD5 = base64.StdEncoding.EncodeToString(sum[:])
	case "":
		if in.Type == "" {
			return nil, errcode.Missing("encryption.type")
		}
		return nil, errcode.Invalid("encryption.type", "encryption.type must be AES256, cos/kms or SSE-C")
	}
	return out, nil
}

func printable(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) {
			return false
		}
	}
	return true
}

// WriteMetadata is the metadata (x-cos-meta-directup-upload, x-amz-meta-...) in which an
// upload through the API names its write with a random value, also signed into its token:
// the API and the storage-triggered function both know it, so the events of two uploads of
// the same bytes to one key get different ids, and both paths the same id for one write.
// Clients cannot send metadata starting with "directup-".
const WriteMetadata = "directup-upload"

// FormMetadata is the metadata in which a form upload seals the object settings its form
// asked for (a store may take form fields a policy leaves out: the storage-triggered check
// deletes an object whose settings are not the sealed ones).
const FormMetadata = "directup-form"

const (
	ReservedMetaPrefix = "directup-"
	// writeMetaBytes is what WriteMetadata takes of COS's 4 KB of metadata headers.
	WriteMetaBytes = 64
)
