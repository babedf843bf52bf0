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
	cred, no := s.checkSignature(r)
	if no != nil {
		return no.code, no.message, nil
	}
	return "", "", cred.scope
}

// refusal is why the store refuses a request: a COS error code and its message.
type refusal struct{ code, message string }

// checkSignature runs COS's checks in COS's order: the signature's fields, the key that
// signed, the key time, the signed headers and parameters, the security token and, last,
// the signature itself. It returns the key that signed r.
func (s *Server) checkSignature(r *http.Request) (credential, *refusal) {
	q := r.URL.Query()
	auth, no := signatureFields(r.Header.Get("Authorization"), q)
	if no != nil {
		return credential{}, no
	}
	cred, no := s.signingKey(auth)
	if no != nil {
		return credential{}, no
	}
	keyTime := auth.Get("q-key-time")
	if no := s.checkKeyTime(auth.Get("q-sign-time"), keyTime); no != nil {
		return credential{}, no
	}
	req, no := signedRequest(r, q, auth)
	if no != nil {
		return credential{}, no
	}
	if no := checkToken(r, q, cred.SessionToken); no != nil {
		return credential{}, no
	}
	want := cossign.Sign(cred.SecretKey, keyTime, req).Signature
	if subtle.ConstantTimeCompare([]byte(want), []byte(auth.Get("q-signature"))) != 1 {
		return credential{}, &refusal{"SignatureDoesNotMatch", "The Signature you specified does not match"}
	}
	return cred, nil
}

// signatureFields are the signature's q-* fields, from the Authorization header (header)
// or else from the query of a presigned URL.
func signatureFields(header string, q url.Values) (url.Values, *refusal) {
	switch {
	case header != "":
		// The header form is "&"-joined but values are not URL-encoded ("1;2").
		auth := url.Values{}
		for _, kv := range strings.Split(header, "&") {
			k, v, _ := strings.Cut(kv, "=")
			auth.Set(k, v)
		}
		return auth, nil
	case q.Get("q-signature") != "":
		return q, nil
	}
	return nil, &refusal{"AccessDenied", "Request has no signature"}
}

// signingKey is the key the signature names (q-ak), if the store knows it, it has not
// expired, and the algorithm is COS's.
func (s *Server) signingKey(auth url.Values) (credential, *refusal) {
	if auth.Get("q-sign-algorithm") != "sha1" {
		return credential{}, &refusal{"InvalidArgument", "q-sign-algorithm must be sha1"}
	}
	cred, ok := s.credential(auth.Get("q-ak"))
	if !ok {
		return credential{}, &refusal{"InvalidAccessKeyId", "The access key Id format you provided is invalid"}
	}
	if !cred.expires.IsZero() && !s.now().Before(cred.expires) {
		return credential{}, &refusal{"ExpiredToken", "The provided token has expired"}
	}
	return cred, nil
}

// checkKeyTime checks the signature's validity window ("start;end", Unix seconds): the
// sign and key times equal, well formed, not ended, and not starting more than a minute
// ahead of the store's clock.
func (s *Server) checkKeyTime(signTime, keyTime string) *refusal {
	if signTime != keyTime {
		return &refusal{"AccessDenied", "q-sign-time and q-key-time differ"}
	}
	startS, endS, ok := strings.Cut(keyTime, ";")
	start, err1 := strconv.ParseInt(startS, 10, 64)
	end, err2 := strconv.ParseInt(endS, 10, 64)
	if !ok || err1 != nil || err2 != nil || end < start {
		return &refusal{"AccessDenied", "q-sign-time is malformed"}
	}
	now := s.now().Unix()
	if now > end {
		return &refusal{"AccessDenied", "Request has expired"}
	}
	if now+int64(time.Minute/time.Second) < start {
		return &refusal{"RequestTimeTooSkewed", "The difference between the request time and the server's time is too large"}
	}
	return nil
}

// signedRequest is what the signature covers: r's method and path, and the headers and
// parameters its q-header-list and q-url-param-list declare, with r's values.
func signedRequest(r *http.Request, q, auth url.Values) (cossign.Request, *refusal) {
	req := cossign.Request{Method: r.Method, Path: r.URL.Path, Params: url.Values{}, Headers: http.Header{}}
	if no := signedHeaders(r, auth.Get("q-header-list"), req.Headers); no != nil {
		return req, no
	}
	if no := signedParams(q, auth.Get("q-url-param-list"), req.Params); no != nil {
		return req, no
	}
	return req, nil
}

// signedHeaders fills into with the headers list names (";"-separated): the request's
// host and length as the server saw them, the others as sent. Host must be among them.
func signedHeaders(r *http.Request, list string, into http.Header) *refusal {
	hasHost := false
	if list != "" {
		for _, name := range strings.Split(list, ";") {
			switch name {
			case "host":
				hasHost = true
				into.Set(name, r.Host)
			case "content-length":
				if r.ContentLength < 0 {
					return &refusal{"MissingContentLength", "Content-Length is signed but absent"}
				}
				into.Set(name, strconv.FormatInt(r.ContentLength, 10))
			default:
				vs := r.Header.Values(name)
				if len(vs) == 0 {
					return &refusal{"SignatureDoesNotMatch", "signed header " + name + " is absent"}
				}
				into[name] = vs
			}
		}
	}
	if !hasHost {
		return &refusal{"AccessDenied", "host must be signed"}
	}
	return nil
}

// signedParams fills into with the query parameters list names (";"-separated, each
// lower-case and escaped, as signed).
func signedParams(q url.Values, list string, into url.Values) *refusal {
	if list == "" {
		return nil
	}
	lower := map[string][]string{}
	for k, vs := range q {
		lower[strings.ToLower(cossign.Escape(k))] = vs
	}
	for _, name := range strings.Split(list, ";") {
		vs, ok := lower[name]
		if !ok {
			return &refusal{"SignatureDoesNotMatch", "signed parameter " + name + " is absent"}
		}
		into[name] = vs
	}
	return nil
}

// checkToken checks the security token of temporary keys (sessionToken, "" for the
// store's own keys). COS takes it signed or not: the Go SDK signs it, the JS and Node SDKs
// send it beside the signature. Its value must be the keys' own either way.
func checkToken(r *http.Request, q url.Values, sessionToken string) *refusal {
	if sessionToken == "" {
		return nil
	}
	tok := r.Header.Get(cossign.TokenHeader)
	if tok == "" {
		tok = q.Get(cossign.TokenHeader)
	}
	if tok != sessionToken {
		return &refusal{"InvalidAccessKeyId", "the security token is missing or wrong"}
	}
	return nil
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
	case r.Method == http.MethodGet && q.Has("acl"):
		action = "GetObjectACL"
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
