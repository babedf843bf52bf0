// Package config reads directup's settings from the environment (with envconfig) and
// wires the upload service: the COS store with role or AssumeRole credentials, or, when
// no bucket is configured, the embedded local store.
package config

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"reflect"
	"strings"
	"time"

	"github.com/kelseyhightower/envconfig"

	"github.com/directup/directup/shared/auth"
	"github.com/directup/directup/shared/companion"
	"github.com/directup/directup/shared/cos"
	"github.com/directup/directup/shared/cos/cossign"
	"github.com/directup/directup/shared/credentials"
	"github.com/directup/directup/shared/httpapi"
	"github.com/directup/directup/shared/localcos"
	"github.com/directup/directup/shared/platform"
	"github.com/directup/directup/shared/s3"
	"github.com/directup/directup/shared/upload"
	"github.com/directup/directup/web"
)

// Config is every setting. Each field names its environment variable.
type Config struct {
	// Where the API listens in local mode and as an SCF web function.
	Port string `envconfig:"PORT" default:"8080"`
	Host string `envconfig:"HOST"`

	Bucket   string `envconfig:"COS_BUCKET"`
	Region   string `envconfig:"COS_REGION"`
	Endpoint string `envconfig:"COS_ENDPOINT"`

	// Amazon S3 instead of COS (signed with the Lambda role's AWS_* credentials).
	S3Bucket   string `envconfig:"S3_BUCKET"`
	S3Region   string `envconfig:"S3_REGION"`
	S3Endpoint string `envconfig:"S3_ENDPOINT"`

	// Optional AssumeRole: the role whose keys sign COS requests.
	RoleARN         string        `envconfig:"COS_ROLE_ARN"`
	RoleSessionName string        `envconfig:"COS_ROLE_SESSION_NAME" default:"directup"`
	RoleDuration    time.Duration `envconfig:"COS_ROLE_DURATION" default:"2h"`
	STSEndpoint     string        `envconfig:"STS_ENDPOINT"`

	TokenSecret string   `envconfig:"UPLOAD_TOKEN_SECRET"`
	CORSOrigins []string `envconfig:"API_CORS_ORIGINS" default:"*"`
	BasePath    string   `envconfig:"API_BASE_PATH"`
	// PublicURL is the API's external base URL, for the companionEndpoint of capabilities
	// (derived from the request when unset).
	PublicURL string `envconfig:"API_PUBLIC_URL"`
	// CapabilityTTL is how long a capability (Uppy's companionEndpoint) stays valid, at
	// most (never beyond the minting caller's JWT).
	CapabilityTTL time.Duration `envconfig:"API_CAPABILITY_TTL" default:"1h"`
	// CompanionOpenUploads lets Uppy start uploads without declaring a size: their part
	// URLs pin no size, so the size limit is enforced only at complete.
	CompanionOpenUploads bool `envconfig:"API_COMPANION_OPEN_UPLOADS" default:"false"`
	// RequestTimeout bounds one API request, storage retries included.
	RequestTimeout time.Duration `envconfig:"API_REQUEST_TIMEOUT" default:"15s"`

	// Queue function: callbacks are signed with this secret and may go to these hosts.
	QueueCallbackSecret string   `envconfig:"QUEUE_CALLBACK_SECRET"`
	QueueCallbackHosts  []string `envconfig:"QUEUE_CALLBACK_ALLOWED_HOSTS"`

	// Local mode only.
	LocalDir  string `envconfig:"LOCAL_COS_DIR"`
	LocalAddr string `envconfig:"LOCAL_COS_ADDR" default:"127.0.0.1:0"`

	upload.Policy
	auth.Settings
}

// Local reports whether no bucket is configured: the embedded store is used.
func (c *Config) Local() bool { return c.Bucket == "" && c.S3Bucket == "" }

