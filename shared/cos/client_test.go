package cos

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	sdk "github.com/tencentyun/cos-go-sdk-v5"

	"github.com/directup/directup/shared/cos/cossign"
	"github.com/directup/directup/shared/credentials"
	"github.com/directup/directup/shared/errcode"
	"github.com/directup/directup/shared/localcos"
	"github.com/directup/directup/shared/storage"
	"github.com/directup/directup/shared/wire"
)

var testCreds = credentials.Static{AccessKeyID: "AKIDEXAMPLE", SecretAccessKey: "SECRETKEY", SessionToken: "TOKEN123"}

// sdkAuthorization recomputes a received request's Authorization with the official SDK,
// over the same window, as COS would verify it.
func sdkAuthorization(t *testing.T, r *http.Request) string {
	t.Helper()
	got := r.Header.Get("Authorization")
	fields, err := url.ParseQuery(strings.ReplaceAll(got, ";", "%3B"))
	if err != nil {
		t.Fatalf("Authorization %q: %v", got, err)
	}
	start, end, _ := strings.Cut(fields.Get("q-sign-time"), ";")
	s, _ := strconv.ParseInt(start, 10, 64)
	e, _ := strconv.ParseInt(end, 10, 64)
	req, err := http.NewRequest(r.Method, "http://"+r.Host+r.RequestURI, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range r.Header {
		if k != "Authorization" && k != "User-Agent" && k != "Accept-Encoding" {
			req.Header[k] = v
		}
	}
	if r.Method == http.MethodPost || r.Method == http.MethodPut {
		// Go's server keeps the length out of the header map; the SDK's client sends it.
		req.Header.Set("Content-Length", strconv.FormatInt(r.ContentLength, 10))
	}
	at := &sdk.AuthTime{SignStartTime: time.Unix(s, 0), SignEndTime: time.Unix(e, 0), KeyStartTime: time.Unix(s, 0), KeyEndTime: time.Unix(e, 0)}
	sdk.AddAuthorizationHeader(testCreds.AccessKeyID, testCreds.SecretAccessKey, testCreds.SessionToken, req, at)
	return req.Header.Get("Authorization")
}

func newClient(t *testing.T, h http.HandlerFunc) *Client {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	c, err := New(Config{Bucket: "examplebucket-1250000000", Endpoint: srv.URL}, testCreds, srv.Client())
	if err != nil {
		t.Fatal(err)
	}
	c.BaseDelay, c.MaxDelay = time.Millisecond, 5*time.Millisecond
	return c
}

func randomText(r *rand.Rand, alphabet string) string {
	n := 1 + r.IntN(20)
	b := make([]byte, n)
	for i := range b {
		b[i] = alphabet[r.IntN(len(alphabet))]
	}
	return string(b)
}

// randomObject sets every header of the user's document, each with a random value.
func randomObject(r *rand.Rand) *storage.Object {
	const printable = "abcXYZ019 -_.~+%/=&;,\"'()*!:@?#"
	keys := []string{"a b.txt", "dir/文件.mp4", "x+y%z", "deep/a/b/c (1).png", "~tilde!*'()"}
	obj := &storage.Object{
		Key:                "uploads/" + keys[r.IntN(len(keys))],
		ContentType:        []string{"video/mp4", "image/png", "text/plain; charset=utf-8"}[r.IntN(3)],
		CacheControl:       "max-age=" + strconv.Itoa(r.IntN(1e6)),
		ContentDisposition: "attachment; filename=\"" + randomText(r, "abc XYZ.") + "\"",
		ContentEncoding:    []string{"gzip", "identity", "br"}[r.IntN(3)],
		Expires:            time.Unix(1.7e9+r.Int64N(1e8), 0).UTC().Format(http.TimeFormat),
		Metadata:           map[string]string{randomText(r, "abcdefxyz0129-"): strings.TrimSpace(randomText(r, printable)) + "v"},
		StorageClass:       []string{"STANDARD", "STANDARD_IA", "MAZ_STANDARD", "INTELLIGENT_TIERING"}[r.IntN(4)],
		Tags:               map[string]string{randomText(r, printable): randomText(r, printable)},
		ForbidOverwrite:    r.IntN(2) == 0,
		ACL:                []string{"default", "private", "public-read"}[r.IntN(3)],
		Grants: storage.Grants{
			Read: []string{"100000000001", "100000000002"}, ReadACP: []string{"1"},
			WriteACP: []string{"qcs::cam::uin/1:uin/2"}, FullControl: []string{"3"},
		},
	}
	switch r.IntN(4) {
	case 0:
		obj.Encryption = &storage.Encryption{Type: storage.SSECOS}
	case 1:
		obj.Encryption = &storage.Encryption{Type: storage.SSEKMS, KMSKeyID: "48ba38aa-26c5-11ea-855c-52540085****",
			Context: "eyJhdXRob3IiOiJmeXNudGlhbiIsImNvbXBhbnkiOiJUZW5jZW50In0="}
	case 2:
		obj.Encryption = &storage.Encryption{Type: storage.SSEC, CustomerKey: "MDEyMzQ1Njc4OUFCQ0RFRjAxMjM0NTY3ODlBQkNERUY=",
			CustomerKeyMD5: "U5L61r7jcwdNvT7frmUG8g=="}
	}
	return obj
}

// TestInitiateMatchesSDK sends initiates with every document header and checks, on the
// wire, that each header arrived and the Authorization is the official SDK's.
func TestInitiateMatchesSDK(t *testing.T) {
	var last *http.Request
	var mismatch atomic.Value
	c := newClient(t, func(w http.ResponseWriter, r *http.Request) {
		last = r.Clone(context.Background())
		if want := sdkAuthorization(t, r); r.Header.Get("Authorization") != want {
			mismatch.Store(fmt.Sprintf("got  %s\nwant %s", r.Header.Get("Authorization"), want))
		}
		fmt.Fprint(w, "<InitiateMultipartUploadResult><Bucket>b</Bucket><Key>k</Key><UploadId>UP-1</UploadId></InitiateMultipartUploadResult>")
	})
	r := rand.New(rand.NewPCG(7, 8))
	for i := 0; i < 500; i++ {
		obj := randomObject(r)
		id, err := c.Initiate(context.Background(), obj)
		if err != nil || id != "UP-1" {
			t.Fatalf("Initiate = %q, %v", id, err)
		}
		if m := mismatch.Load(); m != nil {
			t.Fatalf("object %+v: signature differs from the SDK's:\n%s", obj, m)
		}
		if last.Method != http.MethodPost || last.URL.Path != "/"+obj.Key || last.URL.RawQuery != "uploads" || last.ContentLength != 0 {
			t.Fatalf("request line %s %s ?%s length %d", last.Method, last.URL.Path, last.URL.RawQuery, last.ContentLength)
		}
		for name, want := range InitiateHeaders(obj) {
			if got := last.Header.Values(name); strings.Join(got, ",") != strings.Join(want, ",") {
				t.Fatalf("header %s = %q, want %q", name, got, want)
			}
		}
		auth := last.Header.Get("Authorization")
		for _, h := range []string{"content-length", "content-type", "host", "x-cos-security-token", "x-cos-acl", "x-cos-grant-read-acp", "x-cos-tagging"} {
			if !strings.Contains(auth, h) {
				t.Fatalf("%s is not signed: %s", h, auth)
			}
		}
	}
}

func TestInitiateHeadersFromTheDocument(t *testing.T) {
	// Example Two and Five of the user's document, as headers.
	h := InitiateHeaders(&storage.Object{
		Key: "exampleobject", ContentType: "video/mp4", CacheControl: "max-age=86400",
		ContentDisposition: "attachment; filename=example.jpg", Metadata: map[string]string{"example-field": "example-value"},
		ACL: "public-read", Tags: map[string]string{"Key1": "Value 1", "Key2": "Value2"}, ForbidOverwrite: true,
		Encryption: &storage.Encryption{Type: storage.SSEC, CustomerKey: "MDEyMzQ1Njc4OUFCQ0RFRjAxMjM0NTY3ODlBQkNERUY=", CustomerKeyMD5: "U5L61r7jcwdNvT7frmUG8g=="},
	})
	want := map[string]string{
		"Content-Type": "video/mp4", "Cache-Control": "max-age=86400", "Content-Disposition": "attachment; filename=example.jpg",
		"X-Cos-Meta-Example-Field": "example-value", "X-Cos-Acl": "public-read", "X-Cos-Tagging": "Key1=Value%201&Key2=Value2",
		"X-Cos-Forbid-Overwrite": "true", "X-Cos-Server-Side-Encryption-Customer-Algorithm": "AES256",
		"X-Cos-Server-Side-Encryption-Customer-Key":     "MDEyMzQ1Njc4OUFCQ0RFRjAxMjM0NTY3ODlBQkNERUY=",
		"X-Cos-Server-Side-Encryption-Customer-Key-Md5": "U5L61r7jcwdNvT7frmUG8g==",
	}
	if len(h) != len(want) {
		t.Errorf("headers = %v", h)
	}
	for k, v := range want {
		if h.Get(k) != v {
			t.Errorf("%s = %q, want %q", k, h.Get(k), v)
		}
	}
	// The core's neutral grants and KMS type, in COS's own form.
	h = InitiateHeaders(&storage.Object{Key: "k", ContentType: "text/plain",
		Grants:     storage.Grants{Read: []string{"100000000001", "100000000002"}, FullControl: []string{"qcs::cam::uin/100000000001:uin/100000000011"}},
		Encryption: &storage.Encryption{Type: storage.SSEKMS, KMSKeyID: "key-1"}})
	for k, v := range map[string]string{
		"X-Cos-Grant-Read":                            `id="100000000001",id="100000000002"`,
		"X-Cos-Grant-Full-Control":                    `id="qcs::cam::uin/100000000001:uin/100000000011"`,
		"X-Cos-Server-Side-Encryption":                "cos/kms",
		"X-Cos-Server-Side-Encryption-Cos-Kms-Key-Id": "key-1",
	} {
		if h.Get(k) != v {
			t.Errorf("%s = %q, want %q", k, h.Get(k), v)
		}
	}
}

func TestOtherCallsMatchSDK(t *testing.T) {
	var calls []string
	c := newClient(t, func(w http.ResponseWriter, r *http.Request) {
		if want := sdkAuthorization(t, r); r.Header.Get("Authorization") != want {
			t.Errorf("%s %s: signature differs from the SDK's", r.Method, r.URL)
		}
		calls = append(calls, r.Method+" "+r.URL.RawQuery)
		switch {
		case r.Method == http.MethodGet && r.URL.Query().Get("part-number-marker") == "":
			fmt.Fprint(w, `<ListPartsResult><IsTruncated>true</IsTruncated><NextPartNumberMarker>1</NextPartNumberMarker><Part><PartNumber>1</PartNumber><ETag>"a"</ETag><Size>5</Size></Part></ListPartsResult>`)
		case r.Method == http.MethodGet:
			fmt.Fprint(w, `<ListPartsResult><IsTruncated>false</IsTruncated><Part><PartNumber>2</PartNumber><ETag>"b"</ETag><Size>3</Size></Part></ListPartsResult>`)
		case r.Method == http.MethodPost:
			body, _ := io.ReadAll(r.Body)
			if string(body) != `<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>&#34;a&#34;</ETag></Part><Part><PartNumber>2</PartNumber><ETag>&#34;b&#34;</ETag></Part></CompleteMultipartUpload>` {
				t.Errorf("complete body %s", body)
			}
			w.Header().Set("x-cos-hash-crc64ecma", "12345")
			fmt.Fprint(w, "\n\n  <CompleteMultipartUploadResult><Location>b.cos/k</Location><ETag>\"x-2\"</ETag></CompleteMultipartUploadResult>")
		case r.Method == http.MethodDelete:
			w.WriteHeader(http.StatusNoContent)
		}
	})
	ctx := context.Background()
	parts, err := c.ListParts(ctx, "dir/a b+c.bin", "UP/1")
	if err != nil || len(parts) != 2 || parts[1] != (wire.StoredPart{PartNumber: 2, ETag: `"b"`, Size: 3}) {
		t.Fatalf("ListParts = %+v, %v", parts, err)
	}
	done, err := c.Complete(ctx, "dir/a b+c.bin", "UP/1", []wire.CompletedPart{{PartNumber: 1, ETag: `"a"`}, {PartNumber: 2, ETag: `"b"`}}, storage.CompleteOptions{})
	if err != nil || done.CRC64 != "12345" || done.ETag != `"x-2"` || done.Location != "b.cos/k" {
		t.Fatalf("Complete = %+v, %v", done, err)
	}
	if err := c.Abort(ctx, "dir/a b+c.bin", "UP/1"); err != nil {
		t.Fatal(err)
	}
	want := []string{"GET max-parts=1000&uploadId=UP%2F1", "GET max-parts=1000&part-number-marker=1&uploadId=UP%2F1", "POST uploadId=UP%2F1", "DELETE uploadId=UP%2F1"}
	if strings.Join(calls, "|") != strings.Join(want, "|") {
		t.Errorf("calls = %q, want %q", calls, want)
	}
}

func TestPresignNeverOutlivesCredentials(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	creds := testCreds
	creds.Expires = now.Add(10 * time.Minute)
	c, err := New(Config{Bucket: "examplebucket-1250000000", Region: "ap-guangzhou"}, creds, nil)
	if err != nil {
		t.Fatal(err)
	}
	c.Now = func() time.Time { return now }
	p, err := c.Presign(context.Background(), &storage.PresignRequest{Key: "a b", UploadID: "U", TTL: time.Hour,
		Parts: []wire.PartSpec{{Number: 1, Size: 5 << 20}, {Number: 2, Size: 7}}, CustomerKeyMD5: "U5L61r7jcwdNvT7frmUG8g=="})
	if err != nil {
		t.Fatal(err)
	}
	if !p.Expires.Equal(creds.Expires) {
		t.Errorf("Expires = %v, want the credentials' %v", p.Expires, creds.Expires)
	}
	u := p.Parts[1].URL
	for _, want := range []string{
		"https://examplebucket-1250000000.cos.ap-guangzhou.myqcloud.com/a%20b?partNumber=2&uploadId=U&x-cos-security-token=TOKEN123&",
		"q-sign-time=1800000000%3B1800000600",
		"q-header-list=content-length%3Bhost%3Bx-cos-server-side-encryption-customer-algorithm%3Bx-cos-server-side-encryption-customer-key-md5",
	} {
		if !strings.Contains(u, want) {
			t.Errorf("URL %s lacks %s", u, want)
		}
	}
	if p.Parts[1].Size != 7 || p.Parts[1].Headers["x-cos-server-side-encryption-customer-key-MD5"] != "U5L61r7jcwdNvT7frmUG8g==" {
		t.Errorf("part = %+v", p.Parts[1])
	}
	creds.Expires = now.Add(30 * time.Second)
	c.Creds = creds
	var e *errcode.Error
	if _, err := c.Presign(context.Background(), &storage.PresignRequest{Key: "a", UploadID: "U", TTL: time.Hour}); !errors.As(err, &e) || e.Code != errcode.CredentialsFailed {
		t.Errorf("credentials about to expire: err = %v, want 503", err)
	}
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		cfg  Config
		want string
	}{
		{Config{Bucket: "examplebucket-1250000000", Region: "ap-guangzhou"}, ""},
		{Config{Bucket: "examplebucket", Region: "ap-guangzhou"}, "COS_BUCKET"},
		{Config{Bucket: "examplebucket-1250000000"}, "COS_REGION"},
		{Config{Bucket: "examplebucket-1250000000", Endpoint: "ftp://x"}, "COS_ENDPOINT"},
		{Config{Bucket: "examplebucket-1250000000", Endpoint: "https://cdn.example.com/path"}, "COS_ENDPOINT"},
		{Config{Bucket: "examplebucket-1250000000", Endpoint: "https://examplebucket-1250000000.cos.accelerate.myqcloud.com"}, ""},
	}
	for _, tt := range tests {
		err := tt.cfg.Validate()
		if (tt.want == "") != (err == nil) || (err != nil && !strings.HasPrefix(err.Error(), tt.want)) {
			t.Errorf("%+v: %v, want %q", tt.cfg, err, tt.want)
		}
	}
}

