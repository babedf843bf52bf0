package localcos

import (
	"crypto/subtle"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/directup/directup/shared/cos/cossign"
)

// verify checks a request's COS signature, from its Authorization header or from the
// query of a presigned URL, exactly as COS would: the declared header and parameter lists
// are re-signed with the store's secret. It returns a COS error code, or "" when valid.
func (s *Server) verify(r *http.Request) (code, message string) {
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
		return "AccessDenied", "Request has no signature"
	}
	if auth.Get("q-sign-algorithm") != "sha1" {
		return "InvalidArgument", "q-sign-algorithm must be sha1"
	}
	if auth.Get("q-ak") != s.cred.SecretID {
		return "InvalidAccessKeyId", "The access key Id format you provided is invalid"
	}
	signTime, keyTime := auth.Get("q-sign-time"), auth.Get("q-key-time")
	if signTime != keyTime {
		return "AccessDenied", "q-sign-time and q-key-time differ"
	}
	startS, endS, ok := strings.Cut(keyTime, ";")
	start, err1 := strconv.ParseInt(startS, 10, 64)
	end, err2 := strconv.ParseInt(endS, 10, 64)
	if !ok || err1 != nil || err2 != nil || end < start {
		return "AccessDenied", "q-sign-time is malformed"
	}
	now := s.now().Unix()
	if now > end {
		return "AccessDenied", "Request has expired"
	}
	if now+int64(time.Minute/time.Second) < start {
		return "RequestTimeTooSkewed", "The difference between the request time and the server's time is too large"
	}

	req := cossign.Request{Method: r.Method, Path: r.URL.Path, Params: url.Values{}, Headers: http.Header{}}
	hasHost, tokenSigned := false, false
	if list := auth.Get("q-header-list"); list != "" {
		for _, name := range strings.Split(list, ";") {
			switch name {
			case "host":
				hasHost = true
				req.Headers.Set(name, r.Host)
			case "content-length":
				if r.ContentLength < 0 {
					return "MissingContentLength", "Content-Length is signed but absent"
				}
				req.Headers.Set(name, strconv.FormatInt(r.ContentLength, 10))
			default:
				vs := r.Header.Values(name)
				if len(vs) == 0 {
					return "SignatureDoesNotMatch", "signed header " + name + " is absent"
				}
				req.Headers[name] = vs
				if name == cossign.TokenHeader {
					tokenSigned = true
				}
			}
		}
	}
	if !hasHost {
		return "AccessDenied", "host must be signed"
	}
	if list := auth.Get("q-url-param-list"); list != "" {
		lower := map[string][]string{}
		for k, vs := range q {
			lower[strings.ToLower(cossign.Escape(k))] = vs
		}
		for _, name := range strings.Split(list, ";") {
			vs, ok := lower[name]
			if !ok {
				return "SignatureDoesNotMatch", "signed parameter " + name + " is absent"
			}
			req.Params[name] = vs
			if name == cossign.TokenHeader {
				tokenSigned = true
			}
		}
	}
	if s.cred.SessionToken != "" {
		tok := r.Header.Get(cossign.TokenHeader)
		if tok == "" {
			tok = q.Get(cossign.TokenHeader)
		}
		if tok != s.cred.SessionToken || !tokenSigned {
			return "InvalidAccessKeyId", "the security token is missing, unsigned or wrong"
		}
	}
	want := cossign.Sign(s.cred.SecretKey, keyTime, req).Signature
	if subtle.ConstantTimeCompare([]byte(want), []byte(auth.Get("q-signature"))) != 1 {
		return "SignatureDoesNotMatch", "The Signature you specified does not match"
	}
	return "", ""
}
