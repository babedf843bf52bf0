package policy

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"io"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/directup/directup/shared/errcode"
	"github.com/directup/directup/shared/records"
	"github.com/directup/directup/shared/storage"
)

const maxFilenameBytes = 120

var KeyEncoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// DefaultKeyTemplate is the key of an upload when UPLOAD_KEY_TEMPLATE is unset.
const DefaultKeyTemplate = "{prefix}{random}/{filename}"

// generateKey expands a key template: {prefix}, {sub} (the caller, see SubjectSegment),
// {date} (UTC, 2006/01/02), {random} (15 random bytes, 120 bits: the key is unguessable)
// and {filename} (sanitised).
func GenerateKey(random io.Reader, template, prefix, subject, filename string, now time.Time) (string, error) {
	var b [15]byte
	if _, err := io.ReadFull(random, b[:]); err != nil {
		return "", err
	}
	return strings.NewReplacer("{prefix}", prefix, "{sub}", SubjectSegment(subject), "{date}", now.UTC().Format("2006/01/02"),
		"{random}", KeyEncoding.EncodeToString(b[:]), "{filename}", SanitizeFilename(filename)).Replace(template), nil
}

// maxSubjectSegment bounds an escaped subject; longer ones are hashed.
const maxSubjectSegment = 128

// SubjectSegment turns a caller's subject into one key segment, injectively: distinct
// subjects always get distinct segments, so no caller can write into another's folder.
// Letters and digits of any script, '-', '_' and inner '.' stay as they are (ordinary ids
// stay readable); every other byte becomes "~XX" (uppercase hex), so the segment decodes
// back to the subject. An empty subject is "anonymous", and the subject "anonymous"
// itself is escaped ("~61nonymous"). A segment that would exceed 128 bytes is "~h"
// followed by the subject's SHA-256 in base32: "~h" is never an escape, so it cannot
// meet a short subject's segment.
func SubjectSegment(subject string) string {
	switch subject {
	case "":
		return "anonymous"
	case "anonymous":
		return "~61nonymous"
	}
	const hexDigits = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(subject); {
		r, size := utf8.DecodeRuneInString(subject[i:])
		plain := r != utf8.RuneError && (unicode.IsLetter(r) || unicode.IsDigit(r) || r == '-' || r == '_' ||
			r == '.' && i > 0 && i+size < len(subject))
		if plain {
			b.WriteString(subject[i : i+size])
		} else {
			for _, c := range []byte(subject[i : i+size]) {
				b.WriteByte('~')
				b.WriteByte(hexDigits[c>>4])
				b.WriteByte(hexDigits[c&15])
			}
		}
		i += size
		if b.Len() > maxSubjectSegment {
			sum := sha256.Sum256([]byte(subject))
			return "~h" + KeyEncoding.EncodeToString(sum[:])
		}
	}
	return b.String()
}

// reservedDir is the folder, under the key prefix, where directup keeps its own records
// (shared/records). No upload may ever write there.
const reservedDir = records.Dir

// reserved reports a key inside directup's records: under prefix's record folder, or with
// a ".directup" segment anywhere (whatever the prefix of the deployment that writes them).
func IsReserved(prefix, key string) bool {
	if strings.HasPrefix(key, prefix+reservedDir+"/") {
		return true
	}
	for _, seg := range strings.Split(key, "/") {
		if seg == reservedDir {
			return true
		}
	}
	return false
}

