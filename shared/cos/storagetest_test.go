package cos_test

import (
	"net/http"
	"net/http/httptest"
	"os"
	"testing"
	"time"

	"github.com/directup/directup/shared/cos"
	"github.com/directup/directup/shared/cos/cossign"
	"github.com/directup/directup/shared/credentials"
	"github.com/directup/directup/shared/localcos"
	"github.com/directup/directup/shared/storage/storagetest"
)

// The COS store passes the conformance suite against the local store, which verifies
// COS signatures for real.
func TestConformance(t *testing.T) {
	storagetest.Run(t, func(t *testing.T, o storagetest.Options) storagetest.Fixture {
		cred := cossign.Credentials{SecretID: "AKIDconformance", SecretKey: "conformance-secret", SessionToken: "conformance-token"}
		store, err := localcos.New(t.TempDir(), "local-1250000000", cred)
		if err != nil {
			t.Fatal(err)
		}
		srv := httptest.NewServer(store)
		t.Cleanup(srv.Close)
		httpClient := o.HTTP
		if httpClient == nil {
			httpClient = &http.Client{}
		}
		c, err := cos.New(cos.Config{Bucket: "local-1250000000", Endpoint: srv.URL}, credentials.Static{
			AccessKeyID: cred.SecretID, SecretAccessKey: cred.SecretKey, SessionToken: cred.SessionToken, Expires: o.CredentialsExpire,
		}, httpClient)
		if err != nil {
			t.Fatal(err)
		}
		c.BaseDelay, c.MaxDelay = 5*time.Millisecond, 20*time.Millisecond
		if o.Now != nil {
			c.Now = o.Now
		}
		return storagetest.Fixture{Store: c,
			Read: func(key string) ([]byte, error) { return os.ReadFile(store.ObjectPath(key)) }}
	})
}
