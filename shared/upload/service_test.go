package upload_test

import (
	"context"
	"errors"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/directup/directup/shared/cos"
	"github.com/directup/directup/shared/cos/cossign"
	"github.com/directup/directup/shared/credentials"
	"github.com/directup/directup/shared/errcode"
	"github.com/directup/directup/shared/localcos"
	"github.com/directup/directup/shared/policy"
	"github.com/directup/directup/shared/upload"
)

// TestInitiateLeavesNoOrphan: when the part URLs cannot be signed after COS has created
// the upload, the caller never learns the UploadId, so the service aborts it.
func TestInitiateLeavesNoOrphan(t *testing.T) {
	cred := cossign.Credentials{SecretID: "AKIDtest", SecretKey: "secret", SessionToken: "tok"}
	store, err := localcos.New(t.TempDir(), "local-1250000000", cred)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(store)
	defer srv.Close()
	// Credentials that expire in 30 s: good enough to sign a request, too short for part URLs.
	client, err := cos.New(cos.Config{Bucket: "local-1250000000", Endpoint: srv.URL}, credentials.Static{
		AccessKeyID: cred.SecretID, SecretAccessKey: cred.SecretKey, SessionToken: cred.SessionToken,
		Expires: time.Now().Add(30 * time.Second)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	svc, err := upload.NewService(client, policy.Default(), []byte("0123456789abcdef0123456789abcdef"))
	if err != nil {
		t.Fatal(err)
	}
	size := int64(10)
	_, err = svc.Initiate(context.Background(), &policy.InitiateRequest{Filename: "a", ContentType: "text/plain", Size: &size})
	var e *errcode.Error
	if !errors.As(err, &e) || e.Code != errcode.CredentialsFailed {
		t.Fatalf("err = %v, want 503 credentials_unavailable", err)
	}
	if store.Requests() != 2 || store.Uploads() != 0 {
		t.Fatalf("store saw %d requests and holds %d uploads; want initiate then abort, nothing left", store.Requests(), store.Uploads())
	}
}

func TestNewServiceRefusesWeakSecret(t *testing.T) {
	if _, err := upload.NewService(nil, policy.Default(), []byte("short")); err == nil {
		t.Fatal("a short token secret must be refused")
	}
}
