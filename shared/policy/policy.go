// Package policy is the deployer's rules and how a request is held to them: the settings
// (UPLOAD_*), an initiate request's fields and headers (request.go), object keys — the
// generated layout and the client-key rule (objectkey.go) — and content checks against the
// declared type (content.go). It decides; it never touches storage.
package policy

import (
	"fmt"
	"mime"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/directup/directup/shared/storage"
)

// Policy is the deployer's rule set. Field tags name the environment variables that set
// it (read with envconfig by the functions; defaults are the safe choice) and, for the
// rules a profile may set for its own uploads, the rule's name in UPLOAD_PROFILES.
type Policy struct {
	// KeyPrefix starts every key: generated keys through the template, client keys by rule.
	KeyPrefix string `profile:"keyPrefix" envconfig:"UPLOAD_KEY_PREFIX" default:"uploads/"`
	// KeyTemplate shapes generated keys; see generateKey for its placeholders.
	KeyTemplate string `profile:"keyTemplate" envconfig:"UPLOAD_KEY_TEMPLATE" default:"{prefix}{random}/{filename}"`
	// MaxSize is the largest object a client may declare, in bytes (default 5 GiB).
	MaxSize int64 `profile:"maxSize" envconfig:"UPLOAD_MAX_SIZE" default:"5368709120"`
	// MinSize is the smallest (default 0).
	MinSize int64 `profile:"minSize" envconfig:"UPLOAD_MIN_SIZE" default:"0"`
	// RequiredMetadata names metadata every upload must carry (e.g. "project").
	RequiredMetadata []string `profile:"requiredMetadata" envconfig:"UPLOAD_REQUIRED_METADATA"`
	// AllowedTypes lists permitted content types; "image/*" and "*/*" are wildcards.
	AllowedTypes []string `profile:"allowedTypes" envconfig:"UPLOAD_ALLOWED_TYPES" default:"*/*"`
	// AllowedACLs lists object ACLs clients may ask for beyond "default" (none by default).
	AllowedACLs []string `profile:"allowedAcls" envconfig:"UPLOAD_ALLOWED_ACLS"`
	// AllowGrants lets clients set x-cos-grant-* headers.
	AllowGrants bool `profile:"allowGrants" envconfig:"UPLOAD_ALLOW_GRANTS" default:"false"`
	// AllowedStorageClasses lists storage classes clients may choose.
	AllowedStorageClasses []string `profile:"allowedStorageClasses" envconfig:"UPLOAD_ALLOWED_STORAGE_CLASSES" default:"STANDARD"`
	// ClientKeys lets clients name the object key (under KeyPrefix) instead of a filename.
	ClientKeys bool `profile:"clientKeys" envconfig:"UPLOAD_CLIENT_KEYS" default:"false"`
	// ForbidOverwrite forces x-cos-forbid-overwrite: true on every upload.
	ForbidOverwrite bool `profile:"forbidOverwrite" envconfig:"UPLOAD_FORBID_OVERWRITE" default:"false"`
	// URLTTL is the lifetime of presigned part URLs (capped by the credentials' expiry).
	URLTTL time.Duration `profile:"urlTtl" envconfig:"UPLOAD_URL_TTL" default:"1h"`
	// TokenTTL is how long an upload token (the handle for follow-up calls) stays valid.
	TokenTTL time.Duration `profile:"tokenTtl" envconfig:"UPLOAD_TOKEN_TTL" default:"24h"`
	// DefaultPartSize is used when a client names no partSize (grown to fit 10,000 parts).
	DefaultPartSize int64 `profile:"partSize" envconfig:"UPLOAD_PART_SIZE" default:"8388608"`
	// PartBatch is how many part URLs one answer carries at most.
	PartBatch int `envconfig:"UPLOAD_PART_BATCH" default:"100"`
	// VerifyContent reads every completed object's first bytes and deletes it when they
	// contradict the declared type (422 content_mismatch).
	VerifyContent bool `profile:"verifyContent" envconfig:"UPLOAD_VERIFY_CONTENT" default:"true"`
	// RequireChecksum refuses a complete without the client's whole-object checksum
	// (400 missing_field checksum): every object is then checked end to end.
	RequireChecksum bool `profile:"requireChecksum" envconfig:"UPLOAD_REQUIRE_CHECKSUM" default:"false"`
	// AllowSTS lets POST /sts hand clients temporary keys scoped to one upload, for the
	// storage's own SDKs (their uploads are not part-pinned: see README).
	AllowSTS bool `envconfig:"UPLOAD_ALLOW_STS" default:"false"`
	// STSTTL is those keys' lifetime.
	STSTTL time.Duration `envconfig:"UPLOAD_STS_TTL" default:"30m"`
}

