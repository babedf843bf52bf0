// Package cossign computes Tencent Cloud COS request signatures (q-sign-algorithm=sha1).
//
// It is pure: credentials, the request's parts and the signing window go in, text comes out.
// No clock is read here, so known-answer tests pin every byte. The output is byte-identical to
// the official SDK (github.com/tencentyun/cos-go-sdk-v5), which the tests use as an oracle.
package cossign

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/hex"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Credentials are a COS key pair, with the session token of temporary credentials.
type Credentials struct {
	SecretID     string
	SecretKey    string
	SessionToken string
}

// TokenHeader carries the session token of temporary credentials on a signed request;
// a presigned URL carries it as a query parameter of the same name.
const TokenHeader = "x-cos-security-token"

// KeyTime formats a signing window as COS expects: "<start>;<end>" in Unix seconds.
func KeyTime(start, end time.Time) string {
	var b [48]byte
	s := strconv.AppendInt(b[:0], start.Unix(), 10)
	s = append(s, ';')
	s = strconv.AppendInt(s, end.Unix(), 10)
	return string(s)
}

// SignKey derives the per-window key: lowercase hex of HMAC-SHA1(secretKey, keyTime).
func SignKey(secretKey, keyTime string) []byte {
	m := hmac.New(sha1.New, []byte(secretKey))
	m.Write([]byte(keyTime))
	var sum [sha1.Size]byte
	out := make([]byte, hex.EncodedLen(sha1.Size))
	hex.Encode(out, m.Sum(sum[:0]))
	return out
}

// standardSigned lists the non-x-cos headers the official SDK signs (its NeedSignHeaders).
var standardSigned = map[string]bool{
	"host": true, "range": true, "cache-control": true, "content-disposition": true,
	"content-encoding": true, "content-type": true, "content-length": true, "content-md5": true,
	"transfer-encoding": true, "expect": true, "expires": true, "if-match": true,
	"if-modified-since": true, "if-none-match": true, "if-unmodified-since": true, "origin": true,
	"access-control-request-method": true, "access-control-request-headers": true,
	"pic-operations": true,
}

// ShouldSign reports whether the official SDK signs a header of this (any-case) name:
// host, the standard entity headers it knows, and every x-cos-* and x-ci-* header.
func ShouldSign(name string) bool {
	n := strings.ToLower(name)
	return standardSigned[n] || strings.HasPrefix(n, "x-cos-") || strings.HasPrefix(n, "x-ci-")
}

// Request is what a signature covers. Path is the decoded object path ("/dir/a b.txt").
// Params and Headers hold exactly what is signed: callers choose (SignableHeaders does it
// the SDK's way; a verifier uses the lists the client declared).
type Request struct {
	Method  string
	Path    string
	Params  url.Values
	Headers http.Header
}

// SignableHeaders picks the headers the SDK would sign from h, adding host.
func SignableHeaders(h http.Header, host string) http.Header {
	out := make(http.Header, len(h)+1)
	for k, vs := range h {
		if ShouldSign(k) {
			out[k] = vs
		}
	}
	out["Host"] = []string{host}
	return out
}

// Signature is a computed signature with the lists that go into the Authorization text.
type Signature struct {
	KeyTime    string
	HeaderList string // "h1;h2", lowercase, sorted
	ParamList  string // "p1;p2", lowercase, sorted
	Signature  string // lowercase hex
}

// Authorization renders the Authorization header value.
func (s Signature) Authorization(secretID string) string {
	return "q-sign-algorithm=sha1&q-ak=" + secretID +
		"&q-sign-time=" + s.KeyTime + "&q-key-time=" + s.KeyTime +
		"&q-header-list=" + s.HeaderList + "&q-url-param-list=" + s.ParamList +
		"&q-signature=" + s.Signature
}

// Query renders the Authorization fields as presigned-URL query parameters, encoded the
// SDK's way (";" becomes %3B).
func (s Signature) Query(secretID string) string {
	return "q-sign-algorithm=sha1&q-ak=" + Escape(secretID) +
		"&q-sign-time=" + Escape(s.KeyTime) + "&q-key-time=" + Escape(s.KeyTime) +
		"&q-header-list=" + Escape(s.HeaderList) + "&q-url-param-list=" + Escape(s.ParamList) +
		"&q-signature=" + s.Signature
}

// Sign signs r with secretKey for the window keyTime.
func Sign(secretKey, keyTime string, r Request) Signature {
	params, plist := format(r.Params)
	headers, hlist := format(url.Values(r.Headers))
	httpString := strings.ToLower(r.Method) + "\n" + r.Path + "\n" + params + "\n" + headers + "\n"
	sum := sha1.Sum([]byte(httpString))
	sts := "sha1\n" + keyTime + "\n" + hex.EncodeToString(sum[:]) + "\n"
	m := hmac.New(sha1.New, SignKey(secretKey, keyTime))
	m.Write([]byte(sts))
	return Signature{
		KeyTime:    keyTime,
		HeaderList: hlist,
		ParamList:  plist,
		Signature:  hex.EncodeToString(m.Sum(nil)),
	}
}

// format renders name=value pairs (names lowercased and encoded, values encoded, sorted by
// name then value) and the ";"-joined name list.
func format(vs url.Values) (string, string) {
	type kv struct{ k, v string }
	pairs := make([]kv, 0, len(vs))
	for k, values := range vs {
		name := strings.ToLower(Escape(k))
		for _, v := range values {
			pairs = append(pairs, kv{name, Escape(v)})
		}
	}
	sort.Slice(pairs, func(i, j int) bool {
		if pairs[i].k != pairs[j].k {
			return pairs[i].k < pairs[j].k
		}
		return pairs[i].v < pairs[j].v
	})
	var body, list strings.Builder
	for i, p := range pairs {
		if i > 0 {
			body.WriteByte('&')
			list.WriteByte(';')
		}
		body.WriteString(p.k)
		body.WriteByte('=')
		body.WriteString(p.v)
		list.WriteString(p.k)
	}
	return body.String(), list.String()
}

// Escape is RFC 3986 percent-encoding: only A-Za-z0-9-_.~ stay, everything else is %XX
// with uppercase hex. COS signs names and values in this form.
func Escape(s string) string { return escape(s, false) }

// EscapePath encodes an object key for a URL path the way the SDK does: "/" and
// -_.~!*'() stay as they are.
func EscapePath(s string) string { return escape(s, true) }

func escape(s string, path bool) string {
	n := 0
	for i := 0; i < len(s); i++ {
		if !keep(s[i], path) {
			n++
		}
	}
	if n == 0 {
		return s
	}
	const hexdigits = "0123456789ABCDEF"
	b := make([]byte, 0, len(s)+2*n)
	for i := 0; i < len(s); i++ {
		c := s[i]
		if keep(c, path) {
			b = append(b, c)
			continue
		}
		b = append(b, '%', hexdigits[c>>4], hexdigits[c&15])
	}
	return string(b)
}

func keep(c byte, path bool) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	case c == '-' || c == '_' || c == '.' || c == '~':
		return true
	case path && (c == '/' || c == '!' || c == '*' || c == '\'' || c == '(' || c == ')'):
		return true
	}
	return false
}