// Load reads and checks the environment; an error is one line naming the variable.
func Load() (*Config, error) {
	// An empty value counts as unset, so a deployment template can pass "" for "default"
	// (SAM parameters and serverless.yml variables often do).
	for _, kv := range os.Environ() {
		name, value, _ := strings.Cut(kv, "=")
		if value == "" && ours(name) {
			os.Unsetenv(name)
		}
	}
	var c Config
	if err := envconfig.Process("", &c); err != nil {
		return nil, errors.New("config: " + strings.TrimPrefix(err.Error(), "envconfig.Process: "))
	}
	if err := c.Policy.Validate(); err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	if err := c.Settings.Validate(); err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	if c.CapabilityTTL < time.Minute || c.CapabilityTTL > 24*time.Hour {
		return nil, errors.New("config: API_CAPABILITY_TTL: must be between 1m and 24h")
	}
	if c.RequestTimeout < time.Second || c.RequestTimeout > 15*time.Minute {
		return nil, errors.New("config: API_REQUEST_TIMEOUT: must be between 1s and 15m")
	}
	if c.BasePath != "" && (!strings.HasPrefix(c.BasePath, "/") || strings.HasSuffix(c.BasePath, "/")) {
		return nil, errors.New("config: API_BASE_PATH: must start with '/' and not end with one, like /api")
	}
	if c.Local() {
		return &c, nil
	}
	switch {
	case c.Bucket != "" && c.S3Bucket != "":
		return nil, errors.New("config: COS_BUCKET and S3_BUCKET: set one storage, not both")
	case c.S3Bucket != "":
		if _, err := s3.New(s3.Config{Bucket: c.S3Bucket, Region: c.S3Region, Endpoint: c.S3Endpoint}, nil, nil); err != nil {
			return nil, fmt.Errorf("config: %w", err)
		}
	default:
		if err := (cos.Config{Bucket: c.Bucket, Region: c.Region, Endpoint: c.Endpoint}).Validate(); err != nil {
			return nil, fmt.Errorf("config: %w", err)
		}
	}
	if len(c.TokenSecret) < 32 {
		return nil, errors.New("config: UPLOAD_TOKEN_SECRET: required, at least 32 characters (e.g. openssl rand -hex 32)")
	}
	if c.RoleARN != "" && !strings.HasPrefix(c.RoleARN, "qcs::cam::uin/") {
		return nil, errors.New("config: COS_ROLE_ARN: must look like qcs::cam::uin/<uin>:roleName/<name>")
	}
	if c.STSEndpoint != "" {
		if u, err := url.Parse(c.STSEndpoint); err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
			return nil, errors.New("config: STS_ENDPOINT: must be a URL like https://sts.tencentcloudapi.com")
		}
	}
	return &c, nil
}

// Variables lists every environment variable directup reads, for checks of deployment
// files: the settings above plus the role credentials SCF injects.
func Variables() []string {
	names := []string{"TENCENTCLOUD_SECRETID", "TENCENTCLOUD_SECRETKEY", "TENCENTCLOUD_SESSIONTOKEN",
		"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"}
	var walk func(t reflect.Type)
	walk = func(t reflect.Type) {
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			if f.Anonymous {
				walk(f.Type)
			} else if name := f.Tag.Get("envconfig"); name != "" {
				names = append(names, name)
			}
		}
	}
	walk(reflect.TypeOf(Config{}))
	return names
}

func ours(name string) bool {
	for _, p := range []string{"COS_", "S3_", "UPLOAD_", "API_", "LOCAL_COS_", "STS_", "AUTH_", "QUEUE_"} {
		if strings.HasPrefix(name, p) {
			return true
		}
	}
	return name == "PORT" || name == "HOST"
}

// Addr is the listen address: loopback in local mode unless HOST says otherwise.
func (c *Config) Addr() string {
	host := c.Host
	if host == "" && c.Local() {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, c.Port)
}

// App is a wired service, with the local store when one runs.
type App struct {
	Service  *upload.Service
	secret   []byte
	Auth     *auth.Authenticator
	Store    Storage
	Local    *localcos.Server // nil outside local mode
	LocalURL string
	close    func()
}

// Storage is a store the service drives that can also keep the queue function's markers
// (the COS and S3 clients).
type Storage interface {
	upload.Store
	PutMarker(ctx context.Context, key string, body []byte) (bool, error)
	GetMarker(ctx context.Context, key string) ([]byte, bool, error)
}

// Close stops the local store, if any.
func (a *App) Close() {
	if a.close != nil {
		a.close()
	}
}

// Build wires the service. Nothing here touches the network except starting the local
// store's listener in local mode: credentials are fetched lazily, per request.
func (c *Config) Build() (*App, error) {
	httpClient := &http.Client{Transport: http.DefaultTransport}
	if c.Local() {
		return c.buildLocal(httpClient)
	}
	var store Storage
	if c.S3Bucket != "" {
		aws := &credentials.Env{IDVar: "AWS_ACCESS_KEY_ID", KeyVar: "AWS_SECRET_ACCESS_KEY", TokenVar: "AWS_SESSION_TOKEN"}
		s3c, err := s3.New(s3.Config{Bucket: c.S3Bucket, Region: c.S3Region, Endpoint: c.S3Endpoint}, aws, httpClient)
		if err != nil {
			return nil, err
		}
		store = s3c
	} else {
		cosc, err := c.cosStore(httpClient)
		if err != nil {
			return nil, err
		}
		store = cosc
	}
	svc, err := upload.NewService(store, c.Policy, []byte(c.TokenSecret))
	if err != nil {
		return nil, err
	}
	authn, err := auth.New(c.Settings)
	if err != nil {
		return nil, err
	}
	return &App{Service: svc, secret: []byte(c.TokenSecret), Auth: authn, Store: store}, nil
}