// Default is the policy with every default applied.
func Default() Policy {
	return Policy{
		KeyPrefix: "uploads/", KeyTemplate: DefaultKeyTemplate, MaxSize: 5 << 30, AllowedTypes: []string{"*/*"},
		AllowedStorageClasses: []string{"STANDARD"}, URLTTL: time.Hour, TokenTTL: 24 * time.Hour,
		DefaultPartSize: 8 << 20, PartBatch: 100, VerifyContent: true, STSTTL: 30 * time.Minute,
	}
}

// Validate checks the policy once at start; the error names the variable at fault.
func (p *Policy) Validate() error {
	if p.KeyPrefix != "" {
		if err := checkKey(p.KeyPrefix + "x"); err != nil {
			return fmt.Errorf("UPLOAD_KEY_PREFIX: %s", err.Message)
		}
	}
	if !strings.Contains(p.KeyTemplate, "{random}") || !strings.Contains(p.KeyTemplate, "{filename}") {
		return fmt.Errorf("UPLOAD_KEY_TEMPLATE: must contain {random} and {filename}")
	}
	if IsReserved("", p.KeyPrefix+"x") {
		return fmt.Errorf("UPLOAD_KEY_PREFIX: must not contain a %s segment (directup keeps its records there)", reservedDir)
	}
	sample, _ := GenerateKey(strings.NewReader(strings.Repeat("x", 15)), p.KeyTemplate, p.KeyPrefix, "user", "file.bin", time.Unix(0, 0))
	if err := checkKey(sample); err != nil || !strings.HasPrefix(sample, p.KeyPrefix) || IsReserved(p.KeyPrefix, sample) {
		return fmt.Errorf("UPLOAD_KEY_TEMPLATE: must give keys under UPLOAD_KEY_PREFIX with no empty, '.' or '..' segments (gives %q)", sample)
	}
	if p.MaxSize < 0 || p.MaxSize > storage.MaxTotalSize {
		return fmt.Errorf("UPLOAD_MAX_SIZE: must be between 0 and %d bytes", storage.MaxTotalSize)
	}
	if p.MinSize < 0 || p.MinSize > p.MaxSize {
		return fmt.Errorf("UPLOAD_MIN_SIZE: must be between 0 and UPLOAD_MAX_SIZE (%d)", p.MaxSize)
	}
	for i, m := range p.RequiredMetadata {
		m = strings.ToLower(strings.TrimSpace(m))
		if !metaSuffix.MatchString(m) || strings.HasPrefix(m, ReservedMetaPrefix) {
			return fmt.Errorf("UPLOAD_REQUIRED_METADATA: %q is not a metadata name (letters, digits and '-'; not directup-...)", m)
		}
		p.RequiredMetadata[i] = m
	}
	for i, t := range p.AllowedTypes {
		t = strings.ToLower(strings.TrimSpace(t))
		if _, err := path.Match(t, "a/b"); err != nil || !strings.Contains(t, "/") {
			return fmt.Errorf("UPLOAD_ALLOWED_TYPES: %q is not a type pattern like image/png or image/*", t)
		}
		p.AllowedTypes[i] = t
	}
	for i, a := range p.AllowedACLs {
		a = strings.ToLower(strings.TrimSpace(a))
		if !slices.Contains(storage.ACLs, a) {
			return fmt.Errorf("UPLOAD_ALLOWED_ACLS: %q is not one of %s", a, strings.Join(storage.ACLs, ", "))
		}
		p.AllowedACLs[i] = a
	}
	for i, c := range p.AllowedStorageClasses {
		c = strings.ToUpper(strings.TrimSpace(c))
		if !slices.Contains(storage.StorageClasses, c) {
			return fmt.Errorf("UPLOAD_ALLOWED_STORAGE_CLASSES: %q is not one of %s", c, strings.Join(storage.StorageClasses, ", "))
		}
		p.AllowedStorageClasses[i] = c
	}
	for _, c := range p.AllowedStorageClasses {
		if p.VerifyContent && slices.Contains(unreadableClasses, c) {
			return fmt.Errorf("UPLOAD_ALLOWED_STORAGE_CLASSES: %s objects cannot be read back until restored, so their content cannot be verified: drop %s or set UPLOAD_VERIFY_CONTENT=false", c, c)
		}
	}
	if p.URLTTL < time.Minute || p.URLTTL > 7*24*time.Hour {
		return fmt.Errorf("UPLOAD_URL_TTL: must be between 1m and 168h")
	}
	if p.TokenTTL < p.URLTTL || p.TokenTTL > 30*24*time.Hour {
		return fmt.Errorf("UPLOAD_TOKEN_TTL: must be at least UPLOAD_URL_TTL and at most 720h")
	}
	if p.DefaultPartSize < storage.MinPartSize || p.DefaultPartSize > storage.MaxPartSize {
		return fmt.Errorf("UPLOAD_PART_SIZE: must be between %d and %d bytes", storage.MinPartSize, storage.MaxPartSize)
	}
	if p.STSTTL < 15*time.Minute || p.STSTTL > 12*time.Hour {
		return fmt.Errorf("UPLOAD_STS_TTL: must be between 15m and 12h (Tencent STS's bounds)")
	}
	if p.PartBatch < 1 || p.PartBatch > storage.MaxParts {
		return fmt.Errorf("UPLOAD_PART_BATCH: must be between 1 and %d", storage.MaxParts)
	}
	return nil
}

