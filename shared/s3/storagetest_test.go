package s3

import (
	"context"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/directup/directup/shared/credentials"
	"github.com/directup/directup/shared/errcode"
	"github.com/directup/directup/shared/functest"
	"github.com/directup/directup/shared/storage"
	"github.com/directup/directup/shared/storage/storagetest"
	"github.com/directup/directup/shared/storerest"
	"github.com/directup/directup/shared/wire"
)

// The S3 store passes the conformance suite against versitygw, a real S3 server.
func TestConformance(t *testing.T) {
	storagetest.Run(t, func(t *testing.T, o storagetest.Options) storagetest.Fixture {
		endpoint := functest.Versitygw(t, "conformance")
		creds := credentials.Static{AccessKeyID: functest.S3Creds[0], SecretAccessKey: functest.S3Creds[1], Expires: o.CredentialsExpire}
		c, err := New(Config{Bucket: "conformance", Region: "us-east-1", Endpoint: endpoint}, creds, o.HTTP)
		if err != nil {
			t.Fatal(err)
		}
		c.BaseDelay, c.MaxDelay = 5*time.Millisecond, 20*time.Millisecond
		if o.Now != nil {
			c.Now = o.Now
		}
		return storagetest.Fixture{Store: c, Read: func(key string) ([]byte, error) {
			a := functest.S3Do(t, endpoint, http.MethodGet, c.pathPrefix+"/"+escapePath(key))
			return a.Body, nil
		}}
	})
}

// S3 checks the declared size in the complete itself (x-amz-mp-object-size): parts that
// do not add up to it are refused (invalid_part), and no object is made.
func TestCompleteChecksTheObjectSize(t *testing.T) {
	endpoint := functest.Versitygw(t, "objectsize")
	c, err := New(Config{Bucket: "objectsize", Region: "us-east-1", Endpoint: endpoint},
		credentials.Static{AccessKeyID: functest.S3Creds[0], SecretAccessKey: functest.S3Creds[1]}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, tt := range []struct {
		declared int64
		ok       bool
	}{{5, true}, {6, false}} {
		key := "sized/" + strconv.FormatInt(tt.declared, 10)
		id, err := c.Initiate(ctx, &storage.Object{Key: key, ContentType: "text/plain"})
		if err != nil {
			t.Fatal(err)
		}
		p, err := c.Presign(ctx, &storage.PresignRequest{Key: key, UploadID: id, Parts: []wire.PartSpec{{Number: 1, Size: 5}}, TTL: time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		etag, err := wire.PutPart(ctx, http.DefaultClient, p.Parts[0], []byte("hello"), nil)
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.Complete(ctx, key, id, []wire.CompletedPart{{PartNumber: 1, ETag: etag}}, storage.CompleteOptions{ObjectSize: &tt.declared})
		if tt.ok != (err == nil) || (!tt.ok && errcode.As(err).Code != errcode.InvalidPart) {
			t.Errorf("declared %d: %v", tt.declared, err)
		}
		if info, _ := c.Stat(ctx, key); info.Exists != tt.ok {
			t.Errorf("declared %d: object exists %v", tt.declared, info.Exists)
		}
	}
}

// A ranged read of an empty object (S3 answers 416 to any range of nothing) is an empty
// head with the object's info: an empty upload's content check passes.
func TestReadHeadOfAnEmptyObject(t *testing.T) {
	endpoint := functest.Versitygw(t, "empty")
	c, err := New(Config{Bucket: "empty", Region: "us-east-1", Endpoint: endpoint},
		credentials.Static{AccessKeyID: functest.S3Creds[0], SecretAccessKey: functest.S3Creds[1]}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, _, err := c.Do(ctx, storerest.Call{Method: http.MethodPut, Key: "e/empty.txt", Header: http.Header{"Content-Type": {"text/plain"}}}); err != nil {
		t.Fatal(err)
	}
	head, info, err := c.ReadHead(ctx, "e/empty.txt", 3072)
	if err != nil || len(head) != 0 || !info.Exists || info.Size != 0 || info.ContentType != "text/plain" {
		t.Fatalf("ReadHead of an empty object: %q %+v %v", head, info, err)
	}
}
