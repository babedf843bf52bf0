package upload

import (
	"crypto/rand"
	"encoding/base32"
	"io"
	"net/http"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// MaxKeyLength is COS's limit on an object key, in UTF-8 bytes.
const MaxKeyLength = 850

const maxFilenameBytes = 120

var keyEncoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// DefaultKeyTemplate is the key of an upload when UPLOAD_KEY_TEMPLATE is unset.
const DefaultKeyTemplate = "{prefix}{random}/{filename}"

// generateKey expands a key template: {prefix}, {sub} (the caller, sanitised), {date}
// (UTC, 2006/01/02), {random} (15 random bytes, 120 bits: the key is unguessable) and
// {filename} (sanitised).
func generateKey(random io.Reader, template, prefix, subject, filename string, now time.Time) (string, error) {
	var b [15]byte
	if _, err := io.ReadFull(random, b[:]); err != nil {
		return "", err
	}
	sub := "anonymous"
	if subject != "" {
		sub = SanitizeFilename(subject)
	}
	return strings.NewReplacer("{prefix}", prefix, "{sub}", sub, "{date}", now.UTC().Format("2006/01/02"),
		"{random}", keyEncoding.EncodeToString(b[:]), "{filename}", SanitizeFilename(filename)).Replace(template), nil
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

// checkKey enforces the rules for client-chosen keys: valid UTF-8 within COS's length,
// no control or invisible format characters, no backslash, no empty, "." or ".." segment.
func checkKey(key string) *Error {
	bad := func(format string, args ...any) *Error { return Invalid("key", format, args...) }
	switch {
	case key == "":
		return Missing("key")
	case len(key) > MaxKeyLength:
		return bad("key must be at most %d bytes", MaxKeyLength)
	case !utf8.ValidString(key):
		return bad("key must be valid UTF-8")
	case strings.HasPrefix(key, "/"), strings.HasSuffix(key, "/"):
		return bad("key must not start or end with '/'")
	case strings.ContainsRune(key, '\\'):
		return bad("key must not contain a backslash")
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

// clientKey checks a client-named key against the policy.
func (p *Policy) clientKey(key string) (string, *Error) {
	if !p.ClientKeys {
		return "", Denied("key", "this deployment does not let clients name keys; send filename instead")
	}
	if err := checkKey(key); err != nil {
		return "", err
	}
	if !strings.HasPrefix(key, p.KeyPrefix) {
		return "", &Error{Status: http.StatusForbidden, Code: CodePolicyDenied, Field: "key",
			Message: "key must start with " + p.KeyPrefix}
	}
	return key, nil
}

var defaultRandom io.Reader = rand.Reader