// SanitizeFilename keeps a filename's letters, digits, '.', '-' and '_' (any script), turns
// every other run of characters into one '-', drops any directory part, and trims the
// result to a safe length, keeping the extension. It never returns an empty string.
func SanitizeFilename(name string) string {
	if i := strings.LastIndexAny(name, `/\`); i >= 0 {
		name = name[i+1:]
	}
	var b strings.Builder
	dash := false
	for _, r := range name {
		if r == '.' || r == '-' || r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r) {
			b.WriteRune(r)
			dash = false
			continue
		}
		if !dash {
			b.WriteByte('-')
			dash = true
		}
	}
	s := strings.Trim(b.String(), ".-")
	if len(s) > maxFilenameBytes {
		ext := ""
		if i := strings.LastIndexByte(s, '.'); i > 0 && len(s)-i <= 16 {
			ext = s[i:]
		}
		cut := maxFilenameBytes - len(ext)
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = strings.Trim(s[:cut], ".-") + ext
	}
	if s == "" || s == "." {
		return "file"
	}
	return s
}

// policyMeta are what CAM and COS bucket policies read as more than one key in a
// resource: the wildcards (a "*" anywhere matches any run of characters, "?" one) and
// policy variables ("${uin}", "${cos:...}"). A key holding one, copied into the resource
// of temporary keys, would grant every key it matches.
var policyMeta = []string{"*", "?", "${"}

// checkKey is the one rule for the syntax of every key directup signs for or grants: valid
// UTF-8 within COS's length, no control or invisible format characters, no backslash, no
// empty, "." or ".." segment, and no policy metacharacter (policyMeta).
func checkKey(key string) *errcode.Error {
	bad := func(format string, args ...any) *errcode.Error { return errcode.Invalid("key", format, args...) }
	switch {
	case key == "":
		return errcode.Missing("key")
	case len(key) > storage.MaxKeyLength:
		return bad("key must be at most %d bytes", storage.MaxKeyLength)
	case !utf8.ValidString(key):
		return bad("key must be valid UTF-8")
	case strings.HasPrefix(key, "/"), strings.HasSuffix(key, "/"):
		return bad("key must not start or end with '/'")
	case strings.ContainsRune(key, '\\'):
		return bad("key must not contain a backslash")
	}
	for _, m := range policyMeta {
		if strings.Contains(key, m) {
			return bad("key must not contain %q: access policies read it as a pattern", m)
		}
	}
	for _, r := range key {
		if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || r == utf8.RuneError {
			return bad("key must not contain control or invisible characters")
		}
	}
	for _, seg := range strings.Split(key, "/") {
		if seg == "" || seg == "." || seg == ".." {
			return bad("key must not contain empty, '.' or '..' segments")
		}
	}
	return nil
}

// ObjectKey is a key that passed the policy's key rule (Policy.AdmitKey): the only kind
// of key from which anything granting access is built — the resource of temporary keys'
// CAM policy among them — so an unchecked string cannot reach one.
type ObjectKey struct{ key string }

// String returns the key.
func (k ObjectKey) String() string { return k.key }

// AdmitKey is the one rule every key of an upload passes, whoever chose it (the template,
// the client, the pre-create hook): checkKey's syntax, under the key prefix, outside
// directup's records, within the store's length.
func (p *Policy) AdmitKey(key string, caps storage.Capabilities) (ObjectKey, error) {
	if err := checkKey(key); err != nil {
		return ObjectKey{}, err
	}
	switch {
	case !strings.HasPrefix(key, p.KeyPrefix):
		return ObjectKey{}, errcode.Denied("key", "key must start with %s", p.KeyPrefix)
	case IsReserved(p.KeyPrefix, key):
		return ObjectKey{}, errcode.Denied("key", "keys under %s/ are reserved for directup's own records", reservedDir)
	case caps.MaxKeyLength > 0 && len(key) > caps.MaxKeyLength:
		return ObjectKey{}, errcode.Invalid("key", "the key is %d bytes; this store takes at most %d", len(key), caps.MaxKeyLength)
	}
	return ObjectKey{key}, nil
}

// clientKey checks a client-named key against the policy (ObjectFor then admits it).
func (p *Policy) clientKey(key string) (string, *errcode.Error) {
	if !p.ClientKeys {
		return "", errcode.Denied("key", "this deployment does not let clients name keys; send filename instead")
	}
	if err := checkKey(key); err != nil {
		return "", err
	}
	return key, nil
}

var DefaultRandom io.Reader = rand.Reader
