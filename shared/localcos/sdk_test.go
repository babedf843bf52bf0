package localcos

import (
	"bytes"
	"context"
	"crypto/rand"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	sdk "github.com/tencentyun/cos-go-sdk-v5"

	"github.com/directup/directup/shared/cos/campolicy"
	"github.com/directup/directup/shared/policy"
	"github.com/directup/directup/shared/storage"
)

// The official SDK's ordinary helpers work against the local store, as newcomers use
// them: a multi-threaded ranged Download with its CRC-64 check, ListMultipartUploads,
// and ListParts with its Initiator, Owner and StorageClass.
func TestOfficialSDKHelpers(t *testing.T) {
	s, err := New(t.TempDir(), "local-1250000000", cred)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(s)
	defer ts.Close()
	u, _ := url.Parse(ts.URL)
	c := sdk.NewClient(&sdk.BaseURL{BucketURL: u}, &http.Client{Transport: &sdk.AuthorizationTransport{
		SecretID: cred.SecretID, SecretKey: cred.SecretKey, SessionToken: cred.SessionToken}})
	ctx := context.Background()

	data := make([]byte, 3<<20+12345)
	rand.Read(data)
	if _, err := c.Object.Put(ctx, "uploads/big.bin", bytes.NewReader(data), &sdk.ObjectPutOptions{
		ObjectPutHeaderOptions: &sdk.ObjectPutHeaderOptions{ContentType: "application/octet-stream"}}); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "big.bin")
	if _, err := c.Object.Download(ctx, "uploads/big.bin", file, &sdk.MultiDownloadOptions{PartSize: 1, ThreadPoolSize: 3}); err != nil {
		t.Fatalf("Download (ranged, CRC-checked): %v", err)
	}
	if got, _ := os.ReadFile(file); !bytes.Equal(got, data) {
		t.Fatal("the downloaded bytes differ")
	}

	up, _, err := c.Object.InitiateMultipartUpload(ctx, "uploads/mp.bin", &sdk.InitiateMultipartUploadOptions{
		ObjectPutHeaderOptions: &sdk.ObjectPutHeaderOptions{ContentType: "text/plain", XCosStorageClass: "STANDARD_IA"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Object.UploadPart(ctx, "uploads/mp.bin", up.UploadID, 1, strings.NewReader("hello"), nil); err != nil {
		t.Fatal(err)
	}
	parts, _, err := c.Object.ListParts(ctx, "uploads/mp.bin", up.UploadID, nil)
	if err != nil || len(parts.Parts) != 1 || parts.Initiator == nil || parts.Initiator.ID == "" || parts.Owner == nil ||
		parts.Owner.ID == "" || parts.StorageClass != "STANDARD_IA" {
		t.Fatalf("ListParts = %+v, %v", parts, err)
	}
	list, _, err := c.Bucket.ListMultipartUploads(ctx, &sdk.ListMultipartUploadsOptions{Prefix: "uploads/"})
	if err != nil || len(list.Uploads) != 1 || list.Uploads[0].UploadID != up.UploadID || list.Uploads[0].Initiator == nil || list.Uploads[0].Initiated == "" {
		t.Fatalf("ListMultipartUploads = %+v, %v", list, err)
	}
}

// Keys the stand-in STS mints are held to their scope as COS holds STS keys to their
// inline policy: the one key, the upload actions, the declared type and size, their end.
func TestTemporaryKeysAreScoped(t *testing.T) {
	s, err := New(t.TempDir(), "local-1250000000", cred)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	s.SetClock(func() time.Time { return now })
	ts := httptest.NewServer(s)
	defer ts.Close()
	u, _ := url.Parse(ts.URL)
	pol := policy.Default()
	key, err := pol.AdmitKey("uploads/abc/cat.png", storage.DefaultCapabilities())
	if err != nil {
		t.Fatal(err)
	}
	scope := campolicy.ForUpload(Region, "local-1250000000", key, "image/png", 3<<20)
	tmp, _ := s.MintTemporary(scope, time.Hour)
	c := sdk.NewClient(&sdk.BaseURL{BucketURL: u}, &http.Client{Transport: &sdk.AuthorizationTransport{
		SecretID: tmp.SecretID, SecretKey: tmp.SecretKey, SessionToken: tmp.SessionToken}})
	ctx := context.Background()
	opt := func(ct string) *sdk.ObjectPutOptions {
		return &sdk.ObjectPutOptions{ObjectPutHeaderOptions: &sdk.ObjectPutHeaderOptions{ContentType: ct}}
	}
	denied := func(what string, err error) {
		t.Helper()
		if e, ok := err.(*sdk.ErrorResponse); !ok || e.Code != "AccessDenied" {
			t.Errorf("%s: %v, want AccessDenied", what, err)
		}
	}
	if _, err := c.Object.Put(ctx, "uploads/abc/cat.png", strings.NewReader("png"), opt("image/png")); err != nil {
		t.Fatalf("the scoped key and type: %v", err)
	}
	_, err = c.Object.Put(ctx, "uploads/abc/dog.png", strings.NewReader("png"), opt("image/png"))
	denied("another key", err)
	_, err = c.Object.Put(ctx, "uploads/abc/cat.png", strings.NewReader("<html>"), opt("text/html"))
	denied("another type", err)
	_, err = c.Object.Put(ctx, "uploads/abc/cat.png", bytes.NewReader(make([]byte, 4<<20)), opt("image/png"))
	denied("more than the size", err)
	_, _, err = c.Bucket.Get(ctx, nil)
	denied("a bucket listing", err)
	_, err = c.Object.Get(ctx, "uploads/abc/cat.png", nil)
	denied("a read", err)
	_, err = c.Object.Delete(ctx, "uploads/abc/cat.png")
	denied("a delete", err)

	now = now.Add(2 * time.Hour)
	_, err = c.Object.Put(ctx, "uploads/abc/cat.png", strings.NewReader("png"), opt("image/png"))
	if e, ok := err.(*sdk.ErrorResponse); !ok || e.Code != "ExpiredToken" {
		t.Errorf("after the keys' end: %v", err)
	}
}
