package localcos

import (
	"crypto/subtle"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/directup/directup/shared/cos/campolicy"
	"github.com/directup/directup/shared/cos/cossign"
)

// verify checks a request's COS signature, from its Authorization header or from the
// query of a presigned URL, exactly as COS would: the declared header and parameter lists
// are re-signed with the store's secret. It returns a COS error code, or "" when valid.
func (s *Server) verify(r *http.Request) (code, message string) {
	code, message, _ = s.authenticate(r)
	return code, message
}

// authenticate is verify, also returning the scope of the temporary keys that signed r
// (nil for the store's own keys, which may do anything).
func (s *Server) authenticate(r *http.Request) (code, message string, scope *campolicy.Policy) {
	q := r.URL.Query()
	var auth url.Values
	if h := r.Header.Get("Authorization"); h != "" {
		// The header form is "&"-joined but values are not URL-encoded ("1;2").
		auth = url.Values{}
		for _, kv := range strings.Split(h, "&") {
			k, v, _ := strings.Cut(kv, "=")
			auth.Set(k, v)
		}
	} else if q.Get("q-signature") != "" {
		auth = q
	} else {
		return "AccessDenied", "Request has no signature", nil
	}
	if auth.Get("q-sign-algorithm") != "sha1" {
		return "InvalidArgument", "q-sign-algorithm must be sha1", nil
	}
	cred, ok := s.credential(auth.Get("q-ak"))
	if !ok {
		return "InvalidAccessKeyId", "The access key Id format you provided is invalid", nil
	}
	if !cred.expires.IsZero() && !s.now().Before(cred.expires) {
		return "ExpiredToken", "The provided token has expired", nil
	}
	signTime, keyTime := auth.Get("q-sign-time"), auth.Get("q-key-time")
	if signTime != keyTime {
		return "AccessDenied", "q-sign-time and q-key-time differ", nil
	}
	startS, endS, ok := strings.Cut(keyTime, ";")
	start, err1 := strconv.ParseInt(startS, 10, 64)
	end, err2 := strconv.ParseInt(endS, 10, 64)
	if !ok || err1 != nil || err2 != nil || end < start {
		return "AccessDenied", "q-sign-time is malformed", nil
	}
	now := s.now().Unix()
	if now > end {
		return "AccessDenied", "Request has expired", nil
	}
	if now+int64(time.Minute/time.Second) < start {
		return "RequestTimeTooSkewed", "The difference between the request time and the server's time is too large", nil
	}

	req := cossign.Request{Method: r.Method, Path: r.URL.Path, Params: url.Values{}, Headers: http.Header{}}
	hasHost := false
	if list := auth.Get("q-header-list"); list != "" {
		for _, name := range strings.Split(list, ";") {
			switch name {
			case "host":
				hasHost = true
				req.Headers.Set(name, r.Host)
			case "content-length":
				if r.ContentLength < 0 {
					return "MissingContentLength", "Content-Length is signed but absent", nil
				}
				req.Headers.Set(name, strconv.FormatInt(r.ContentLength, 10))
			default:
				vs := r.Header.Values(name)
				if len(vs) == 0 {
					return "SignatureDoesNotMatch", "signed header " + name + " is absent", nil
				}
				req.Headers[name] = vs
			}
		}
	}
	if !hasHost {
		return "AccessDenied", "host must be signed", nil
	}
	if list := auth.Get("q-url-param-list"); list != "" {
		lower := map[string][]string{}
		for k, vs := range q {
			lower[strings.ToLower(cossign.Escape(k))] = vs
		}
		for _, name := range strings.Split(list, ";") {
			vs, ok := lower[name]
			if !ok {
				return "SignatureDoesNotMatch", "signed parameter " + name + " is absent", nil
			}
			req.Params[name] = vs
		}
	}
	if cred.SessionToken != "" {
		tok := r.Header.Get(cossign.TokenHeader)
		if tok == "" {
			tok = q.Get(cossign.TokenHeader)
		}
		// COS takes the token signed or not: the Go SDK signs it, the JS and Node SDKs send
		// it beside the signature. Its value must be the keys' own either way.
		if tok != cred.SessionToken {
			return "InvalidAccessKeyId", "the security token is missing or wrong", nil
		}
	}
	want := cossign.Sign(cred.SecretKey, keyTime, req).Signature
	if subtle.ConstantTimeCompare([]byte(want), []byte(auth.Get("q-signature"))) != 1 {
		return "SignatureDoesNotMatch", "The Signature you specified does not match", nil
	}
	return "", "", cred.scope
}

// credential is a key the store accepts: its own, or temporary keys its stand-in STS
// minted, with their scope and end.
type credential struct {
	cossign.Credentials
	expires time.Time
	scope   *campolicy.Policy
}

func (s *Server) credential(id string) (credential, bool) {
	if id == s.cred.SecretID {
		return credential{Credentials: s.cred}, true
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.temporary[id]
	return c, ok
}

// MintTemporary is local mode's stand-in for Tencent STS: temporary keys that the store
// accepts for ttl, limited by scope as COS limits keys STS issued with an inline policy.
func (s *Server) MintTemporary(scope campolicy.Policy, ttl time.Duration) (cossign.Credentials, time.Time) {
	c := credential{Credentials: cossign.Credentials{SecretID: "AKIDtmp" + randomHex(12), SecretKey: randomHex(20),
		SessionToken: "tmp-" + randomHex(24)}, expires: s.now().Add(ttl), scope: &scope}
	s.mu.Lock()
	s.temporary[c.SecretID] = c
	s.mu.Unlock()
	return c.Credentials, c.expires
}

// Region is the region local mode's policies name.
const Region = "local"

// authorize checks a request signed with scoped keys against their policy: the action
// COS would name, on the object (or, for listings, the prefix asked about).
func (s *Server) authorize(r *http.Request, key string, scope *campolicy.Policy) bool {
	if scope == nil {
		return true
	}
	q := r.URL.Query()
	action := ""
	switch {
	case key == "" && r.Method == http.MethodGet && q.Has("uploads"):
		action, key = "ListMultipartUploads", q.Get("prefix")
	case key == "":
		action = "GetBucket"
	case r.Method == http.MethodPost && q.Has("uploads"):
		action = "InitiateMultipartUpload"
	case r.Method == http.MethodPut && q.Has("uploadId"):
		action = "UploadPart"
	case r.Method == http.MethodGet && q.Has("uploadId"):
		action = "ListParts"
	case r.Method == http.MethodPost && q.Has("uploadId"):
		action = "CompleteMultipartUpload"
	case r.Method == http.MethodDelete && q.Has("uploadId"):
		action = "AbortMultipartUpload"
	case r.Method == http.MethodPut:
		action = "PutObject"
	case r.Method == http.MethodGet:
		action = "GetObject"
	case r.Method == http.MethodHead:
		action = "HeadObject"
	case r.Method == http.MethodDelete:
		action = "DeleteObject"
	}
	values := map[string]string{}
	if ct := r.Header.Get("Content-Type"); ct != "" {
		values[campolicy.ContentType] = ct
	}
	if r.ContentLength >= 0 && (r.Method == http.MethodPut || r.Method == http.MethodPost) {
		values[campolicy.ContentLength] = strconv.FormatInt(r.ContentLength, 10)
	}
	return scope.Allows(campolicy.Request{Action: "name/cos:" + action, Resource: campolicy.RequestResource(Region, s.bucket, key), Values: values})
}
