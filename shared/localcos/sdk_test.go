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

	sdk "github.com/tencentyun/cos-go-sdk-v5"
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
