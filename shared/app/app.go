// Package app is directup's composition root: from the settings it wires the store the
// settings chose (shared/stores: COS, S3, or local mode's embedded store), the upload
// service, authentication, and the HTTP surface or the queue processor the functions serve.
package app

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/directup/directup/shared/auth"
	"github.com/directup/directup/shared/companion"
	"github.com/directup/directup/shared/config"
	"github.com/directup/directup/shared/errcode"
	"github.com/directup/directup/shared/events"
	"github.com/directup/directup/shared/gateway"
	"github.com/directup/directup/shared/hook"
	"github.com/directup/directup/shared/httpapi"
	"github.com/directup/directup/shared/queue"
	"github.com/directup/directup/shared/signed"
	"github.com/directup/directup/shared/storage"
	_ "github.com/directup/directup/shared/stores/all" // the production stores register themselves
	"github.com/directup/directup/shared/upload"
	"github.com/directup/directup/web"
)

// App is a wired service.
type App struct {
	cfg     *config.Config
	Service *upload.Service
	secret  []byte
	Auth    *auth.Authenticator
	Store   storage.Store // the configured store (shared/stores); local mode's is storage.Embedded
	close   func()
	// fromStore are the secret settings read from secret stores (NAME_FROM), by name.
	fromStore map[string]*fromStore
}

// Close stops the embedded store, if any.
func (a *App) Close() {
	if a.close != nil {
		a.close()
	}
}

// New wires the application from cfg. Nothing here touches the network except starting
// the embedded store's listener in local mode: credentials are fetched lazily, per request.
func New(c *config.Config) (*App, error) {
	if c.Store == nil {
		return nil, fmt.Errorf("config: %s: required (this build has no local mode)", config.StoreRequired())
	}
	a := &App{cfg: c, secret: []byte(c.TokenSecret), close: func() {}}
	a.openSecrets(c)
	store, err := c.Store.Open(&http.Client{Transport: storageTransport()})
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	a.Store = store
	tokenKeys := a.ring("UPLOAD_TOKEN_SECRET")
	if e, ok := store.(storage.Embedded); ok {
		a.close = func() { e.Close() }
		if len(a.secret) == 0 && tokenKeys == nil {
			a.secret = randomSecret() // local mode needs no setting
		}
	}
	opts := a.serviceOptions(c)
	if tokenKeys != nil {
		opts = append(opts, upload.WithKeys(tokenKeys))
	}
	if a.Service, err = upload.NewService(store, c.Policy, a.secret, opts...); err != nil {
		a.close()
		return nil, err
	}
	if a.Auth, err = auth.New(c.Settings); err != nil {
		a.close()
		return nil, err
	}
	if r := a.ring("AUTH_JWT_SECRET"); r != nil {
		a.Auth.UseSecret(r)
	}
	if e, ok := store.(storage.Embedded); ok {
		// The storage trigger's stand-in: what a form stored is checked as the
		// storage-triggered function checks it (a form upload has no complete).
		svc := a.Service
		e.OnFormUpload(func(key string) {
			go func() {
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				defer cancel()
				if err := svc.ObjectCreated(ctx, key); err != nil {
					slog.Default().Warn("local mode: checking a form upload failed", "key", key, "error", err.Error())
				}
			}()
		})
	}
	return a, nil
}

// storageTransport keeps connections to storage open between requests and invocations of a
// warm function: every storage call is one host, and the default keeps only two idle
// connections per host, so concurrent requests (a web function, many Lambda instances'
// worth on one SCF instance) would dial again, a round trip more, each time.
func storageTransport() *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConnsPerHost = 64
	t.IdleConnTimeout = 90 * time.Second
	return t
}

// Embedded is the in-process store of local mode, or nil.
func (a *App) Embedded() storage.Embedded {
	e, _ := a.Store.(storage.Embedded)
	return e
}

// ForFunction loads the settings from the environment and wires the application for a
// function that only runs against a real bucket (the queue and events functions).
func ForFunction(name string) (*App, error) {
	c, err := config.Load()
	if err != nil {
		return nil, err
	}
	if c.Local() {
		return nil, fmt.Errorf("config: %s: required by the %s function", config.StoreRequired(), name)
	}
	return New(c)
}

// serviceOptions are the service's optional parts the settings turn on.
func (a *App) serviceOptions(c *config.Config) []upload.Option {
	opts := []upload.Option{upload.WithProfiles(c.Profiles)}
	if h := hook.New(c.Hook); h != nil {
		if r := a.ring("HOOK_SECRET"); r != nil {
			h.Target.SecretFunc = current(r)
		}
		opts = append(opts, upload.WithHook(h))
	}
	// Undelivered events go to the function's log, whole, as JSON lines.
	if p := events.New(c.Events, slog.New(slog.NewJSONHandler(os.Stderr, nil))); p != nil {
		if r := a.ring("EVENTS_SECRET"); r != nil {
			p.Target.SecretFunc = current(r)
		}
		opts = append(opts, upload.WithEvents(p))
	}
	return opts
}

