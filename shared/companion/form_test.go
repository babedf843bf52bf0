package companion_test

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/directup/directup/shared/companion"
	"github.com/directup/directup/shared/formpolicy"
	"github.com/directup/directup/shared/functest"
	"github.com/directup/directup/shared/policy"
	"github.com/directup/directup/shared/storage"
	"github.com/directup/directup/shared/storage/storagetest"
	"github.com/directup/directup/shared/upload"
)

// form is GET /s3/params's answer.
type form struct {
	Method string
	URL    string
	Fields map[string]string
	Key    string
}

// params asks for a form as @uppy/aws-s3's putObject does: filename, type and each
// metadata field as metadata[name]=value.
func params(t *testing.T, endpoint string, q url.Values) (int, form, string) {
	resp, err := http.Get(endpoint + "/s3/params?" + q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var f form
	json.Unmarshal(body, &f)
	return resp.StatusCode, f, string(body)
}

// postForm POSTs the fields, then the file, as Uppy's postObject (and a browser) does.
func postForm(t *testing.T, u string, fields map[string]string, file []byte) (int, string) {
	status, body, err := storagetest.PostForm(&storage.Form{URL: u}, fields, file)
	if err != nil {
		t.Fatal(err)
	}
	return status, body
}

func with(fields map[string]string, k, v string) map[string]string {
	out := map[string]string{}
	for a, b := range fields {
		out[a] = b
	}
	if v == "" {
		delete(out, k)
	} else {
		out[k] = v
	}
	return out
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

// Uppy's default setup: a small file goes as a form, its policy made by directup and
// enforced by the store. The declared size is the exact length; undeclared, the rules'
// limit bounds it; the form writes its own key with its own type and nothing else.
func TestFormUploadBoundedByItsPolicy(t *testing.T) {
	e := setup(t, true, 1<<20) // a 1 MiB limit
	data := randomBytes(3000)
	status, f, body := params(t, e.url, url.Values{"filename": {"notes.bin"}, "type": {"application/octet-stream"},
		"metadata[name]": {"notes.bin"}, "metadata[size]": {"3000"}})
	if status != 200 || f.Method != "POST" || f.Fields["key"] != f.Key || !strings.HasPrefix(f.Key, "uploads/anonymous/") {
		t.Fatalf("params: %d %s", status, body)
	}
	for _, bad := range []struct {
		name   string
		fields map[string]string
		file   []byte
		want   string
	}{
		{"a byte short of the declared size", f.Fields, data[:2999], "EntityTooSmall"},
		{"a byte over", f.Fields, append(data, 1), "EntityTooLarge"},
		{"another key", with(f.Fields, "key", "uploads/anonymous/other.bin"), data, "AccessDenied"},
		{"another key through ${filename}", with(f.Fields, "key", "uploads/anonymous/${filename}"), data, "AccessDenied"},
		{"another type", with(f.Fields, "Content-Type", "text/html"), data, "AccessDenied"},
		{"no type", with(f.Fields, "Content-Type", ""), data, "AccessDenied"},
		{"a public ACL", with(f.Fields, "acl", "public-read"), data, "AccessDenied"},
		{"another storage class", with(f.Fields, "x-cos-storage-class", "ARCHIVE"), data, "AccessDenied"},
		{"no write seal", with(f.Fields, "x-cos-meta-"+policy.WriteMetadata, ""), data, "AccessDenied"},
		{"no security token", with(f.Fields, "x-cos-security-token", ""), data, "InvalidAccessKeyId"},
		{"no signature", with(f.Fields, "q-signature", ""), data, "SignatureDoesNotMatch"},
		{"a policy of the client's", with(f.Fields, "policy", widened(t, f.Fields["policy"])), data, "SignatureDoesNotMatch"},
	} {
		if s, msg := postForm(t, f.URL, bad.fields, bad.file); s < 400 || !strings.Contains(msg, bad.want) {
			t.Errorf("%s: %d %s, want %s", bad.name, s, msg, bad.want)
		}
	}
	if _, _, _, _, err := e.store.Object(f.Key); err == nil {
		t.Fatal("a refused form stored an object")
	}
	if s, msg := postForm(t, f.URL, f.Fields, data); s != 204 {
		t.Fatalf("the form as issued: %d %s", s, msg)
	}
	h, _, _, size, err := e.store.Object(f.Key)
	if err != nil || size != 3000 || h.Get("Content-Type") != "application/octet-stream" || h.Get("x-cos-meta-"+policy.WriteMetadata) == "" {
		t.Fatalf("stored: %v %d %v", err, size, h)
	}

	// Undeclared: the rules' 1 MiB limit is the form's.
	status, f, body = params(t, e.url, url.Values{"filename": {"big.bin"}, "type": {"application/octet-stream"}})
	if status != 200 {
		t.Fatalf("params: %d %s", status, body)
	}
	if s, msg := postForm(t, f.URL, f.Fields, randomBytes(2<<20)); s != 400 || !strings.Contains(msg, "EntityTooLarge") {
		t.Fatalf("2 MiB under a 1 MiB limit: %d %s", s, msg)
	}
	if s, msg := postForm(t, f.URL, f.Fields, randomBytes(1<<20)); s != 204 {
		t.Fatalf("1 MiB under a 1 MiB limit: %d %s", s, msg)
	}
}

// widened is the form's policy with a larger length range, as a client would forge it.
func widened(t *testing.T, p string) string {
	raw, _ := base64.StdEncoding.DecodeString(p)
	doc, err := formpolicy.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	for i, c := range doc.Conditions {
		if c.Op == formpolicy.LengthRange {
			doc.Conditions[i].Max = 5 << 30
		}
	}
	return base64.StdEncoding.EncodeToString(doc.JSON())
}

// A form stops working when its policy ends: the part-URL lifetime, never past the
// credentials.
func TestFormExpires(t *testing.T) {
	e := setup(t, true, 1<<20)
	_, f, _ := params(t, e.url, url.Values{"filename": {"a.bin"}, "metadata[size]": {"5"}})
	e.store.SetClock(func() time.Time { return time.Now().Add(61 * time.Minute) })
	if s, msg := postForm(t, f.URL, f.Fields, []byte("hello")); s != 403 {
		t.Fatalf("an expired form: %d %s", s, msg)
	}
}

// /s3/params is held to the same input rules as create: every refusal is a JSON error
// naming the field, and nothing reaches storage.
func TestParamsHostileInput(t *testing.T) {
	e := setup(t, true, 1<<20)
	before := e.store.Requests()
	for _, tc := range []struct {
		q      string
		status int
		field  string
	}{
		{"type=text/plain", 400, "filename"},
		{"filename=", 400, "filename"},
		{"filename=a&filename=b", 400, "filename"},
		{"filename=a&type=a&type=b", 400, "type"},
		{"filename=a&type=not%20a%20type", 400, "contentType"},
		{"filename=a&metadata[size]=abc", 400, "metadata.size"},
		{"filename=a&metadata[size]=-1", 400, "metadata.size"},
		{"filename=a&metadata[size]=1.5", 400, "metadata.size"},
		{"filename=a&metadata[size]=2097152", 413, "size"},
		{"filename=a&metadata[size]=1&metadata[size]=2", 400, "metadata[size]"},
		{"filename=a&metadata[]=x", 400, "metadata[]"},
		{"filename=a&metadata[size=1", 400, "metadata[size"},
		{"filename=a&metadata[profile]=nope", 400, "profile"},
		{"filename=" + url.QueryEscape(strings.Repeat("x", 2000)), 400, "filename"},
		{"filename=%ff%fe", 400, "filename"},
	} {
		status, _, body := params(t, e.url, mustQuery(t, tc.q))
		var out struct{ Error struct{ Code, Field string } }
		json.Unmarshal([]byte(body), &out)
		if status != tc.status || out.Error.Field != tc.field || out.Error.Code == "" {
			t.Errorf("%s: %d %s, want %d naming %s", tc.q, status, body, tc.status, tc.field)
		}
	}
	if n := e.store.Requests() - before; n != 0 {
		t.Fatalf("refused params reached storage %d times", n)
	}
}

func mustQuery(t *testing.T, q string) url.Values {
	v, err := url.ParseQuery(q)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// With callers authenticated, the bare route is closed and a capability's caller names the
// key; another caller's capability, forged or expired ones, get no form.
func TestParamsNeedTheCallersCapability(t *testing.T) {
	e := setup(t, false, 1<<20)
	if s, _, body := params(t, e.url, url.Values{"filename": {"a"}}); s != 401 {
		t.Fatalf("bare /s3/params with authenticated callers: %d %s", s, body)
	}
	alice, _ := e.comp.Mint("alice", time.Time{})
	s, f, body := params(t, e.url+"/c/"+alice, url.Values{"filename": {"a.bin"}, "metadata[size]": {"3"}})
	if s != 200 || !strings.HasPrefix(f.Key, "uploads/alice/") {
		t.Fatalf("alice's form: %d %s", s, body)
	}
	for _, c := range []string{alice[:len(alice)-2] + "xx", "c1.e30.AAAA"} {
		if s, _, _ := params(t, e.url+"/c/"+c, url.Values{"filename": {"a"}}); s != 401 {
			t.Errorf("forged capability: %d", s)
		}
	}
}

// API_COMPANION_FORMS=false: the small-file path is refused with what to set instead.
func TestFormsOff(t *testing.T) {
	backend := functest.NewBackend(t)
	svc, err := upload.NewService(backend.Client(t), policy.Default(), []byte(secret))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(companion.New(svc, companion.Options{Secret: []byte(secret), Anonymous: true, TTL: time.Hour}))
	defer srv.Close()
	s, _, body := params(t, srv.URL, url.Values{"filename": {"a"}})
	if s != 501 || !strings.Contains(body, "shouldUseMultipart: true") {
		t.Fatalf("%d %s", s, body)
	}
}
