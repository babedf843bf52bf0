package storagetest

import (
	"bytes"
	"io"
	"mime/multipart"
	"net/http"
	"testing"
	"time"

	"github.com/directup/directup/shared/storage"
)

// PostForm POSTs a form's fields, then the file, as a browser (and Uppy) does.
func PostForm(form *storage.Form, fields map[string]string, file []byte) (int, string, error) {
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	for k, v := range fields {
		mw.WriteField(k, v)
	}
	fw, _ := mw.CreateFormFile("file", "pick.bin")
	fw.Write(file)
	mw.Close()
	resp, err := http.Post(form.URL, mw.FormDataContentType(), &b)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body), nil
}

func changed(fields map[string]string, k, v string) map[string]string {
	out := make(map[string]string, len(fields))
	for a, b := range fields {
		out[a] = b
	}
	out[k] = v
	return out
}

// testForms: a store's form (storage.FormUploader) writes exactly its key, with its
// settings, within its length range, and the server itself refuses every other write.
func testForms(t *testing.T, newStore New) {
	soon := time.Now().Add(30 * time.Minute).Truncate(time.Second)
	f := newStore(t, Options{CredentialsExpire: soon})
	fu, ok := f.Store.(storage.FormUploader)
	if !ok {
		t.Skip("the store signs no form uploads")
	}
	k := key(t)
	obj := &storage.Object{Key: k, ContentType: "image/png", Metadata: map[string]string{"origin": "form"}}
	form, err := fu.PresignForm(ctx, &storage.FormRequest{Object: obj, MinSize: 10, MaxSize: 1000, TTL: 2 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if form.Expires.After(soon) || form.Expires.Before(soon.Add(-time.Minute)) {
		t.Errorf("a form asked for 2h with credentials ending in 30m expires at %v", form.Expires)
	}
	other := k + "-other"
	for name, tc := range map[string]struct {
		fields map[string]string
		file   []byte
	}{
		"over the range":  {form.Fields, random(2000)},
		"under the range": {form.Fields, random(9)},
		"another key":     {changed(form.Fields, "key", other), random(500)},
		"another type":    {changed(form.Fields, "Content-Type", "text/html"), random(500)},
	} {
		status, body, err := PostForm(form, tc.fields, tc.file)
		if err != nil || status < 400 {
			t.Errorf("%s: the server took it (%d %s %v)", name, status, body, err)
		}
	}
	objs := objectsOf(t, f.Store)
	for _, key := range []string{k, other} {
		if info, err := objs.Stat(ctx, key); err != nil || info.Exists {
			t.Fatalf("a refused form left an object at %s (%v)", key, err)
		}
	}
	data := random(500)
	if status, body, err := PostForm(form, form.Fields, data); err != nil || status >= 300 {
		t.Fatalf("the form as signed: %d %s %v", status, body, err)
	}
	got, err := f.Read(k)
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("stored %d bytes, sent %d (%v)", len(got), len(data), err)
	}
	info, err := objs.Stat(ctx, k)
	if err != nil || info.ContentType != "image/png" || info.Metadata["origin"] != "form" || info.Size != 500 {
		t.Fatalf("stored object: %+v %v", info, err)
	}
	// What a form cannot carry is refused before anything is signed.
	for name, o := range map[string]*storage.Object{
		"forbid-overwrite": {Key: k, ContentType: "text/plain", ForbidOverwrite: true},
		"SSE-C":            {Key: k, ContentType: "text/plain", Encryption: &storage.Encryption{Type: storage.SSEC, CustomerKey: "x", CustomerKeyMD5: "y"}},
		"tags":             {Key: k, ContentType: "text/plain", Tags: map[string]string{"a": "b"}},
	} {
		if _, err := fu.PresignForm(ctx, &storage.FormRequest{Object: o, MaxSize: 10, TTL: time.Hour}); code(err) == "" {
			t.Errorf("a form with %s was signed", name)
		}
	}
}
