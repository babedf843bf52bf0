package s3

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/directup/directup/shared/apiclient"
	"github.com/directup/directup/shared/credentials"
	"github.com/directup/directup/shared/errcode"
	"github.com/directup/directup/shared/functest"
	"github.com/directup/directup/shared/policy"
	"github.com/directup/directup/shared/storage"
	"github.com/directup/directup/shared/upload"
	"github.com/directup/directup/shared/wire"
)

var testCreds = credentials.Static{AccessKeyID: functest.S3Creds[0], SecretAccessKey: functest.S3Creds[1]}

// versitygw starts a real S3 server with one bucket and returns a client of it.
func versitygw(t *testing.T) *Client {
	c, err := New(Config{Bucket: "uploads-test", Region: "us-east-1", Endpoint: functest.Versitygw(t, "uploads-test")}, testCreds, nil)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestAgainstVersitygw(t *testing.T) {
	c := versitygw(t)
	svc, err := upload.NewService(c, policy.Default(), []byte(strings.Repeat("s", 32)))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	api := &apiclient.Client{}

	t.Run("multipart upload with every S3 equivalent", func(t *testing.T) {
		data := make([]byte, 11<<20+77)
		rand.Read(data)
		size := int64(len(data))
		up, err := svc.Initiate(ctx, &policy.InitiateRequest{Filename: "a b+c.bin", ContentType: "application/octet-stream", Size: &size,
			PartSize: 5 << 20, CacheControl: "max-age=60", Metadata: map[string]string{"project": "42"}, Tagging: map[string]string{"team": "media"}})
		if err != nil {
			t.Fatal(err)
		}
		var parts []wire.CompletedPart
		for _, p := range up.Parts {
			off := int64(p.PartNumber-1) * up.PartSize
			etag, err := api.PutPart(ctx, p, data[off:off+p.Size], nil)
			if err != nil {
				t.Fatal(err)
			}
			parts = append(parts, wire.CompletedPart{PartNumber: p.PartNumber, ETag: etag})
		}
		stored, err := svc.ListParts(ctx, up.Token, up.UploadID)
		if err != nil || len(stored) != 3 {
			t.Fatalf("ListParts %+v %v", stored, err)
		}
		done, err := svc.Complete(ctx, up.Token, up.UploadID, parts)
		if err != nil || done.Size != size {
			t.Fatalf("Complete %+v %v", done, err)
		}
		if got := functest.S3Do(t, c.base, http.MethodGet, c.pathPrefix+"/"+escapePath(up.Key)).Body; !bytes.Equal(got, data) {
			t.Fatalf("stored object differs (%d bytes)", len(got))
		}
	})

	t.Run("abort after complete is upload_completed; uploads on a key are listed", func(t *testing.T) {
		size := int64(3)
		up, err := svc.Initiate(ctx, &policy.InitiateRequest{Filename: "done.txt", ContentType: "text/plain", Size: &size})
		if err != nil {
			t.Fatal(err)
		}
		listed, err := c.ListUploads(ctx, up.Key)
		if err != nil || len(listed) != 1 || listed[0].UploadID != up.UploadID || listed[0].Key != up.Key || listed[0].Initiated.IsZero() {
			t.Fatalf("ListUploads(%s) = %+v, %v", up.Key, listed, err)
		}
		etag, err := api.PutPart(ctx, up.Parts[0], []byte("abc"), nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := svc.Complete(ctx, up.Token, up.UploadID, []wire.CompletedPart{{PartNumber: 1, ETag: etag}}); err != nil {
			t.Fatal(err)
		}
		if info, err := c.Stat(ctx, up.Key); err != nil || !info.Exists || info.LastModified.IsZero() {
			t.Fatalf("Stat = %+v, %v", info, err)
		}
		if e := errcode.As(svc.Abort(ctx, up.Token, up.UploadID)); e.Code != errcode.UploadCompleted {
			t.Fatalf("abort after complete: %v", e)
		}
		if info, err := c.Stat(ctx, up.Key+"-none"); err != nil || info.Exists {
			t.Fatalf("Stat of nothing = %+v, %v", info, err)
		}
	})

	t.Run("SSE-C: the key is signed into part URLs, never put in them", func(t *testing.T) {
		size := int64(10)
		key := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{9}, 32))
		up, err := svc.Initiate(ctx, &policy.InitiateRequest{Filename: "c", ContentType: "text/plain", Size: &size,
			Encryption: &policy.EncryptionRequest{Type: "SSE-C", CustomerKey: key}})
		if err != nil {
			t.Fatal(err)
		}
		p := up.Parts[0]
		if strings.Contains(p.URL, url.QueryEscape(key)) || strings.Contains(p.URL, key) || p.Headers["x-amz-server-side-encryption-customer-key"] != "" || p.CustomerKeyHeader != "x-amz-server-side-encryption-customer-key" {
			t.Fatalf("part %+v", p)
		}
		if _, err := api.PutPart(ctx, p, make([]byte, 10), nil); err == nil {
			t.Fatal("a part without the key must be refused")
		}
		if _, err := svc.PresignParts(ctx, up.Token, up.UploadID, []int{1}, ""); errcode.As(err).Field != "customerKey" {
			t.Fatalf("URLs without the key: %v", err)
		}
		other := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{8}, 32))
		if _, err := svc.PresignParts(ctx, up.Token, up.UploadID, []int{1}, other); errcode.As(err).Field != "customerKey" {
			t.Fatalf("URLs with another key: %v", err)
		}
		more, err := svc.PresignParts(ctx, up.Token, up.UploadID, []int{1}, key)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := api.PutPart(ctx, more.Parts[0], make([]byte, 10), http.Header{"X-Amz-Server-Side-Encryption-Customer-Key": {key}}); err != nil {
			t.Fatalf("a part with the key: %v", err)
		}
	})

	t.Run("part sizes are pinned", func(t *testing.T) {
		size := int64(10)
		up, err := svc.Initiate(ctx, &policy.InitiateRequest{Filename: "p", ContentType: "text/plain", Size: &size})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := api.PutPart(ctx, up.Parts[0], make([]byte, 11), nil); err == nil {
			t.Error("11 bytes into a 10-byte part must be refused")
		}
		if _, err := api.PutPart(ctx, up.Parts[0], make([]byte, 10), nil); err != nil {
			t.Errorf("the planned size must pass: %v", err)
		}
		if err := svc.Abort(ctx, up.Token, up.UploadID); err != nil {
			t.Fatal(err)
		}
		if _, err := svc.ListParts(ctx, up.Token, up.UploadID); errcode.As(err).Code != errcode.UploadNotFound {
			t.Errorf("after abort: %v", err)
		}
	})

	t.Run("options without an S3 equivalent are refused", func(t *testing.T) {
		// A policy the store cannot keep does not start, naming the variable.
		for variable, mutate := range map[string]func(*policy.Policy){
			"UPLOAD_ALLOW_GRANTS":            func(p *policy.Policy) { p.AllowGrants = true },
			"UPLOAD_ALLOWED_STORAGE_CLASSES": func(p *policy.Policy) { p.AllowedStorageClasses = []string{"MAZ_STANDARD"} },
			"UPLOAD_PART_SIZE":               func(p *policy.Policy) { p.DefaultPartSize = 2 << 20 },
		} {
			p := policy.Default()
			mutate(&p)
			if _, err := upload.NewService(c, p, []byte(strings.Repeat("s", 32))); err == nil || !strings.HasPrefix(err.Error(), variable) {
				t.Errorf("%s: %v", variable, err)
			}
		}
		// Requests for them are refused before S3 is called, naming the field.
		svc2, _ := upload.NewService(c, policy.Default(), []byte(strings.Repeat("s", 32)))
		size := int64(1)
		for name, req := range map[string]*policy.InitiateRequest{
			"storageClass": {Filename: "a", ContentType: "text/plain", Size: &size, StorageClass: "MAZ_STANDARD"},
			"grants":       {Filename: "a", ContentType: "text/plain", Size: &size, Grants: &policy.GrantsRequest{Read: []string{"1"}}},
		} {
			_, err := svc2.Initiate(ctx, req)
			var e *errcode.Error
			if !errors.As(err, &e) || e.Code != errcode.InvalidField || e.Field != name {
				t.Errorf("%s: %v", name, err)
			}
		}
	})

	// S3 has no forbid-overwrite at initiate: the token carries it to complete, which
	// sends If-None-Match: *. Two uploads racing for one key leave exactly one object.
	t.Run("forbidOverwrite is checked at complete", func(t *testing.T) {
		p := policy.Default()
		p.ClientKeys = true
		svc2, _ := upload.NewService(c, p, []byte(strings.Repeat("s", 32)))
		put := func(key string, forbid bool, body string) (*upload.Initiated, []wire.CompletedPart) {
			t.Helper()
			size := int64(len(body))
			up, err := svc2.Initiate(ctx, &policy.InitiateRequest{Key: key, ContentType: "text/plain", Size: &size, ForbidOverwrite: forbid})
			if err != nil {
				t.Fatal(err)
			}
			etag, err := api.PutPart(ctx, up.Parts[0], []byte(body), nil)
			if err != nil {
				t.Fatal(err)
			}
			return up, []wire.CompletedPart{{PartNumber: 1, ETag: etag}}
		}
		stored := func(key string) string {
			return string(functest.S3Do(t, c.base, http.MethodGet, c.pathPrefix+"/"+escapePath(key)).Body)
		}

		a, aParts := put("uploads/race.txt", true, "first")
		b, bParts := put("uploads/race.txt", true, "second")
		if _, err := svc2.Complete(ctx, a.Token, a.UploadID, aParts); err != nil {
			t.Fatalf("the first complete on a free key: %v", err)
		}
		_, err := svc2.Complete(ctx, b.Token, b.UploadID, bParts)
		if e := errcode.As(err); e == nil || e.Code != errcode.ObjectExists {
			t.Fatalf("the second complete must fail with object_exists, got %v", err)
		}
		if got := stored("uploads/race.txt"); got != "first" {
			t.Errorf("the object was replaced: %q", got)
		}
		if err := svc2.Abort(ctx, b.Token, b.UploadID); err != nil {
			t.Errorf("the losing upload can still be aborted: %v", err)
		}

		// Without the flag the same key is overwritten, as S3 does by default.
		c2, c2Parts := put("uploads/race.txt", false, "third")
		if _, err := svc2.Complete(ctx, c2.Token, c2.UploadID, c2Parts); err != nil {
			t.Fatal(err)
		}
		if got := stored("uploads/race.txt"); got != "third" {
			t.Errorf("an upload without forbidOverwrite must replace the object: %q", got)
		}

		// Concurrent completes: exactly one wins.
		const n = 4
		ups := make([]*upload.Initiated, n)
		partsOf := make([][]wire.CompletedPart, n)
		for i := range ups {
			ups[i], partsOf[i] = put("uploads/race2.txt", true, "writer "+string(rune('a'+i)))
		}
		errs := make(chan error, n)
		for i := range ups {
			go func() {
				_, err := svc2.Complete(ctx, ups[i].Token, ups[i].UploadID, partsOf[i])
				errs <- err
			}()
		}
		won := 0
		for range n {
			switch err := <-errs; {
			case err == nil:
				won++
			case errcode.As(err).Code != errcode.ObjectExists:
				t.Errorf("a losing complete: %v", err)
			}
		}
		if got := stored("uploads/race2.txt"); won != 1 || !strings.HasPrefix(got, "writer ") {
			t.Errorf("%d completes won, object %q", won, got)
		}
	})

	t.Run("markers", func(t *testing.T) {
		created, err := c.PutMarker(ctx, "uploads/.directup/requests/x", []byte(`{"a":1}`))
		if err != nil || !created {
			t.Fatalf("first marker: %v %v", created, err)
		}
		body, ok, err := c.GetMarker(ctx, "uploads/.directup/requests/x")
		if err != nil || !ok || string(body) != `{"a":1}` {
			t.Fatalf("GetMarker %q %v %v", body, ok, err)
		}
		if created, err := c.PutMarker(ctx, "uploads/.directup/requests/x", []byte(`{"a":2}`)); err != nil || created {
			t.Errorf("a second marker must lose (If-None-Match: *): %v %v", created, err)
		}
		if _, ok, _ := c.GetMarker(ctx, "uploads/.directup/requests/none"); ok {
			t.Error("a missing marker reads as present")
		}
	})
}