// Handler is the whole HTTP surface: the JSON API, Uppy's Companion S3 protocol
// (/s3/..., /c/<capability>/s3/..., POST /capabilities), the client module
// (/directup.js), and in local mode the demo page (/) and download links.
func (a *App) Handler(logger *slog.Logger) http.Handler {
	c := a.cfg
	api := httpapi.New(a.Service, httpapi.Options{CORSOrigins: c.CORSOrigins, BasePath: c.BasePath, Auth: a.Auth,
		RequestTimeout: c.RequestTimeout, Logger: logger})
	var capKeys signed.Keys
	if r := a.ring("UPLOAD_TOKEN_SECRET"); r != nil {
		capKeys = r
	}
	comp := companion.New(a.Service, companion.Options{Secret: a.secret, Keys: capKeys, Anonymous: a.Auth.Mode() == auth.ModeNone,
		TTL: c.CapabilityTTL, OpenUploads: c.CompanionOpenUploads, Forms: c.CompanionForms})
	// Uppy sends no Authorization header: its routes check their capability themselves.
	api.HandlePublic("/s3/", comp)
	api.HandlePublic("/c/", comp)
	api.Handle("POST /capabilities", comp.MintHandler(func(r *http.Request) string {
		if c.PublicURL != "" {
			return strings.TrimSuffix(c.PublicURL, "/")
		}
		if base := gateway.PublicURL(r.Context()); base != "" {
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
	if a.Embedded() != nil {
		api.HandlePublic("GET /{$}", http.FileServerFS(web.Files))
		// Behind AUTH_MODE like /uploads, and a key alone does not open an object: the
		// caller shows the upload that stored it.
		api.Handle("GET /local/download", http.HandlerFunc(a.localDownload))
		api.HandlePublic("GET /local/info", http.HandlerFunc(a.localInfo))
	}
	return a.refreshing(api, logger)
}

// localInfo tells the demo page where local mode keeps files and whether they outlive a
// restart (LOCAL_COS_DIR), so its banner can say so.
func (a *App) localInfo(w http.ResponseWriter, r *http.Request) {
	info := map[string]any{"local": true}
	if f, ok := a.Embedded().(interface{ Folder() (string, bool) }); ok {
		info["dir"], info["kept"] = f.Folder()
	}
	httpapi.WriteJSON(w, http.StatusOK, info)
}

// localDownload answers local mode's download links (GET /local/download?key=…): a
// presigned GET of an object the caller uploaded, never of directup's records. The caller
// shows the upload with its upload token (X-Upload-Token, or ?token= in a plain link),
// verified for the calling caller as on every follow-up call; the key must be the token's,
// the upload must be over, and the object at the key must be no older than the upload and
// of its declared size. Refusals are the API's JSON errors.
func (a *App) localDownload(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	key := q.Get("key")
	if key == "" {
		httpapi.Error(w, r, errcode.Missing("key"))
		return
	}
	if isRecord(a.cfg.KeyPrefix, key) {
		httpapi.Error(w, r, errcode.Denied("key", "directup's own records are never handed out"))
		return
	}
	token := r.Header.Get(httpapi.TokenHeader)
	if token == "" {
		token = q.Get("token")
	}
	c, err := a.Service.Upload(r.Context(), token) // signature, expiry, and the caller
	if err != nil {
		httpapi.Error(w, r, err)
		return
	}
	if c.Key != key {
		httpapi.Error(w, r, &errcode.Error{Code: errcode.TokenMismatch, Field: "key",
			Message: "the upload token belongs to an upload of another key"})
		return
	}
	if c.Write == "" {
		httpapi.Error(w, r, &errcode.Error{Code: errcode.TokenInvalid, Field: httpapi.TokenHeader,
			Message: "this upload token predates download links; upload the file again"})
		return
	}
	// An upload still in progress has stored nothing at its key yet: what is there is
	// someone else's.
	if _, err := a.Service.ListParts(r.Context(), token, c.UploadID); err == nil {
		httpapi.Error(w, r, &errcode.Error{Code: errcode.IncompleteUpload,
			Message: "this upload is not completed"})
		return
	} else if errcode.As(err).Code != errcode.UploadNotFound {
		httpapi.Error(w, r, err)
		return
	}
	objects, ok := a.Store.(storage.Objects)
	if !ok {
		httpapi.Error(w, r, &errcode.Error{Code: errcode.NotAvailable, Message: "this store cannot hand out download links"})
		return
	}
	info, err := objects.Stat(r.Context(), key)
	if err != nil {
		httpapi.Error(w, r, err)
		return
	}
	// The object is this upload's only if it carries the upload's own write value (set by
	// the function at initiate, sealed, in the token): another upload to the same key —
	// another caller's, of the same size — carries another.
	if by, err := a.Service.StoredBy(r.Context(), c, info); err != nil {
		httpapi.Error(w, r, err)
		return
	} else if !by {
		httpapi.Error(w, r, &errcode.Error{Code: errcode.NotFound, Field: "key",
			Message: "no object this upload stored is at " + key})
		return
	}
	dl, ok := a.Store.(storage.Downloader)
	if !ok {
		httpapi.Error(w, r, &errcode.Error{Code: errcode.NotAvailable,
			Message: "this store cannot hand out download links"})
		return
	}
	u, err := dl.PresignGet(r.Context(), key, 10*time.Minute)
	if err != nil {
		httpapi.Error(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, u, http.StatusFound)
}

// isRecord reports a key inside directup's records: under the prefix's record folder, or
// with a ".directup" segment anywhere (in any case).
func isRecord(prefix, key string) bool {
	if strings.HasPrefix(key, prefix+".directup/") {
		return true
	}
	for _, seg := range strings.Split(key, "/") {
		if strings.EqualFold(seg, ".directup") {
			return true
		}
	}
	return false
}

func randomSecret() []byte {
	b := make([]byte, 32)
	rand.Read(b)
	return []byte(hex.EncodeToString(b))
}

// QueueProcessor is the queue function's message processor over the same service, with
// callbacks signed and checked as the settings say.
func (a *App) QueueProcessor(logger *slog.Logger) *queue.Processor {
	cb := &queue.Callbacks{Secret: []byte(a.cfg.QueueCallbackSecret), AllowedHosts: a.cfg.QueueCallbackHosts}
	if r := a.ring("QUEUE_CALLBACK_SECRET"); r != nil {
		cb.SecretFunc = current(r)
	}
	return queue.New(a.Service, a.Service.Records(), cb, logger)
}
