package upload_test

// Tests added by the mutation audit: each kills a mutant of a guarantee's keeping line
// that the suite let pass before (named in the test's comment).

import (
	"bytes"
	"net/http"
	"testing"
	"time"

	"github.com/directup/directup/shared/credentials"
	"github.com/directup/directup/shared/errcode"
	"github.com/directup/directup/shared/functest"
	"github.com/directup/directup/shared/policy"
	"github.com/directup/directup/shared/s3"
	"github.com/directup/directup/shared/storage"
	"github.com/directup/directup/shared/upload"
	"github.com/directup/directup/shared/wire"
)

// s3Quiet is the service over versitygw without events and without content
// verification: the deployment where nothing but the store's own size check holds a
// pinned upload's object to its declared size (the service reads nothing back).
func s3Quiet(t *testing.T) (*upload.Service, *s3.Client) {
	t.Helper()
	endpoint := functest.Versitygw(t, "quiet")
	c, err := s3.New(s3.Config{Bucket: "quiet", Region: "us-east-1", Endpoint: endpoint},
		credentials.Static{AccessKeyID: functest.S3Creds[0], SecretAccessKey: functest.S3Creds[1]}, nil)
	if err != nil {
		t.Fatal(err)
	}
	p := policy.Default()
	p.DefaultPartSize = 5 << 20
	p.VerifyContent = false
	svc, err := upload.NewService(c, p, []byte("0123456789abcdef0123456789abcdef"))
	if err != nil {
		t.Fatal(err)
	}
	return svc, c
}

// "Exactly what was declared ... the assembled object is the declared size", on S3 with
// no events and no verification: the complete carries x-amz-mp-object-size, so S3 refuses
// parts (one stored a byte long with other credentials) that do not add up to the
// declared size, and no object is made. Kills: complete.go `opts.ObjectSize = &plan.Size`
// removed (checkStored reads nothing back there, so the object stayed).
func TestMutauditS3CompleteHoldsTheDeclaredSize(t *testing.T) {
	svc, c := s3Quiet(t)
	const mib = 1 << 20
	size := int64(5*mib + 6)
	in, err := svc.Initiate(bg, &policy.InitiateRequest{Filename: "f.bin", ContentType: "application/octet-stream", Size: &size})
	if err != nil {
		t.Fatal(err)
	}
	if len(in.Parts) != 2 {
		t.Fatalf("%d parts; want 2", len(in.Parts))
	}
	e1, status := send(t, in.Parts[0], bytes.Repeat([]byte("a"), 5*mib))
	if status != 200 {
		t.Fatalf("part 1: %d", status)
	}
	// Part 2 stored a byte long through a URL the store signs for 7 bytes (other credentials).
	p, err := c.Presign(bg, &storage.PresignRequest{Key: in.Key, UploadID: in.UploadID, TTL: time.Hour,
		Parts: []wire.PartSpec{{Number: 2, Size: 7}}})
	if err != nil {
		t.Fatal(err)
	}
	e2, status := send(t, p.Parts[0], []byte("bbbbbbb"))
	if status != 200 {
		t.Fatalf("sideloading part 2: %d", status)
	}
	_, err = svc.Complete(bg, in.Token, in.UploadID, []wire.CompletedPart{{PartNumber: 1, ETag: e1}, {PartNumber: 2, ETag: e2}})
	wantError(t, "parts a byte over the declared size", err, http.StatusConflict, errcode.InvalidPart, "parts")
	if info, err := c.Stat(bg, in.Key); err != nil || info.Exists {
		t.Errorf("an object of another size than declared was made: %+v (%v)", info, err)
	}
}

// "The assembled object is the declared size", a byte over: a part stored a byte longer
// than its plan with other credentials makes an object larger than declared, which the
// complete's read removes (409 invalid_part). Kills: verify.go `info.Size != done.Size`
// weakened to `<` (only short objects were tested).
func TestMutauditCompleteRefusesAnObjectOverTheDeclaredSize(t *testing.T) {
	r := newRig(t, nil)
	in := r.initiate(t, 6, 0)
	etag := r.sideload(t, in.Key, in.UploadID, 1, []byte("sevenby"))
	_, err := r.svc.Complete(bg, in.Token, in.UploadID, []wire.CompletedPart{{PartNumber: 1, ETag: etag}})
	wantError(t, "a part one byte over its plan", err, http.StatusConflict, errcode.InvalidPart, "parts")
	if info, _ := r.store.Stat(bg, in.Key); info.Exists {
		t.Errorf("%s: an object larger than declared was left (%d bytes)", in.Key, info.Size)
	}
}

// An open upload's minimum (UPLOAD_MIN_SIZE), known only at complete: exactly the
// minimum completes, a byte under is 400. Kills: complete.go `named < min` weakened to
// `named < min-1`.
func TestMutauditOpenUploadAtTheMinimum(t *testing.T) {
	r := newRig(t, func(p *policy.Policy) { p.MinSize = 10 })
	for _, n := range []int{10, 9} {
		in, err := r.svc.InitiateOpen(bg, "f.bin", "application/octet-stream", "")
		if err != nil {
			t.Fatal(err)
		}
		urls, err := r.svc.PresignParts(bg, in.Token, in.UploadID, []int{1}, "")
		if err != nil {
			t.Fatal(err)
		}
		etag, status := send(t, urls.Parts[0], bytes.Repeat([]byte("x"), n))
		if status != 200 {
			t.Fatalf("an open part of %d bytes: %d", n, status)
		}
		done, err := r.svc.Complete(bg, in.Token, in.UploadID, []wire.CompletedPart{{PartNumber: 1, ETag: etag}})
		if n == 10 {
			if err != nil || done.Size != 10 {
				t.Fatalf("exactly the minimum: %v %+v", err, done)
			}
			continue
		}
		wantError(t, "one byte under the minimum", err, http.StatusBadRequest, errcode.InvalidField, "parts")
		if info, _ := r.store.Stat(bg, in.Key); info.Exists {
			t.Errorf("%s: an object under the minimum was made", in.Key)
		}
	}
}