func TestInitiateHeaders(t *testing.T) {
	h, err := InitiateHeaders(&storage.Object{ContentType: "video/mp4", Metadata: map[string]string{"a": "1"}, StorageClass: "ARCHIVE", ACL: "public-read",
		Tags: map[string]string{"k": "v w"}, Encryption: &storage.Encryption{Type: storage.SSEKMS, KMSKeyID: "key", Context: "e30="}})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"Content-Type": "video/mp4", "X-Amz-Meta-A": "1", "X-Amz-Storage-Class": "GLACIER", "X-Amz-Acl": "public-read",
		"X-Amz-Tagging": "k=v+w", "X-Amz-Server-Side-Encryption": "aws:kms", "X-Amz-Server-Side-Encryption-Aws-Kms-Key-Id": "key",
		"X-Amz-Server-Side-Encryption-Context": "e30="}
	for k, v := range want {
		if h.Get(k) != v {
			t.Errorf("%s = %q, want %q", k, h.Get(k), v)
		}
	}
}

// Parts that share no layout (an empty part among others) get no compact form: the full
// one is answered (the conformance suite checks the compact form itself).
func TestNoCompactFormAcrossLayouts(t *testing.T) {
	c, err := New(Config{Bucket: "b", Region: "us-east-1", Endpoint: "http://127.0.0.1:9"}, credentials.Static{AccessKeyID: "AKIA", SecretAccessKey: "s"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	mixed := &storage.PresignRequest{Key: "k", UploadID: "u-1", Parts: []wire.PartSpec{{Number: 1, Size: 5}, {Number: 2, Size: 0}}, TTL: time.Hour, Compact: true}
	if p, err := c.Presign(context.Background(), mixed); err != nil || p.Compact != nil || len(p.Parts) != 2 {
		t.Fatalf("an empty part among others: %v %+v", err, p)
	}
}