// TestLostInitiateAnswerLeavesNoOrphan: COS carries out the first initiate but its answer
// is lost; the retry creates a second upload. The one nobody learned of is aborted.
func TestLostInitiateAnswerLeavesNoOrphan(t *testing.T) {
	cred := cossign.Credentials{SecretID: testCreds.AccessKeyID, SecretKey: testCreds.SecretAccessKey, SessionToken: testCreds.SessionToken}
	store, err := localcos.New(t.TempDir(), "examplebucket-1250000000", cred)
	if err != nil {
		t.Fatal(err)
	}
	var initiates atomic.Int32
	c := newClient(t, func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && r.URL.Query().Has("uploads") && r.URL.Path == "/uploads/k" && initiates.Add(1) == 1 {
			store.ServeHTTP(httptest.NewRecorder(), r) // done, and the answer never arrives
			conn, _, _ := w.(http.Hijacker).Hijack()
			conn.Close()
			return
		}
		store.ServeHTTP(w, r)
	})
	// An upload on another key, in the same moment, is not touched.
	keep, err := c.Initiate(context.Background(), &storage.Object{Key: "uploads/other", ContentType: "a/b"})
	if err != nil {
		t.Fatal(err)
	}
	id, err := c.Initiate(context.Background(), &storage.Object{Key: "uploads/k", ContentType: "a/b"})
	if err != nil || initiates.Load() != 2 || store.Uploads() != 2 {
		t.Fatalf("initiate: %q %v after %d initiates, %d uploads", id, err, initiates.Load(), store.Uploads())
	}
	uploads, err := c.ListUploads(context.Background(), "uploads/")
	ids := map[string]bool{}
	for _, u := range uploads {
		ids[u.UploadID] = true
	}
	if err != nil || len(uploads) != 2 || !ids[keep] || !ids[id] {
		t.Fatalf("uploads left: %+v %v; want only %s and %s", uploads, err, keep, id)
	}
}
