package httpapi_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc64"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/directup/directup/shared/apiclient"
	"github.com/directup/directup/shared/cos"
	"github.com/directup/directup/shared/cos/cossign"
	"github.com/directup/directup/shared/credentials"
	"github.com/directup/directup/shared/errcode"
	"github.com/directup/directup/shared/httpapi"
	"github.com/directup/directup/shared/localcos"
	"github.com/directup/directup/shared/policy"
	"github.com/directup/directup/shared/storage"
	"github.com/directup/directup/shared/upload"
	"github.com/directup/directup/shared/wire"
)

type env struct {
	api     *apiclient.Client
	url     string
	store   *localcos.Server
	handler http.Handler
}

// setup runs the whole stack for real: the API handler, the upload service, the COS
// client signing with temporary credentials, and the local store verifying signatures.
func setup(t testing.TB, mutate func(*policy.Policy)) *env {
	t.Helper()
	return setupWith(t, mutate, httpapi.Options{CORSOrigins: []string{"https://app.example"}})
}

var storeCred = cossign.Credentials{SecretID: "AKIDtest", SecretKey: "test-secret-key-value", SessionToken: "test-session-token-value"}

const tokenSecret = "0123456789abcdef0123456789abcdef"

func setupWith(t testing.TB, mutate func(*policy.Policy), opts httpapi.Options) *env {
	t.Helper()
	cred := storeCred
	store, err := localcos.New(t.TempDir(), "local-1250000000", cred)
	if err != nil {
		t.Fatal(err)
	}
	cosSrv := httptest.NewServer(store)
	t.Cleanup(cosSrv.Close)
	client, err := cos.New(cos.Config{Bucket: "local-1250000000", Endpoint: cosSrv.URL}, credentials.Static{
		AccessKeyID: cred.SecretID, SecretAccessKey: cred.SecretKey, SessionToken: cred.SessionToken}, cosSrv.Client())
	if err != nil {
		t.Fatal(err)
	}
	policy := policy.Default()
	if mutate != nil {
		mutate(&policy)
	}
	svc, err := upload.NewService(client, policy, []byte(tokenSecret))
	if err != nil {
		t.Fatal(err)
	}
	handler := httpapi.New(svc, opts)
	apiSrv := httptest.NewServer(handler)
	t.Cleanup(apiSrv.Close)
	return &env{api: &apiclient.Client{API: apiSrv.URL}, url: apiSrv.URL, store: store, handler: handler}
}

func randomBytes(t *testing.T, n int) []byte {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

func size(n int) *int64 { v := int64(n); return &v }

func apiError(t *testing.T, err error) *apiclient.Error {
	t.Helper()
	var e *apiclient.Error
	if !errors.As(err, &e) {
		t.Fatalf("err = %v, want an API error", err)
	}
	return e
}

func TestMultipartUploadEndToEnd(t *testing.T) {
	e := setup(t, func(p *policy.Policy) { p.PartBatch = 2 })
	ctx := context.Background()
	data := randomBytes(t, 12<<20+12345)
	copy(data, "\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom") // an MP4 as declared: content is verified at complete

	up, err := e.api.Initiate(ctx, &policy.InitiateRequest{Filename: "clip.mp4", ContentType: "video/mp4",
		Size: size(len(data)), PartSize: 5 << 20})
	if err != nil {
		t.Fatal(err)
	}
	if up.PartCount != 3 || up.PartSize != 5<<20 || len(up.Parts) != 2 || up.Bucket != "local-1250000000" ||
		!strings.HasPrefix(up.Key, "uploads/") || !strings.HasSuffix(up.Key, "/clip.mp4") || up.Token == "" {
		t.Fatalf("initiate answer %+v", up)
	}

	// Two parts now, then "reload": list what is stored and resume from there.
	for _, p := range up.Parts {
		off := int64(p.PartNumber-1) * up.PartSize
		if _, err := e.api.PutPart(ctx, p, data[off:off+p.Size], nil); err != nil {
			t.Fatal(err)
		}
	}
	stored, err := e.api.ListParts(ctx, up)
	if err != nil || len(stored) != 2 || stored[0].Size != 5<<20 || stored[1].PartNumber != 2 {
		t.Fatalf("ListParts = %+v, %v", stored, err)
	}
	done, err := e.api.Resume(ctx, up, bytes.NewReader(data), nil, stored)
	if err != nil {
		t.Fatal(err)
	}
	crc := crc64.Checksum(data, crc64.MakeTable(crc64.ECMA))
	if done.Size != int64(len(data)) || done.CRC64 != strconv.FormatUint(crc, 10) || done.Key != up.Key || !strings.HasSuffix(done.ETag, `-3"`) {
		t.Fatalf("complete answer %+v, want size %d crc %d", done, len(data), crc)
	}
	got, err := os.ReadFile(e.store.ObjectPath(up.Key))
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("stored object differs from the uploaded bytes (%d vs %d bytes, %v)", len(got), len(data), err)
	}
	if e.store.Uploads() != 0 {
		t.Errorf("%d uploads left open", e.store.Uploads())
	}
	if _, err := e.api.ListParts(ctx, up); apiError(t, err).Code != errcode.UploadNotFound {
		t.Errorf("after complete, ListParts = %v", err)
	}
}

