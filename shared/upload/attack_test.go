package upload_test

// The outside attack on combinations of features: each test failed, printing HOLE, on the
// code before its fix.

import (
	"testing"

	"github.com/directup/directup/shared/errcode"
	"github.com/directup/directup/shared/policy"
	"github.com/directup/directup/shared/storage"
	"github.com/directup/directup/shared/upload"
	"github.com/directup/directup/shared/wire"
)

// forbidOverwrite x a repeated complete: the first complete reached storage and its
// caller (or the function) never got to the check; the repeat must answer and check this
// upload's own object, as without forbidOverwrite — not refuse it as "object_exists" and
// leave HTML declared as PNG in the bucket, unchecked and untold.
func TestAttackRepeatedCompleteWithForbidOverwrite(t *testing.T) {
	html := []byte("<html><script>alert(1)</script></html>" + string(make([]byte, 64)))
	run := func(t *testing.T, svc *upload.Service, store storage.Store, objects storage.Objects, send func(wire.PresignedPart, []byte) string) {
		size := int64(len(html))
		in, err := svc.Initiate(bg, &policy.InitiateRequest{Filename: "a.png", ContentType: "image/png", Size: &size, ForbidOverwrite: true})
		if err != nil {
			t.Fatal(err)
		}
		parts := []wire.CompletedPart{{PartNumber: 1, ETag: send(in.Parts[0], html)}}
		if _, err := store.Complete(bg, in.Key, in.UploadID, parts, storage.CompleteOptions{ForbidOverwrite: true, ObjectSize: &size, PartChecksums: store.Capabilities().PartChecksums}); err != nil {
			t.Fatal(err)
		}
		_, err = svc.Complete(bg, in.Token, in.UploadID, parts)
		info, _ := objects.Stat(bg, in.Key)
		if errcode.As(err).Code != errcode.ContentMismatch || info.Exists {
			t.Errorf("HOLE: repeated complete of a forbidOverwrite upload answered %v; HTML declared as PNG kept: %v", err, info.Exists)
		}
	}
	t.Run("COS", func(t *testing.T) {
		r := newRig(t, nil)
		run(t, r.svc, r.store, r.store, func(p wire.PresignedPart, b []byte) string { e, _ := send(t, p, b); return e })
	})
	t.Run("S3", func(t *testing.T) {
		svc, c, _, _ := s3Service(t, nil)
		run(t, svc, c, c, func(p wire.PresignedPart, b []byte) string { e, _ := send(t, p, b); return e })
	})
}
