package s3

import (
	"net/http"
	"testing"
	"time"

	"github.com/directup/directup/shared/credentials"
	"github.com/directup/directup/shared/functest"
	"github.com/directup/directup/shared/storage/storagetest"
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