func TestAbort(t *testing.T) {
	e := setup(t, nil)
	ctx := context.Background()
	data := randomBytes(t, 3<<20)
	up, err := e.api.Initiate(ctx, &policy.InitiateRequest{Filename: "a.bin", ContentType: "application/octet-stream", Size: size(len(data)), PartSize: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.api.PutPart(ctx, up.Parts[0], data[:1<<20], nil); err != nil {
		t.Fatal(err)
	}
	if err := e.api.Abort(ctx, up); err != nil {
		t.Fatal(err)
	}
	if e.store.Uploads() != 0 {
		t.Fatal("abort left the upload in the store")
	}
	if err := e.api.Abort(ctx, up); err != nil {
		t.Errorf("a second abort must succeed too: %v", err)
	}
	if _, err := e.api.PutPart(ctx, up.Parts[1], data[1<<20:2<<20], nil); err == nil || !strings.Contains(err.Error(), "NoSuchUpload") {
		t.Errorf("part after abort: %v", err)
	}
}

// TestAbortAfterComplete: a client that cancels after its upload was completed learns
// that an object is stored (409 upload_completed), not that nothing was.
func TestAbortAfterComplete(t *testing.T) {
	e := setup(t, func(p *policy.Policy) { p.ClientKeys = true })
	ctx := context.Background()
	up, _, err := e.api.Upload(ctx, &policy.InitiateRequest{Filename: "a.txt", ContentType: "text/plain", Size: size(5)}, strings.NewReader("hello"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if a := apiError(t, e.api.Abort(ctx, up)); a.Status != http.StatusConflict || a.Code != errcode.UploadCompleted {
		t.Fatalf("abort after complete: %v", a)
	}
	// An object that was there before an aborted upload does not make it "completed".
	req := &policy.InitiateRequest{Key: "uploads/kept.txt", ContentType: "text/plain", Size: size(5)}
	if _, _, err := e.api.Upload(ctx, req, strings.NewReader("first"), nil); err != nil {
		t.Fatal(err)
	}
	second, err := e.api.Initiate(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	hourAgo := time.Now().Add(-time.Hour)
	if err := os.Chtimes(e.store.ObjectPath("uploads/kept.txt"), hourAgo, hourAgo); err != nil {
		t.Fatal(err)
	}
	if err := e.api.Abort(ctx, second); err != nil {
		t.Fatal(err)
	}
	if err := e.api.Abort(ctx, second); err != nil {
		t.Fatalf("aborting an aborted upload over an older object: %v", err)
	}
}

// TestEveryDocumentHeaderReachesStorage initiates with every header of the user's
// document and reads back what the store recorded for the object.
func TestEveryDocumentHeaderReachesStorage(t *testing.T) {
	e := setup(t, func(p *policy.Policy) {
		p.AllowedACLs = []string{"public-read"}
		p.AllowGrants = true
		p.AllowedStorageClasses = []string{"STANDARD_IA"}
	})
	ctx := context.Background()
	data := randomBytes(t, 1000)
	copy(data, "%PDF-1.7\n") // a PDF as declared
	for _, enc := range []*policy.EncryptionRequest{
		{Type: "AES256"},
		{Type: "cos/kms", KMSKeyID: "48ba38aa-26c5-11ea-855c-52540085", Context: map[string]string{"author": "fysntian"}},
	} {
		req := &policy.InitiateRequest{
			Filename: "report.pdf", ContentType: "application/pdf", Size: size(len(data)),
			CacheControl: "max-age=86400", ContentDisposition: "attachment; filename=report.pdf", ContentEncoding: "identity",
			Expires: "Wed, 21 Oct 2026 07:28:00 GMT", Metadata: map[string]string{"Project-Id": "42"}, StorageClass: "STANDARD_IA",
			Tagging: map[string]string{"team": "media & web"}, ForbidOverwrite: true, ACL: "public-read",
			Grants:     &policy.GrantsRequest{Read: []string{"100000000001"}, ReadACP: []string{"2"}, WriteACP: []string{"3"}, FullControl: []string{"qcs::cam::uin/1:uin/4"}},
			Encryption: enc,
		}
		up, done, err := e.api.Upload(ctx, req, bytes.NewReader(data), nil)
		if err != nil {
			t.Fatal(err)
		}
		h, _, _, n, err := e.store.Object(up.Key)
		if err != nil || n != int64(len(data)) || done.Size != n {
			t.Fatalf("object: %v size %d", err, n)
		}
		want := map[string]string{
			"Content-Type": "application/pdf", "Cache-Control": "max-age=86400", "Content-Disposition": "attachment; filename=report.pdf",
			"Content-Encoding": "identity", "Expires": "Wed, 21 Oct 2026 07:28:00 GMT", "X-Cos-Meta-Project-Id": "42",
			"X-Cos-Storage-Class": "STANDARD_IA", "X-Cos-Tagging": "team=media%20%26%20web", "X-Cos-Forbid-Overwrite": "true",
			"X-Cos-Acl": "public-read", "X-Cos-Grant-Read": `id="100000000001"`, "X-Cos-Grant-Read-Acp": `id="2"`,
			"X-Cos-Grant-Write-Acp": `id="3"`, "X-Cos-Grant-Full-Control": `id="qcs::cam::uin/1:uin/4"`,
			"X-Cos-Server-Side-Encryption": enc.Type,
		}
		if enc.Type == "cos/kms" {
			want["X-Cos-Server-Side-Encryption-Cos-Kms-Key-Id"] = enc.KMSKeyID
			want["X-Cos-Server-Side-Encryption-Context"] = base64.StdEncoding.EncodeToString([]byte(`{"author":"fysntian"}`))
		}
		for k, v := range want {
			if h.Get(k) != v {
				t.Errorf("%s: stored %s = %q, want %q", enc.Type, k, h.Get(k), v)
			}
		}
	}
}

func TestSSECustomerKey(t *testing.T) {
	e := setup(t, nil)
	ctx := context.Background()
	key := base64.StdEncoding.EncodeToString(randomBytes(t, 32))
	data := randomBytes(t, 2<<20+1)
	up, err := e.api.Initiate(ctx, &policy.InitiateRequest{Filename: "secret.bin", ContentType: "application/octet-stream",
		Size: size(len(data)), PartSize: 1 << 20, Encryption: &policy.EncryptionRequest{Type: "SSE-C", CustomerKey: key}})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(up.Token, key) || strings.Contains(up.Parts[0].URL, key) || up.Parts[0].Headers["x-cos-server-side-encryption-customer-key"] != "" {
		t.Fatal("the customer key must not be echoed back in tokens, URLs or headers")
	}
	if _, err := e.api.PutPart(ctx, up.Parts[0], data[:1<<20], nil); err == nil {
		t.Fatal("a part without the customer key must be refused")
	}
	other := http.Header{"X-Cos-Server-Side-Encryption-Customer-Key": {base64.StdEncoding.EncodeToString(randomBytes(t, 32))}}
	if _, err := e.api.PutPart(ctx, up.Parts[0], data[:1<<20], other); err == nil {
		t.Fatal("a part with another key must be refused")
	}
	withKey := http.Header{"X-Cos-Server-Side-Encryption-Customer-Key": {key}}
	if _, err := e.api.Resume(ctx, up, bytes.NewReader(data), withKey, nil); err != nil {
		t.Fatal(err)
	}
}

func TestForbidOverwrite(t *testing.T) {
	e := setup(t, func(p *policy.Policy) { p.ClientKeys = true })
	ctx := context.Background()
	req := &policy.InitiateRequest{Key: "uploads/fixed.txt", ContentType: "text/plain", Size: size(5), ForbidOverwrite: true}
	if _, _, err := e.api.Upload(ctx, req, strings.NewReader("hello"), nil); err != nil {
		t.Fatal(err)
	}
	_, err := e.api.Initiate(ctx, req)
	if a := apiError(t, err); a.Status != 409 || a.Code != errcode.ObjectExists {
		t.Fatalf("second upload: %v", a)
	}
	req.ForbidOverwrite = false
	if _, _, err := e.api.Upload(ctx, req, strings.NewReader("world"), nil); err != nil {
		t.Fatalf("overwrite allowed when not forbidden: %v", err)
	}
}

// TestPartSizeIsPinned: a part URL accepts exactly its planned size.
func TestPartSizeIsPinned(t *testing.T) {
	e := setup(t, nil)
	ctx := context.Background()
	up, err := e.api.Initiate(ctx, &policy.InitiateRequest{Filename: "a", ContentType: "text/plain", Size: size(10)})
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []int{9, 11, 1 << 20} {
		if _, err := e.api.PutPart(ctx, up.Parts[0], make([]byte, n), nil); err == nil || !strings.Contains(err.Error(), "403") {
			t.Errorf("%d bytes into a 10-byte part: %v", n, err)
		}
	}
	if _, err := e.api.PutPart(ctx, up.Parts[0], make([]byte, 10), nil); err != nil {
		t.Errorf("the planned size must pass: %v", err)
	}
}

func TestTokens(t *testing.T) {
	e := setup(t, nil)
	ctx := context.Background()
	a, err := e.api.Initiate(ctx, &policy.InitiateRequest{Filename: "a", ContentType: "text/plain", Size: size(10)})
	if err != nil {
		t.Fatal(err)
	}
	b, err := e.api.Initiate(ctx, &policy.InitiateRequest{Filename: "b", ContentType: "text/plain", Size: size(10)})
	if err != nil {
		t.Fatal(err)
	}
	before := e.store.Requests()
	tests := []struct {
		name   string
		token  string
		status int
		code   string
	}{
		{"missing", "", 401, errcode.TokenMissing},
		{"tampered", a.Token[:len(a.Token)-2] + "xx", 401, errcode.TokenInvalid},
		{"another upload's", b.Token, 403, errcode.TokenMismatch},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			forged := *a
			forged.Token = tt.token
			errs := []error{
				func() error { _, err := e.api.ListParts(ctx, &forged); return err }(),
				func() error { _, err := e.api.Presign(ctx, &forged, []int{1}); return err }(),
				func() error {
					_, err := e.api.Complete(ctx, &forged, []wire.CompletedPart{{PartNumber: 1, ETag: "x"}})
					return err
				}(),
				e.api.Abort(ctx, &forged),
			}
			for i, err := range errs {
				if a := apiError(t, err); a.Status != tt.status || a.Code != tt.code {
					t.Errorf("call %d: %v, want %d %s", i, a, tt.status, tt.code)
				}
			}
		})
	}
	if e.store.Requests() != before {
		t.Errorf("bad tokens reached the store: %d requests", e.store.Requests()-before)
	}
}

// TestBadInput: each hostile or malformed request gets its documented error and
// nothing reaches the store.
func TestBadInput(t *testing.T) {
	e := setup(t, func(p *policy.Policy) {
		p.MaxSize = 1 << 30
		p.ClientKeys = true
		p.AllowedTypes = []string{"image/*", "text/*", "a/b"}
	})
	ctx := context.Background()
	up, err := e.api.Initiate(ctx, &policy.InitiateRequest{Filename: "a", ContentType: "text/plain", Size: size(3 << 20), PartSize: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	tenThousandOne := make([]wire.CompletedPart, 10001)
	for i := range tenThousandOne {
		tenThousandOne[i] = wire.CompletedPart{PartNumber: i + 1, ETag: "e"}
	}
	js := func(v string) io.Reader { return strings.NewReader(v) }
	tests := []struct {
		name        string
		method      string
		path        string
		contentType string
		body        io.Reader
		token       string
		status      int
		code        string
		field       string
	}{
		{"not JSON", "POST", "/uploads", "text/plain", js(`{}`), "", 415, errcode.UnsupportedMedia, ""},
		{"broken JSON", "POST", "/uploads", "application/json", js(`{"filename":`), "", 400, errcode.InvalidJSON, ""},
		{"two objects", "POST", "/uploads", "application/json", js(`{} {}`), "", 400, errcode.InvalidJSON, ""},
		{"unknown field", "POST", "/uploads", "application/json", js(`{"filename":"a","contentType":"a/b","size":1,"bucket":"other"}`), "", 400, errcode.InvalidField, "bucket"},
		{"size as string", "POST", "/uploads", "application/json", js(`{"filename":"a","contentType":"a/b","size":"1"}`), "", 400, errcode.InvalidField, "size"},
		{"huge size", "POST", "/uploads", "application/json", js(`{"filename":"a","contentType":"a/b","size":1e30}`), "", 400, errcode.InvalidField, "size"},
		{"over the policy size", "POST", "/uploads", "application/json", js(`{"filename":"a","contentType":"a/b","size":1073741825}`), "", 413, errcode.SizeTooLarge, "size"},
		{"deep JSON", "POST", "/uploads", "application/json", js(`{"metadata":` + strings.Repeat("[", 10000) + strings.Repeat("]", 10000) + `}`), "", 400, errcode.InvalidJSON, ""},
		{"oversized body", "POST", "/uploads", "application/json", js(`{"filename":"` + strings.Repeat("a", 100<<10) + `"}`), "", 413, errcode.BodyTooLarge, ""},
		{"metadata header injection", "POST", "/uploads", "application/json", js(`{"filename":"a","contentType":"a/b","size":1,"metadata":{"x":"1\r\nx-cos-acl: public-read"}}`), "", 400, errcode.InvalidField, "metadata.x"},
		{"acl not allowed", "POST", "/uploads", "application/json", js(`{"filename":"a","contentType":"a/b","size":1,"acl":"public-read"}`), "", 403, errcode.PolicyDenied, "acl"},
		{"part beyond the plan", "POST", "/uploads/" + up.UploadID + "/parts", "application/json", js(`{"partNumbers":[4]}`), up.Token, 400, errcode.InvalidField, "partNumbers"},
		{"part zero", "POST", "/uploads/" + up.UploadID + "/parts", "application/json", js(`{"partNumbers":[0]}`), up.Token, 400, errcode.InvalidField, "partNumbers"},
		{"10,001 parts", "POST", "/uploads/" + up.UploadID + "/complete", "application/json", jsonBody(t, map[string]any{"parts": tenThousandOne}), up.Token, 400, errcode.InvalidField, "parts"},
		{"complete missing a part", "POST", "/uploads/" + up.UploadID + "/complete", "application/json", js(`{"parts":[{"partNumber":1,"etag":"a"}]}`), up.Token, 409, errcode.IncompleteUpload, "parts"},
		{"complete with bad etag", "POST", "/uploads/" + up.UploadID + "/complete", "application/json", js(`{"parts":[{"partNumber":1,"etag":"</ETag><x>"}]}`), up.Token, 400, errcode.InvalidField, "parts[0].etag"},
		// A WAF in front and the function must read the same request.
		{"duplicate field", "POST", "/uploads", "application/json", js(`{"filename":"a","contentType":"a/b","contentType":"text/html","size":1}`), "", 400, errcode.InvalidField, "contentType"},
		{"case-variant duplicate", "POST", "/uploads", "application/json", js(`{"filename":"a","contentType":"a/b","size":1,"SIZE":1073741824}`), "", 400, errcode.InvalidField, "SIZE"},
		{"case-variant field", "POST", "/uploads", "application/json", js(`{"filename":"a","ContentType":"a/b","size":1}`), "", 400, errcode.InvalidField, "ContentType"},
		{"nested case variant", "POST", "/uploads", "application/json", js(`{"filename":"a","contentType":"a/b","size":1,"encryption":{"type":"AES256","Type":"SSE-C"}}`), "", 400, errcode.InvalidField, "encryption.Type"},
		{"duplicate map member", "POST", "/uploads", "application/json", js(`{"filename":"a","contentType":"a/b","size":1,"tagging":{"t":"1","t":"2"}}`), "", 400, errcode.InvalidField, "tagging.t"},
		{"duplicate part field", "POST", "/uploads/" + up.UploadID + "/complete", "application/json", js(`{"parts":[{"partNumber":1,"PartNumber":2,"etag":"a"}]}`), up.Token, 400, errcode.InvalidField, "parts.PartNumber"},
		// The queue's records are nobody's to write, whatever the prefix.
		{"key in the records folder", "POST", "/uploads", "application/json", js(`{"key":"uploads/.directup/requests/0123","contentType":"a/b","size":1}`), "", 403, errcode.PolicyDenied, "key"},
		{"key with a records segment", "POST", "/uploads", "application/json", js(`{"key":"uploads/x/.directup/y","contentType":"a/b","size":1}`), "", 403, errcode.PolicyDenied, "key"},
		// No key is a pattern: what CAM reads as a wildcard or variable never reaches a
		// signature, a policy or a record.
		{"key with a wildcard", "POST", "/uploads", "application/json", js(`{"key":"uploads/*","contentType":"a/b","size":1}`), "", 400, errcode.InvalidField, "key"},
		{"key with an inner wildcard", "POST", "/uploads", "application/json", js(`{"key":"uploads/alice/*.png","contentType":"a/b","size":1}`), "", 400, errcode.InvalidField, "key"},
		{"key with a policy variable", "POST", "/uploads", "application/json", js(`{"key":"uploads/${uin}/a","contentType":"a/b","size":1}`), "", 400, errcode.InvalidField, "key"},
		{"key with a ?", "POST", "/uploads", "application/json", js(`{"key":"uploads/a?.png","contentType":"a/b","size":1}`), "", 400, errcode.InvalidField, "key"},
		// directup's own metadata is not the client's to set.
		{"metadata directup-upload", "POST", "/uploads", "application/json", js(`{"filename":"a","contentType":"a/b","size":1,"metadata":{"directup-upload":"x"}}`), "", 403, errcode.PolicyDenied, "metadata.directup-upload"},
		// Types browsers sniff are scriptable: never through a wildcard.
		{"unknown/unknown", "POST", "/uploads", "application/json", js(`{"filename":"a","contentType":"unknown/unknown","size":1}`), "", 403, errcode.PolicyDenied, "contentType"},
		{"application/unknown", "POST", "/uploads", "application/json", js(`{"filename":"a","contentType":"application/unknown","size":1}`), "", 403, errcode.PolicyDenied, "contentType"},
		// Wildcards never admit a type a browser runs script in.
		{"svg through image/*", "POST", "/uploads", "application/json", js(`{"filename":"a.svg","contentType":"image/svg+xml","size":1}`), "", 403, errcode.PolicyDenied, "contentType"},
		{"html through text/*", "POST", "/uploads", "application/json", js(`{"filename":"a.html","contentType":"text/html; charset=utf-8","size":1}`), "", 403, errcode.PolicyDenied, "contentType"},
		{"unknown route", "GET", "/nope", "", nil, "", 404, errcode.NotFound, ""},
		{"wrong method", "PUT", "/uploads", "", nil, "", 405, errcode.MethodNotAllowed, ""},
	}
	before := e.store.Requests()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(tt.method, e.url+tt.path, tt.body)
			if tt.contentType != "" {
				req.Header.Set("Content-Type", tt.contentType)
			}
			if tt.token != "" {
				req.Header.Set("X-Upload-Token", tt.token)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tt.status || !strings.Contains(string(body), `"code":"`+tt.code+`"`) ||
				(tt.field != "" && !strings.Contains(string(body), `"field":"`+tt.field+`"`)) ||
				!strings.Contains(string(body), `"requestId":"`) || resp.Header.Get("Content-Type") != "application/json; charset=utf-8" {
				t.Errorf("%d %s, want %d %s field %q", resp.StatusCode, body, tt.status, tt.code, tt.field)
			}
		})
	}
	if n := e.store.Requests() - before; n != 0 {
		t.Errorf("bad input reached the store: %d requests", n)
	}
}

func jsonBody(t *testing.T, v any) io.Reader {
	js, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return bytes.NewReader(js)
}

func TestCORS(t *testing.T) {
	e := setup(t, nil)
	for _, tt := range []struct {
		origin string
		allow  bool
	}{{"https://app.example", true}, {"https://evil.example", false}} {
		req, _ := http.NewRequest(http.MethodOptions, e.url+"/uploads", nil)
		req.Header.Set("Origin", tt.origin)
		req.Header.Set("Access-Control-Request-Method", "POST")
		req.Header.Set("Access-Control-Request-Headers", "content-type, x-upload-token")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		got := resp.Header.Get("Access-Control-Allow-Origin") == tt.origin && strings.Contains(resp.Header.Get("Access-Control-Allow-Headers"), "X-Upload-Token")
		if got != tt.allow || resp.StatusCode != http.StatusNoContent {
			t.Errorf("origin %s: %d %v, want allowed=%v", tt.origin, resp.StatusCode, resp.Header, tt.allow)
		}
	}
}

// A hung store answers 504 within the request deadline, not after every attempt's own
// timeout (4 x 15 s); the plain server drops slow bodies and idle connections.
func TestDeadlines(t *testing.T) {
	hung := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(10 * time.Second):
		}
	}))
	defer hung.Close()
	client, _ := cos.New(cos.Config{Bucket: "local-1250000000", Endpoint: hung.URL}, credentials.Static{
		AccessKeyID: storeCred.SecretID, SecretAccessKey: storeCred.SecretKey, SessionToken: storeCred.SessionToken}, nil)
	svc, err := upload.NewService(client, policy.Default(), []byte(tokenSecret))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(httpapi.New(svc, httpapi.Options{RequestTimeout: 700 * time.Millisecond}))
	defer srv.Close()
	start := time.Now()
	_, err = (&apiclient.Client{API: srv.URL}).Initiate(context.Background(), &policy.InitiateRequest{Filename: "a", ContentType: "text/plain", Size: size(1)})
	if a := apiError(t, err); a.Status != http.StatusGatewayTimeout || a.Code != errcode.UpstreamTimeout || time.Since(start) > 3*time.Second {
		t.Fatalf("hung store: %v after %v", a, time.Since(start))
	}

	s := httpapi.NewServer(http.NotFoundHandler(), 15*time.Second)
	if s.ReadHeaderTimeout <= 0 || s.ReadTimeout <= 0 || s.WriteTimeout <= 15*time.Second || s.IdleTimeout <= 0 || s.MaxHeaderBytes <= 0 {
		t.Fatalf("server timeouts %+v", s)
	}
	// The same server with a short read timeout: a body that trickles in is cut off.
	s.ReadTimeout, s.ReadHeaderTimeout = 300*time.Millisecond, 300*time.Millisecond
	ln := httptest.NewUnstartedServer(s.Handler)
	ln.Config = s
	ln.Start()
	defer ln.Close()
	conn, err := net.Dial("tcp", ln.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "POST /uploads HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{")
	conn.SetReadDeadline(time.Now().Add(3 * time.Second))
	start = time.Now()
	io.ReadAll(conn) // the server answers or hangs up; either way the connection ends
	if time.Since(start) > 2*time.Second {
		t.Fatalf("a slow body held the connection for %v", time.Since(start))
	}
}