// unreadableClasses are storage classes whose objects cannot be read until restored.
var unreadableClasses = []string{"ARCHIVE", "DEEP_ARCHIVE", "MAZ_ARCHIVE"}

// scriptableTypes are media types a browser runs script in when it shows them inline.
// Every XML type (+xml) is one too: an XHTML element inside any XML document runs.
var scriptableTypes = []string{"text/html", "text/xml", "application/xml", "text/xsl",
	"text/javascript", "application/javascript", "application/x-javascript", "text/x-javascript",
	"application/ecmascript", "text/ecmascript", "multipart/x-mixed-replace"}

// sniffedTypes are declarations a browser takes for no type at all: it sniffs the bytes
// (WHATWG MIME Sniffing) and runs what it finds to be HTML or XML.
var sniffedTypes = []string{"unknown/unknown", "application/unknown", "*/*"}

// Scriptable reports whether a browser may run script in an object of this media type
// (lowercase, no parameters) served inline: HTML, SVG and every other XML type, scripts,
// and the types a browser sniffs — unknown/unknown, application/unknown, */*, no type,
// and anything that is not one plain type/subtype (a wildcard, a glob, no subtype).
// It is the one definition the policy (typeAllowed, the forced attachment) and content
// verification (ContentVerdict) share.
func Scriptable(mediaType string) bool {
	return slices.Contains(scriptableTypes, mediaType) || strings.HasSuffix(mediaType, "+xml") ||
		slices.Contains(sniffedTypes, mediaType) || !plainType(mediaType)
}

// scriptableType is Scriptable for a whole Content-Type value, parameters included: a
// value that names no single type exactly (see namedType) counts as sniffed.
func scriptableType(contentType string) bool {
	return Scriptable(namedType(contentType))
}

// namedType is the media type a Content-Type value names exactly, or "" when it names
// none: it does not parse (a list, repeated or malformed parameters, where a browser may
// read another type than mime.ParseMediaType does) or holds a wildcard anywhere.
func namedType(contentType string) string {
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil || strings.Contains(contentType, "*") || !plainType(mt) {
		return ""
	}
	return mt
}

// plainType reports whether mt is type/subtype, both HTTP tokens without glob characters.
func plainType(mt string) bool {
	t, s, ok := strings.Cut(mt, "/")
	return ok && token(t) && token(s)
}

func token(s string) bool {
	for _, c := range []byte(s) {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("!#$%&'+-.^_`|~", c) >= 0) {
			return false
		}
	}
	return s != ""
}

// mediaType is a content type's lowercase type/subtype, without parameters.
func MediaType(contentType string) string {
	mt := strings.ToLower(contentType)
	if i := strings.IndexByte(mt, ';'); i >= 0 {
		mt = mt[:i]
	}
	return strings.TrimSpace(mt)
}

// typeAllowed matches a content type against the allow-list. A scriptable type
// (scriptableType: HTML, SVG, XML, scripts, and every type a browser sniffs) is admitted
// only when listed by its exact name: no pattern with glob characters (image/* or the
// default */*) admits it, and a value that names no type exactly is never admitted.
func (p *Policy) typeAllowed(contentType string) bool {
	if mt := namedType(contentType); Scriptable(mt) {
		return mt != "" && slices.Contains(p.AllowedTypes, mt)
	}
	mt := MediaType(contentType)
	for _, pattern := range p.AllowedTypes {
		if ok, _ := path.Match(pattern, mt); ok {
			return true
		}
	}
	return false
}
