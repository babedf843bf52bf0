// Package localmode is the store local mode runs on: the embedded COS-compatible server
// (shared/localcos) on a loopback port, driven through the same COS client as a real
// bucket, with fresh random keys each run. It registers itself as the fallback store (used
// when no bucket is configured); only development builds link it — functions/api imports
// it from a file that scripts/build's production builds exclude (build tag nolocal).
package localmode

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/directup/directup/shared/cos"
	"github.com/directup/directup/shared/cos/campolicy"
	"github.com/directup/directup/shared/cos/cossign"
	"github.com/directup/directup/shared/credentials"
	"github.com/directup/directup/shared/localcos"
	"github.com/directup/directup/shared/policy"
	"github.com/directup/directup/shared/storage"
	"github.com/directup/directup/shared/stores"
)

// Bucket is the bucket name local mode pretends to serve.
const Bucket = "local-1250000000"

func init() {
	stores.Register(stores.Driver{Name: "local", Selector: "LOCAL_COS_DIR", Fallback: true,
		NewSettings: func() stores.Settings { return &Settings{} }})
}

// Settings are local mode's variables.
type Settings struct {
	Dir  string `envconfig:"LOCAL_COS_DIR"` // where objects are kept (a temporary folder if unset)
	Addr string `envconfig:"LOCAL_COS_ADDR" default:"127.0.0.1:0"`
}

// Configured is false: local mode is what runs when nothing is configured.
func (s *Settings) Configured() bool { return false }

// Validate accepts every policy: the embedded store does all COS does.
func (s *Settings) Validate(*policy.Policy) error { return nil }

// Store is the COS client over the embedded server.
type Store struct {
	*cos.Client
	Server   *localcos.Server
	endpoint string
	dir      string
	kept     bool // dir is LOCAL_COS_DIR's, not a temporary folder removed at Close
	close    func() error
}

var _ storage.Embedded = (*Store)(nil)

// EmbeddedEndpoint is the embedded server's base URL.
func (s *Store) EmbeddedEndpoint() string { return s.endpoint }

// Folder is where objects are kept, and whether they outlive the process (LOCAL_COS_DIR
// named the folder) or go with its temporary folder.
func (s *Store) Folder() (dir string, kept bool) { return s.dir, s.kept }

// OnFormUpload implements storage.Embedded: the embedded server tells each form upload.
func (s *Store) OnFormUpload(f func(key string)) { s.Server.OnFormUpload(f) }

// Close stops the server and removes a temporary folder.
func (s *Store) Close() error { return s.close() }

// Open starts the embedded server on its loopback port.
func (s *Settings) Open(httpClient *http.Client) (storage.Store, error) {
	dir, cleanup := s.Dir, func() {}
	if dir == "" {
		var err error
		if dir, err = os.MkdirTemp("", "directup-local-"); err != nil {
			return nil, err
		}
		cleanup = func() { os.RemoveAll(dir) }
	}
	// Fresh random keys each run: local mode signs and verifies for real.
	cred := cossign.Credentials{SecretID: "AKIDlocal" + randomHex(8), SecretKey: randomHex(20), SessionToken: "local-" + randomHex(16)}
	srv, err := localcos.New(dir, Bucket, cred)
	if err != nil {
		cleanup()
		return nil, err
	}
	ln, err := net.Listen("tcp", s.Addr)
	if err != nil {
		cleanup()
		return nil, fmt.Errorf("LOCAL_COS_ADDR: %w", err)
	}
	// Parts are large and may come slowly: no read timeout, but idle connections end.
	hs := &http.Server{Handler: srv, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 60 * time.Second}
	go hs.Serve(ln)
	endpoint := "http://" + ln.Addr().String()
	client, err := cos.New(cos.Config{Bucket: Bucket, Region: localcos.Region, Endpoint: endpoint}, credentials.Static{
		AccessKeyID: cred.SecretID, SecretAccessKey: cred.SecretKey, SessionToken: cred.SessionToken,
	}, httpClient)
	if err != nil {
		hs.Close()
		cleanup()
		return nil, err
	}
	// Local mode's stand-in for Tencent STS: the embedded store mints the scoped keys and
	// holds them to their policy as COS would.
	client.Issuer = func(_ context.Context, policy string, ttl time.Duration) (credentials.Value, string, error) {
		var p campolicy.Policy
		if err := json.Unmarshal([]byte(policy), &p); err != nil {
			return credentials.Value{}, "", err
		}
		k, expires := srv.MintTemporary(p, ttl)
		return credentials.Value{AccessKeyID: k.SecretID, SecretAccessKey: k.SecretKey, SessionToken: k.SessionToken, Expires: expires},
			"local-" + randomHex(8), nil
	}
	return &Store{Client: client, Server: srv, endpoint: endpoint, dir: dir, kept: s.Dir != "", close: func() error {
		err := hs.Shutdown(context.Background())
		cleanup()
		return errors.Join(err)
	}}, nil
}

// randomHex is n random bytes in hex (local mode's keys and secrets).
func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}