func (c *Config) cosStore(httpClient *http.Client) (*cos.Client, error) {
	var creds credentials.Provider = credentials.SCFRole()
	if c.RoleARN != "" {
		ar := &credentials.AssumeRole{Base: creds, RoleARN: c.RoleARN, SessionName: c.RoleSessionName,
			Duration: c.RoleDuration, Region: c.Region}
		if c.STSEndpoint != "" {
			u, _ := url.Parse(c.STSEndpoint)
			ar.Endpoint, ar.Scheme = u.Host, strings.ToUpper(u.Scheme)
		}
		creds = ar
	}
	return cos.New(cos.Config{Bucket: c.Bucket, Region: c.Region, Endpoint: c.Endpoint}, creds, httpClient)
}

// Handler is the whole HTTP surface: the JSON API, Uppy's Companion S3 protocol
// (/s3/..., /c/<capability>/s3/..., POST /capabilities), the client module
// (/directup.js), and in local mode the demo page (/) and download links.
func (a *App) Handler(c *Config, logger *slog.Logger) http.Handler {
	api := httpapi.New(a.Service, httpapi.Options{CORSOrigins: c.CORSOrigins, BasePath: c.BasePath, Auth: a.Auth,
		RequestTimeout: c.RequestTimeout, Logger: logger})
	comp := companion.New(a.Service, companion.Options{Secret: a.secret, Anonymous: a.Auth.Mode() == auth.ModeNone,
		TTL: c.CapabilityTTL, OpenUploads: c.CompanionOpenUploads})
	// Uppy sends no Authorization header: its routes check their capability themselves.
	api.HandlePublic("/s3/", comp)
	api.HandlePublic("/c/", comp)
	api.Handle("POST /capabilities", comp.MintHandler(func(r *http.Request) string {
		if c.PublicURL != "" {
			return strings.TrimSuffix(c.PublicURL, "/")
		}
		if base := platform.PublicURL(r.Context()); base != "" {
			return base + c.BasePath // the gateway's stage put back, then the fixed prefix
		}
		if r.Host == "" {
			return "" // nothing tells the public address: API_PUBLIC_URL must
		}
		scheme := "http"
		if r.TLS != nil || r.Header.Get("X-Forwarded-Proto") == "https" {
			scheme = "https"
		}
		return scheme + "://" + r.Host + c.BasePath
	}))
	api.HandlePublic("GET /directup.js", http.FileServerFS(web.Files))
	if a.Local != nil {
		api.HandlePublic("GET /{$}", http.FileServerFS(web.Files))
		// Behind AUTH_MODE like /uploads: a key alone does not open an object.
		api.Handle("GET /local/download", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			dl, ok := a.Store.(upload.Downloader)
			if !ok {
				http.Error(w, "this store cannot hand out download links", http.StatusNotImplemented)
				return
			}
			u, err := dl.PresignGet(r.Context(), r.URL.Query().Get("key"), 10*time.Minute)
			if err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}
			http.Redirect(w, r, u, http.StatusFound)
		}))
	}
	return api
}

// LocalBucket is the bucket name local mode pretends to serve.
const LocalBucket = "local-1250000000"

func (c *Config) buildLocal(httpClient *http.Client) (*App, error) {
	dir := c.LocalDir
	cleanup := func() {}
	if dir == "" {
		var err error
		if dir, err = os.MkdirTemp("", "directup-local-"); err != nil {
			return nil, err
		}
		cleanup = func() { os.RemoveAll(dir) }
	}
	// Fresh random keys each run: local mode signs and verifies for real.
	cred := cossign.Credentials{SecretID: "AKIDlocal" + randomHex(8), SecretKey: randomHex(20), SessionToken: "local-" + randomHex(16)}
	srv, err := localcos.New(dir, LocalBucket, cred)
	if err != nil {
		cleanup()
		return nil, err
	}
	ln, err := net.Listen("tcp", c.LocalAddr)
	if err != nil {
		cleanup()
		return nil, fmt.Errorf("config: LOCAL_COS_ADDR: %w", err)
	}
	// Parts are large and may come slowly: no read timeout, but idle connections end.
	hs := &http.Server{Handler: srv, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 60 * time.Second}
	go hs.Serve(ln)
	endpoint := "http://" + ln.Addr().String()
	store, err := cos.New(cos.Config{Bucket: LocalBucket, Endpoint: endpoint}, credentials.Static{
		AccessKeyID: cred.SecretID, SecretAccessKey: cred.SecretKey, SessionToken: cred.SessionToken,
	}, httpClient)
	if err != nil {
		hs.Close()
		cleanup()
		return nil, err
	}
	secret := []byte(c.TokenSecret)
	if len(secret) == 0 {
		secret = []byte(randomHex(32))
	}
	svc, err := upload.NewService(store, c.Policy, secret)
	if err != nil {
		hs.Close()
		cleanup()
		return nil, err
	}
	authn, err := auth.New(c.Settings)
	if err != nil {
		hs.Close()
		cleanup()
		return nil, err
	}
	return &App{Service: svc, secret: secret, Auth: authn, Store: store, Local: srv, LocalURL: endpoint, close: func() {
		hs.Shutdown(context.Background())
		cleanup()
	}}, nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}