// An HTML page declared image/png is refused at complete and removed from the bucket; a
// real PNG passes; with UPLOAD_VERIFY_CONTENT off the declaration is taken as it is.
func TestContentIsVerifiedAtComplete(t *testing.T) {
	html := []byte("<!DOCTYPE html><html><body><script>fetch('/steal?c='+document.cookie)</script></body></html>")
	png := append([]byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"), randomBytes(t, 200)...)
	ctx := context.Background()
	e := setup(t, nil)
	up, _, err := e.api.Upload(ctx, &policy.InitiateRequest{Filename: "cat.png", ContentType: "image/png", Size: size(len(html))}, bytes.NewReader(html), nil)
	if a := apiError(t, err); a.Status != http.StatusUnprocessableEntity || a.Code != errcode.ContentMismatch ||
		!strings.Contains(a.Message, "text/html") || !strings.Contains(a.Message, "image/png") {
		t.Fatalf("HTML declared as PNG: %v", a)
	}
	if _, _, _, _, err := e.store.Object(up.Key); err == nil {
		t.Fatal("the refused object is still in the bucket")
	}
	if _, done, err := e.api.Upload(ctx, &policy.InitiateRequest{Filename: "cat.png", ContentType: "image/png", Size: size(len(png))}, bytes.NewReader(png), nil); err != nil || done.Size != int64(len(png)) {
		t.Fatalf("a real PNG: %v", err)
	}

	off := setup(t, func(p *policy.Policy) { p.VerifyContent = false })
	up, _, err = off.api.Upload(ctx, &policy.InitiateRequest{Filename: "cat.png", ContentType: "image/png", Size: size(len(html))}, bytes.NewReader(html), nil)
	if err != nil {
		t.Fatalf("verification off: %v", err)
	}
	if _, _, _, _, err := off.store.Object(up.Key); err != nil {
		t.Fatal("with verification off the object must stay")
	}
}

// The compact form: every part of the plan in one answer, each URL rebuilt from the
// template byte for byte as the full form writes it, and an upload through them.
func TestCompactParts(t *testing.T) {
	e := setup(t, func(p *policy.Policy) { p.PartBatch = 2; p.MaxSize = 20 << 30 })
	ctx := context.Background()
	data := randomBytes(t, 3<<20+5)
	var up upload.Initiated
	js, _ := json.Marshal(policy.InitiateRequest{Filename: "c.bin", ContentType: "application/octet-stream", Size: size(len(data)), PartSize: 1 << 20})
	// Another form than compact is refused by field, before anything is started.
	for _, q := range []string{"?parts=all", "?parts=", "?parts=compact&parts=compact"} {
		var apiErr *apiclient.Error
		if err := e.api.Call(ctx, "POST", "/uploads"+q, "", json.RawMessage(js), &up); !errors.As(err, &apiErr) ||
			apiErr.Status != 400 || apiErr.Code != errcode.InvalidField || apiErr.Field != "parts" {
			t.Fatalf("%s: %v", q, err)
		}
	}
	if n := e.store.Uploads(); n != 0 {
		t.Fatalf("a refused request started %d uploads", n)
	}
	if err := e.api.Call(ctx, "POST", "/uploads?parts=compact", "", json.RawMessage(js), &up); err != nil {
		t.Fatal(err)
	}
	c := up.CompactParts
	if c == nil || c.Len() != 4 || len(up.Parts) != 0 || !reflect.DeepEqual(c.Parts, []wire.PartRun{{From: 1, Count: 3, Size: 1 << 20}, {From: 4, Count: 1, Size: 5}}) {
		t.Fatalf("compact answer %+v", up)
	}
	// Each URL built with the two replacements a client makes, each part sent through it.
	var parts []wire.CompletedPart
	for i := range c.Len() {
		n := i + 1
		pp := wire.PresignedPart{PartNumber: n, Method: c.Method, URL: c.PartURL(i, n), Headers: c.Headers, Size: up.Size - 3<<20}
		if n < 4 {
			pp.Size = 1 << 20
		}
		off := int64(i) * up.PartSize
		etag, err := e.api.PutPart(ctx, pp, data[off:off+pp.Size], nil)
		if err != nil {
			t.Fatal(err)
		}
		parts = append(parts, wire.CompletedPart{PartNumber: n, ETag: etag})
	}
	// The full form of the same parts, asked for now, is the compact form's expanded, but
	// for the signing time.
	full, err := e.api.Presign(ctx, &up, []int{1, 2}) // PartBatch is 2
	if err != nil {
		t.Fatal(err)
	}
	rest, err := e.api.Presign(ctx, &up, []int{3, 4})
	if err != nil {
		t.Fatal(err)
	}
	full.Parts = append(full.Parts, rest.Parts...)
	expanded, err := c.Expand()
	if err != nil {
		t.Fatal(err)
	}
	for i := range expanded {
		if untimed(expanded[i].URL) != untimed(full.Parts[i].URL) {
			t.Fatalf("part %d:\n compact %s\n    full %s", i+1, expanded[i].URL, full.Parts[i].URL)
		}
		expanded[i].URL = full.Parts[i].URL
	}
	if !reflect.DeepEqual(expanded, full.Parts) {
		t.Fatalf("compact %+v\nfull %+v", expanded, full.Parts)
	}
	if _, err := e.api.Complete(ctx, &up, parts); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(e.store.ObjectPath(up.Key)); !bytes.Equal(got, data) {
		t.Fatal("the stored object differs")
	}

	// All 10,000 parts of an upload: one answer, well under a megabyte.
	big, _ := json.Marshal(policy.InitiateRequest{Filename: "big.bin", ContentType: "application/octet-stream", Size: size(10000 << 20), PartSize: 1 << 20})
	req, _ := http.NewRequest("POST", e.url+"/uploads?parts=compact", bytes.NewReader(big))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var all upload.Initiated
	if resp.StatusCode != 201 || json.Unmarshal(body, &all) != nil || all.CompactParts == nil || all.CompactParts.Len() != 10000 || len(body) > 1<<20 {
		t.Fatalf("10,000 parts: %d, %d bytes", resp.StatusCode, len(body))
	}
	// And again (renewed) through POST /parts: every part when none is named, a few when named.
	again, err := e.api.PresignAll(ctx, &all, nil)
	if err != nil || again.CompactParts == nil || again.CompactParts.Len() != 10000 {
		t.Fatalf("renewing every URL: %v", err)
	}
	renewed, _ := again.CompactParts.Expand()
	some, err := e.api.PresignAll(ctx, &all, []int{9, 3, 4, 10000})
	if err != nil || some.CompactParts == nil {
		t.Fatalf("renewing four URLs: %v", err)
	}
	four, _ := some.CompactParts.Expand()
	if len(four) != 4 || four[0].PartNumber != 9 || four[3].PartNumber != 10000 || untimed(four[1].URL) != untimed(renewed[2].URL) {
		t.Fatalf("renewing four URLs: %+v", four)
	}
	// What a client that builds each URL as it sends the part gets is the same.
	part := some.CompactParts.Lookup()
	if p, ok := part(4); !ok || !reflect.DeepEqual(p, four[2]) {
		t.Fatalf("Lookup(4) = %+v", p)
	}
	if _, ok := part(5); ok {
		t.Fatal("Lookup found a part the answer does not have")
	}
}

// untemplated is a store whose part URLs share no template (each carries its own extra
// parameter after the signature).
type untemplated struct{ *cos.Client }

func (s untemplated) Presign(ctx context.Context, req *storage.PresignRequest) (*storage.Presigned, error) {
	full := *req
	full.Compact = false // it makes only full URLs
	out, err := s.Client.Presign(ctx, &full)
	if err == nil {
		for i := range out.Parts {
			out.Parts[i].URL += "&v=" + strconv.Itoa(i)
		}
	}
	return out, err
}

// TestCompactFallsBackToOneBatch: where URLs share no template, ?parts=compact answers the
// full form, and only one batch of it — never every URL of a large upload in one answer.
func TestCompactFallsBackToOneBatch(t *testing.T) {
	store, err := localcos.New(t.TempDir(), "local-1250000000", storeCred)
	if err != nil {
		t.Fatal(err)
	}
	cosSrv := httptest.NewServer(store)
	defer cosSrv.Close()
	client, err := cos.New(cos.Config{Bucket: "local-1250000000", Endpoint: cosSrv.URL}, credentials.Static{
		AccessKeyID: storeCred.SecretID, SecretAccessKey: storeCred.SecretKey, SessionToken: storeCred.SessionToken}, nil)
	if err != nil {
		t.Fatal(err)
	}
	svc, err := upload.NewService(untemplated{client}, policy.Default(), []byte(tokenSecret))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(httpapi.New(svc, httpapi.Options{}))
	defer srv.Close()
	api, ctx := &apiclient.Client{API: srv.URL}, context.Background()
	var up upload.Initiated // 384 parts of 8 MiB
	if err := api.Call(ctx, "POST", "/uploads?parts=compact", "", policy.InitiateRequest{Filename: "a.bin", ContentType: "application/octet-stream", Size: size(3 << 30)}, &up); err != nil {
		t.Fatal(err)
	}
	if up.PartCount != 384 || len(up.Parts) != 100 {
		t.Fatalf("initiate fallback answered %d of %d full URLs, want one batch of 100", len(up.Parts), up.PartCount)
	}
	var more upload.PartURLs
	if err := api.Call(ctx, "POST", "/uploads/"+up.UploadID+"/parts?parts=compact", up.Token, map[string]any{}, &more); err != nil {
		t.Fatal(err)
	}
	if len(more.Parts) != 100 || !strings.Contains(more.Parts[0].URL, "&v=0") {
		t.Fatalf("renew fallback answered %d full URLs, want one batch of 100", len(more.Parts))
	}
}

// untimed drops what depends on the signing time from a part URL.
func untimed(u string) string {
	p, err := url.Parse(u)
	if err != nil {
		return u
	}
	q := p.Query()
	for _, k := range []string{"q-sign-time", "q-key-time", "q-signature"} {
		q.Del(k)
	}
	p.RawQuery = q.Encode()
	return p.String()
}
