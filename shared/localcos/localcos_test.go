package localcos

import (
	"bytes"
	"context"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/directup/directup/shared/cos/cossign"
)

var cred = cossign.Credentials{SecretID: "AKIDlocal", SecretKey: "local-secret", SessionToken: "tok"}

type harness struct {
	srv  *Server
	base string
	host string
	now  time.Time
}

func newHarness(t *testing.T) *harness {
	s, err := New(t.TempDir(), "local-1250000000", cred)
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{srv: s, now: time.Unix(1_800_000_000, 0)}
	s.SetClock(func() time.Time { return h.now })
	ts := httptest.NewServer(s)
	t.Cleanup(ts.Close)
	u, _ := url.Parse(ts.URL)
	h.base, h.host = ts.URL, u.Host
	return h
}

// do sends a request signed with c (the store's own credentials unless overridden).
func (h *harness) do(t *testing.T, c cossign.Credentials, method, key string, q url.Values, header http.Header, body []byte) (*http.Response, string) {
	t.Helper()
	u := h.base + "/" + cossign.EscapePath(key)
	if len(q) > 0 {
		u += "?" + strings.ReplaceAll(q.Encode(), "uploads=", "uploads")
	}
	req, _ := http.NewRequest(method, u, bytes.NewReader(body))
	for k, v := range header {
		req.Header[k] = v
	}
	req.Header.Set(cossign.TokenHeader, c.SessionToken)
	signed := cossign.SignableHeaders(req.Header, h.host)
	if method == http.MethodPost || method == http.MethodPut {
		signed.Set("Content-Length", strconv.Itoa(len(body)))
	}
	kt := cossign.KeyTime(h.now.Add(-time.Minute), h.now.Add(time.Minute))
	req.Header.Set("Authorization", cossign.Sign(c.SecretKey, kt, cossign.Request{Method: method, Path: "/" + key, Params: q, Headers: signed}).Authorization(c.SecretID))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func (h *harness) initiate(t *testing.T, key string, header http.Header) string {
	t.Helper()
	if header == nil {
		header = http.Header{}
	}
	header.Set("Content-Type", "text/plain")
	resp, body := h.do(t, cred, http.MethodPost, key, url.Values{"uploads": {""}}, header, nil)
	var r struct{ UploadId string }
	if resp.StatusCode != 200 || xml.Unmarshal([]byte(body), &r) != nil || r.UploadId == "" {
		t.Fatalf("initiate: %d %s", resp.StatusCode, body)
	}
	return r.UploadId
}

func (h *harness) part(t *testing.T, key, id string, n int, data []byte) (int, string) {
	resp, body := h.do(t, cred, http.MethodPut, key, url.Values{"uploadId": {id}, "partNumber": {strconv.Itoa(n)}}, nil, data)
	if resp.StatusCode != 200 {
		return resp.StatusCode, body
	}
	return 200, resp.Header.Get("ETag")
}

func errorCode(body string) string {
	var e struct{ Code string }
	xml.Unmarshal([]byte(body), &e)
	return e.Code
}

func TestSignatureChecks(t *testing.T) {
	h := newHarness(t)
	wrongKey := cred
	wrongKey.SecretKey = "other"
	wrongID := cred
	wrongID.SecretID = "AKIDother"
	wrongToken := cred
	wrongToken.SessionToken = "stolen"
	tests := []struct {
		name string
		c    cossign.Credentials
		code string
	}{
		{"valid", cred, ""},
		{"wrong secret", wrongKey, "SignatureDoesNotMatch"},
		{"unknown key id", wrongID, "InvalidAccessKeyId"},
		{"wrong token", wrongToken, "InvalidAccessKeyId"},
	}
	for _, tt := range tests {
		resp, body := h.do(t, tt.c, http.MethodPost, "a b/c+d.txt", url.Values{"uploads": {""}}, http.Header{"Content-Type": {"text/plain"}}, nil)
		if errorCode(body) != tt.code || (tt.code != "" && resp.StatusCode != 403) {
			t.Errorf("%s: %d %s, want %q", tt.name, resp.StatusCode, body, tt.code)
		}
	}
	// A header that is signed must arrive unchanged.
	req, _ := http.NewRequest(http.MethodGet, h.base+"/x", nil)
	req.Header.Set("Authorization", "q-sign-algorithm=sha1&q-ak=AKIDlocal&q-sign-time=1;2&q-key-time=1;2&q-header-list=host&q-url-param-list=&q-signature=00")
	resp, _ := http.DefaultClient.Do(req)
	if resp.StatusCode != 403 {
		t.Errorf("expired window: %d", resp.StatusCode)
	}
	resp.Body.Close()
	req, _ = http.NewRequest(http.MethodGet, h.base+"/x", nil)
	if resp, _ := http.DefaultClient.Do(req); resp.StatusCode != 403 {
		t.Errorf("unsigned request: %d", resp.StatusCode)
	}
}

func TestPresignedPartURL(t *testing.T) {
	h := newHarness(t)
	key := "dir/文件 1.bin"
	id := h.initiate(t, key, nil)
	p, err := cossign.NewPartPresigner(cred, cossign.PartOptions{Endpoint: h.base, Host: h.host, Key: key, UploadID: id,
		KeyTime: cossign.KeyTime(h.now, h.now.Add(time.Hour)), SignContentLength: true})
	if err != nil {
		t.Fatal(err)
	}
	put := func(u string, n int) int {
		req, _ := http.NewRequest(http.MethodPut, u, bytes.NewReader(make([]byte, n)))
		req.Header.Set("Origin", "https://app.example")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode == 200 && (resp.Header.Get("ETag") == "" || !strings.Contains(resp.Header.Get("Access-Control-Expose-Headers"), "ETag")) {
			t.Error("a part answer must expose its ETag to browsers")
		}
		return resp.StatusCode
	}
	if got := put(p.URL(1, 100), 100); got != 200 {
		t.Errorf("valid URL: %d", got)
	}
	if got := put(p.URL(1, 100), 101); got != 403 {
		t.Errorf("more bytes than signed: %d", got)
	}
	if got := put(p.URL(2, 100), 100); got != 200 {
		t.Errorf("part 2: %d", got)
	}
	h.now = h.now.Add(2 * time.Hour)
	if got := put(p.URL(3, 100), 100); got != 403 {
		t.Errorf("expired URL: %d", got)
	}
}

func TestMultipartRules(t *testing.T) {
	h := newHarness(t)
	key := "obj"
	id := h.initiate(t, key, http.Header{"X-Cos-Forbid-Overwrite": {"true"}, "X-Cos-Meta-A": {"1"}})
	if code, body := h.part(t, key, id, 10001, []byte("x")); code != 400 {
		t.Errorf("part 10001: %d %s", code, body)
	}
	if code, body := h.part(t, "other", id, 1, []byte("x")); code != 404 || errorCode(body) != "NoSuchUpload" {
		t.Errorf("upload id under another key: %d %s", code, body)
	}
	var etags []string
	for n, size := range []int{1 << 20, 10, 5} {
		code, etag := h.part(t, key, id, n+1, bytes.Repeat([]byte{byte(n)}, size))
		if code != 200 {
			t.Fatalf("part %d: %d %s", n+1, code, etag)
		}
		etags = append(etags, etag)
	}
	complete := func(nums ...int) (int, string) {
		var b strings.Builder
		b.WriteString("<CompleteMultipartUpload>")
		for _, n := range nums {
			fmt.Fprintf(&b, "<Part><PartNumber>%d</PartNumber><ETag>%s</ETag></Part>", n, etags[n-1])
		}
		b.WriteString("</CompleteMultipartUpload>")
		resp, body := h.do(t, cred, http.MethodPost, key, url.Values{"uploadId": {id}}, http.Header{"Content-Type": {"application/xml"}}, []byte(b.String()))
		return resp.StatusCode, body
	}
	if code, body := complete(2, 1); errorCode(body) != "InvalidPartOrder" {
		t.Errorf("descending: %d %s", code, body)
	}
	if code, body := complete(1, 2, 3); errorCode(body) != "EntityTooSmall" {
		t.Errorf("small middle part: %d %s", code, body)
	}

	// ListParts pages.
	resp, body := h.do(t, cred, http.MethodGet, key, url.Values{"uploadId": {id}, "max-parts": {"2"}}, nil, nil)
	if resp.StatusCode != 200 || !strings.Contains(body, "<IsTruncated>true</IsTruncated>") || !strings.Contains(body, "<NextPartNumberMarker>2</NextPartNumberMarker>") {
		t.Errorf("ListParts page 1: %s", body)
	}
	_, body = h.do(t, cred, http.MethodGet, key, url.Values{"uploadId": {id}, "max-parts": {"2"}, "part-number-marker": {"2"}}, nil, nil)
	if !strings.Contains(body, "<IsTruncated>false</IsTruncated>") || !strings.Contains(body, "<PartNumber>3</PartNumber>") || strings.Contains(body, "<PartNumber>1</PartNumber>") {
		t.Errorf("ListParts page 2: %s", body)
	}

	if code, body := complete(1, 3); code != 200 {
		t.Fatalf("complete: %d %s", code, body)
	}
	hdr, _, crc, size, err := h.srv.Object(key)
	if err != nil || size != 1<<20+5 || hdr.Get("X-Cos-Meta-A") != "1" || crc == "" {
		t.Errorf("object: %v %d %v", err, size, hdr)
	}
	if h.srv.Uploads() != 0 {
		t.Error("completed upload still open")
	}
	resp, body = h.do(t, cred, http.MethodPost, key, url.Values{"uploads": {""}}, http.Header{"Content-Type": {"text/plain"}, "X-Cos-Forbid-Overwrite": {"true"}}, nil)
	if resp.StatusCode != 409 || errorCode(body) != "FileAlreadyExists" {
		t.Errorf("forbid-overwrite: %d %s", resp.StatusCode, body)
	}
	resp, body = h.do(t, cred, http.MethodGet, key, nil, nil, nil)
	if resp.StatusCode != 200 || len(body) != 1<<20+5 || resp.Header.Get("Content-Type") != "text/plain" {
		t.Errorf("GET object: %d, %d bytes", resp.StatusCode, len(body))
	}
}

func TestPreflight(t *testing.T) {
	h := newHarness(t)
	req, _ := http.NewRequestWithContext(context.Background(), http.MethodOptions, h.base+"/a?partNumber=1&uploadId=x", nil)
	req.Header.Set("Origin", "http://localhost:8080")
	req.Header.Set("Access-Control-Request-Method", "PUT")
	req.Header.Set("Access-Control-Request-Headers", "x-cos-server-side-encryption-customer-key")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(resp.Header.Get("Access-Control-Allow-Methods"), "PUT") ||
		resp.Header.Get("Access-Control-Allow-Headers") != "x-cos-server-side-encryption-customer-key" || h.srv.Requests() != 0 {
		t.Errorf("preflight: %d %v", resp.StatusCode, resp.Header)
	}
}
