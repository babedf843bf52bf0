package localcos_test

import (
	"context"
	"testing"
	"time"

	"github.com/directup/directup/shared/cos"
	"github.com/directup/directup/shared/cos/campolicy"
	"github.com/directup/directup/shared/credentials"
	"github.com/directup/directup/shared/functest"
	"github.com/directup/directup/shared/localcos"
	"github.com/directup/directup/shared/storage"
	"github.com/directup/directup/shared/storage/storagetest"
)

// The stand-in holds a form signed with temporary keys to their scope, as COS's CAM does:
// keys allowed to POST one key cannot POST another (403, nothing stored), and their own
// key is taken. Kills: localcos/form.go:storeForm's scope check dropped (then every test
// relying on the stand-in to model scoped keys would pass whatever the keys' policy).
func TestMutauditFormsWithTemporaryKeysKeepToTheirScope(t *testing.T) {
	b := functest.NewBackend(t)
	const bucket = "local-1250000000"
	scope := campolicy.Policy{Version: "2.0", Statement: []campolicy.Statement{{Effect: "allow",
		Action: []string{"name/cos:PostObject"}, Resource: []string{campolicy.RequestResource(localcos.Region, bucket, "uploads/mine.txt")}}}}
	k, exp := b.Store.MintTemporary(scope, time.Hour)
	c, err := cos.New(cos.Config{Bucket: bucket, Endpoint: b.URL}, credentials.Static{
		AccessKeyID: k.SecretID, SecretAccessKey: k.SecretKey, SessionToken: k.SessionToken, Expires: exp}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for key, want := range map[string]int{"uploads/mine.txt": 204, "uploads/theirs.txt": 403} {
		f, err := c.PresignForm(context.Background(), &storage.FormRequest{Object: &storage.Object{Key: key, ContentType: "text/plain"},
			MinSize: 0, MaxSize: 10, TTL: 10 * time.Minute})
		if err != nil {
			t.Fatal(err)
		}
		status, body, err := storagetest.PostForm(f, f.Fields, []byte("hello"))
		if err != nil {
			t.Fatal(err)
		}
		if (want < 300) != (status < 300) || want >= 300 && status != want {
			t.Errorf("%s: %d %s; want %d", key, status, body, want)
		}
		info, err := b.Client(t).Stat(context.Background(), key)
		if err != nil {
			t.Fatal(err)
		}
		if info.Exists != (want < 300) {
			t.Errorf("%s: stored %v", key, info.Exists)
		}
	}
}
