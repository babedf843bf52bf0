package companion_test

import (
	"context"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/directup/directup/shared/companion"
	"github.com/directup/directup/shared/functest"
	"github.com/directup/directup/shared/policy"
	"github.com/directup/directup/shared/signed"
	"github.com/directup/directup/shared/upload"
)

// A capability ends at its expiry second, not a second later: used in the very second
// it expires it is 401 token_expired. Kills: companion.go:verify `>=` weakened to `>`.
func TestMutauditCapabilityEndsAtItsExpiry(t *testing.T) {
	e := setup(t, false, 1<<20)
	end := time.Unix(time.Now().Unix()+1, 0)
	c, exp := e.comp.Mint("alice", end)
	if !exp.Equal(end) {
		t.Fatalf("the capability ends %v; want %v", exp, end)
	}
	time.Sleep(time.Until(end) + 50*time.Millisecond) // within the second it expires
	var out struct{ Error struct{ Code string } }
	s := call(t, "POST", e.url+"/c/"+c+"/s3/multipart", map[string]any{"filename": "a.txt", "type": "text/plain", "metadata": map[string]any{"size": 5}}, &out)
	if s != 401 || out.Error.Code != "token_expired" {
		t.Fatalf("a capability used in its expiry second: %d %+v; want 401 token_expired", s, out.Error)
	}
}

// Capabilities and upload tokens never verify as each other, with keys that may rotate
// too (the secret read from a store: Options.Keys): alice's upload token used as a
// capability is 401, alice's capability as an upload token is refused. Kills:
// companion.go:capabilities with Keys signing under the upload tokens' domain and version.
func TestMutauditCapabilitiesAreNotUploadTokens(t *testing.T) {
	backend := functest.NewBackend(t)
	p := policy.Default()
	p.KeyTemplate = "uploads/{sub}/{random}/{filename}"
	svc, err := upload.NewService(backend.Client(t), p, nil, upload.WithKeys(signed.Fixed([]byte(secret))))
	if err != nil {
		t.Fatal(err)
	}
	comp := companion.New(svc, companion.Options{Keys: signed.Fixed([]byte(secret)), TTL: time.Hour})
	srv := httptest.NewServer(comp)
	t.Cleanup(srv.Close)

	alice := upload.WithCaller(context.Background(), "alice")
	size := int64(5)
	in, err := svc.Initiate(alice, &policy.InitiateRequest{Filename: "a.txt", ContentType: "text/plain", Size: &size})
	if err != nil {
		t.Fatal(err)
	}
	var out struct{ Error struct{ Code string } }
	s := call(t, "POST", srv.URL+"/c/"+in.Token+"/s3/multipart", map[string]any{"filename": "a.txt", "type": "text/plain", "metadata": map[string]any{"size": 5}}, &out)
	if s != 401 {
		t.Errorf("an upload token as a capability: %d %+v; want 401", s, out.Error)
	}
	c, _ := comp.Mint("alice", time.Time{})
	if _, err := svc.Upload(alice, c); err == nil {
		t.Error("a capability verified as an upload token")
	}
	if s := call(t, "POST", srv.URL+"/c/"+c+"/s3/multipart", map[string]any{"filename": "a.txt", "type": "text/plain", "metadata": map[string]any{"size": 5}}, nil); s != 200 {
		t.Fatalf("the capability itself: %d", s)
	}
}
