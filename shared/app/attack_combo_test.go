package app

// The outside attack on combinations of features (temporary keys x client keys x open API
// uploads, ...): each test failed, printing HOLE, on the code before its fix.

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	sdk "github.com/tencentyun/cos-go-sdk-v5"

	"github.com/directup/directup/shared/functest"
	"github.com/directup/directup/shared/storage"
)

// A refused request for keys (409 key_busy: Alice's API upload to the key is open) left
// its declaration in the bucket, so Mallory's second request counted as renewing keys she
// held and skipped the open-upload check: keys for a key with Alice's API upload open,
// which list it, replace its part and complete it.
func TestAttackRefusedKeysLeaveNoRenewal(t *testing.T) {
	_, api := attackApp(t, nil)
	alice, mallory := functest.JWT(t, "alice", time.Now().Add(time.Hour)), functest.JWT(t, "mallory", time.Now().Add(time.Hour))
	key := "uploads/shared/alice-report.txt"
	content := "alice's honest report\n"
	var up struct {
		UploadID, Token string
		Parts           []struct{ URL string }
	}
	if s, _ := call(t, "POST", api+"/uploads", alice, "", map[string]any{"key": key, "contentType": "text/plain", "size": len(content)}, &up); s != 201 {
		t.Fatal(s)
	}
	var k stsKeys
	if s := do(t, "POST", api+"/sts", mallory, map[string]any{"key": key, "contentType": "text/plain", "size": 5}, &k); s != 409 || k.Error.Code != "key_busy" {
		t.Fatalf("first /sts with alice's upload open: %d %+v", s, k.Error)
	}
	k = stsKeys{}
	s := do(t, "POST", api+"/sts", mallory, map[string]any{"key": key, "contentType": "text/plain", "size": 5}, &k)
	if s == 409 && k.Error.Code == "key_busy" {
		return
	}
	t.Errorf("HOLE: second /sts for a key with another caller's API upload open answered %d %+v", s, k.Error)
	if s != 200 {
		return
	}
	c := sdkFor(k)
	ctx := context.Background()
	list, _, err := c.Bucket.ListMultipartUploads(ctx, &sdk.ListMultipartUploadsOptions{Prefix: key})
	if err != nil {
		t.Fatalf("list with mallory's keys: %v", err)
	}
	for _, u := range list.Uploads {
		if u.UploadID != up.UploadID {
			continue
		}
		t.Errorf("HOLE: mallory's keys list alice's open upload %s", u.UploadID)
		r, err := c.Object.UploadPart(ctx, key, u.UploadID, 1, strings.NewReader("evil!"), &sdk.ObjectUploadPartOptions{ContentLength: 5})
		if err != nil {
			t.Logf("part with mallory's keys: %v", err)
		} else {
			_, _, err = c.Object.CompleteMultipartUpload(ctx, key, u.UploadID, &sdk.CompleteMultipartUploadOptions{
				Parts: []sdk.Object{{PartNumber: 1, ETag: r.Header.Get("ETag")}}})
			t.Errorf("HOLE: mallory completed alice's upload with her own part: %v", err)
		}
	}
	_ = http.StatusOK
}

// /sts x UPLOAD_ALLOWED_STORAGE_CLASSES: the keys' CAM policy pins type and length only,
// so an SDK may store the object in any class — DEEP_ARCHIVE among them, which is
// unreadable until restored, so content verification could never read it (and which the
// deployment refused). The API and forms hold the class; the storage check must too.
func TestAttackKeysChooseTheStorageClass(t *testing.T) {
	a, api := attackApp(t, map[string]string{"UPLOAD_VERIFY_CONTENT": "true"})
	mallory := functest.JWT(t, "mallory", time.Now().Add(time.Hour))
	body := "plain text, in a class the deployment does not allow\n"
	var k stsKeys
	if s := do(t, "POST", api+"/sts", mallory, map[string]any{"filename": "a.txt", "contentType": "text/plain", "size": len(body)}, &k); s != 200 {
		t.Fatalf("sts %d %+v", s, k.Error)
	}
	if s := do(t, "POST", api+"/sts", mallory, map[string]any{"filename": "a.txt", "contentType": "text/plain", "size": len(body), "storageClass": "DEEP_ARCHIVE"}, nil); s != 400 && s != 403 {
		t.Fatalf("the API itself lets DEEP_ARCHIVE through: %d", s)
	}
	if _, err := sdkFor(k).Object.Put(context.Background(), k.Key, strings.NewReader(body),
		&sdk.ObjectPutOptions{ObjectPutHeaderOptions: &sdk.ObjectPutHeaderOptions{ContentType: "text/plain", XCosStorageClass: "DEEP_ARCHIVE"}}); err != nil {
		t.Fatal(err)
	}
	err := a.Service.ObjectCreated(context.Background(), k.Key)
	st, _ := a.Store.(storage.Objects).Stat(context.Background(), k.Key)
	if st.Exists {
		t.Errorf("HOLE: an object stored with /sts keys in class %q (the deployment allows only STANDARD) was kept (check: %v)", st.StorageClass, err)
	}
}
