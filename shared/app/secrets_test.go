package app

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/directup/directup/shared/cloudfakes"
	"github.com/directup/directup/shared/config"
	"github.com/directup/directup/shared/cos/cossign"
	"github.com/directup/directup/shared/functest"
	"github.com/directup/directup/shared/localcos"
	"github.com/directup/directup/shared/webhook"
)

const (
	tokenValue  = "token-from-secrets-manager-0123456789abcdef"
	tokenValue2 = "token-rotated-in-secrets-manager-0123456789"
	tokenValue3 = "token-rotated-twice-in-the-store-0123456789"
)

// cloud is a Lambda function's world on COS without a Tencent key: AWS (role
// credentials, Secrets Manager, SSM, STS) and Tencent STS, stand-ins both, and a COS store
// that accepts only the keys Tencent STS hands out for the web identity.
type cloud struct {
	aws     *cloudfakes.AWS
	tencent *cloudfakes.Tencent
	cos     *localcos.Server
	cosURL  string
	cosHits atomic.Int32
	env     map[string]string
}

func newCloud(t *testing.T) *cloud {
	c := &cloud{aws: cloudfakes.NewAWS(t)}
	c.tencent = cloudfakes.NewTencent(t, c.aws)
	c.tencent.Keys = &[3]string{"AKIDWEBID1", "webid-key-1", "webid-token-1"}
	var err error
	c.cos, err = localcos.New(t.TempDir(), "local-1250000000",
		cossign.Credentials{SecretID: "AKIDWEBID1", SecretKey: "webid-key-1", SessionToken: "webid-token-1"})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c.cosHits.Add(1)
		c.cos.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	c.cosURL = srv.URL
	c.aws.SetSecret("prod/directup", `{"token":"`+tokenValue+`"}`)
	c.aws.Granted = []string{"prod/", "/directup/"} // as SecretsPolicy grants directup/ only
	c.aws.SetParameter("/directup/jwt", functest.JWTSecret)
	c.env = map[string]string{"COS_BUCKET": "local-1250000000", "COS_ENDPOINT": srv.URL,
		"COS_WEB_IDENTITY_PROVIDER_ID": c.tencent.ProviderID, "COS_ROLE_ARN": c.tencent.RoleARN, "STS_ENDPOINT": c.tencent.URL,
		"UPLOAD_TOKEN_SECRET_FROM": "aws-secretsmanager:prod/directup#token",
		"AUTH_MODE":                "jwt", "AUTH_JWT_SECRET_FROM": "aws-ssm:/directup/jwt", "AUTH_AUDIENCE": "directup", "AUTH_ISSUER": "https://idp.example"}
	for k, v := range c.aws.Env() {
		c.env[k] = v
	}
	return c
}

// start loads the settings from env (over the cloud's) and serves the API, logging to logs.
func (c *cloud) start(t *testing.T, env map[string]string, logs *syncBuffer) (*App, string) {
	a := appFrom(t, c.env, env)
	srv := httptest.NewServer(a.Handler(slog.New(slog.NewJSONHandler(logs, nil))))
	t.Cleanup(srv.Close)
	return a, srv.URL
}

// initiate starts an upload as alice and returns its id and token.
func initiate(t *testing.T, api string) (id, token string) {
	t.Helper()
	var up struct{ UploadID, Token string }
	if s, _ := call(t, "POST", api+"/uploads", functest.JWT(t, "alice"), "", map[string]any{"filename": "a.txt", "contentType": "text/plain", "size": 5}, &up); s != 201 {
		t.Fatalf("initiate: %d", s)
	}
	return up.UploadID, up.Token
}

// listParts is the follow-up call a token must pass: its answer's status.
func listParts(t *testing.T, api, id, token string) int {
	t.Helper()
	s, _ := call(t, "GET", api+"/uploads/"+url.PathEscape(id)+"/parts", functest.JWT(t, "alice"), token, nil, nil)
	return s
}

// Keyless and secretless: no Tencent key and no secret value in the environment. Nothing
// is called at start; the first request reads the token and JWT secrets (once), trades
// one AWS web identity token for COS keys (once), and the upload lands in COS signed with
// them. Another instance given the token secret's value plainly accepts the tokens. No
// value reaches the log.
func TestKeylessWithSecretsFromStores(t *testing.T) {
	c := newCloud(t)
	logs := &syncBuffer{}
	_, api := c.start(t, nil, logs)
	for _, k := range []string{"TENCENTCLOUD_SECRETID", "TENCENTCLOUD_SECRETKEY", "UPLOAD_TOKEN_SECRET", "AUTH_JWT_SECRET"} {
		if os.Getenv(k) != "" {
			t.Fatalf("%s is in the environment", k)
		}
	}
	if n, m := len(c.aws.Calls()), len(c.tencent.Calls()); n != 0 || m != 0 {
		t.Fatalf("%d AWS and %d Tencent calls at start, want none", n, m)
	}
	for i := 0; i < 3; i++ {
		key, _ := uploadAs(t, api, functest.JWT(t, "alice"), "a.txt", []byte("hello"), true)
		if got, err := os.ReadFile(c.cos.ObjectPath(key)); err != nil || string(got) != "hello" {
			t.Fatalf("upload %d: %q %v", i, got, err)
		}
	}
	actions := map[string]int{}
	for _, call := range append(c.aws.Calls(), c.tencent.Calls()...) {
		actions[call.Action]++
	}
	// One read of each secret (a Secrets Manager one also asks for its AWSPREVIOUS, once).
	want := map[string]int{"secretsmanager.GetSecretValue": 2, "AmazonSSM.GetParameter": 1, "GetWebIdentityToken": 1, "AssumeRoleWithWebIdentity": 1}
	if len(actions) != len(want) {
		t.Fatalf("calls %v, want %v", actions, want)
	}
	for k, n := range want {
		if actions[k] != n {
			t.Fatalf("calls %v, want %v", actions, want)
		}
	}
	id, token := initiate(t, api)
	_, plain := c.start(t, map[string]string{"UPLOAD_TOKEN_SECRET_FROM": "", "UPLOAD_TOKEN_SECRET": tokenValue}, logs)
	if s := listParts(t, plain, id, token); s != 200 {
		t.Fatalf("an instance given the value plainly: %d", s)
	}
	for _, v := range []string{tokenValue, functest.JWTSecret, "webid-key-1", "webid-token-1", c.aws.Key} {
		if strings.Contains(logs.String(), v) {
			t.Fatalf("the log holds a secret: %s", logs.String())
		}
	}
}

// A rotation in the store is used within the TTL, without a restart: new tokens are
// signed with the new value, and tokens signed with the one before still verify (it is
// kept verify-only); after a second rotation the first value is gone.
func TestRotationWithinTheTTL(t *testing.T) {
	c := newCloud(t)
	logs := &syncBuffer{}
	a, api := c.start(t, map[string]string{"SECRETS_TTL": "1m"}, logs)
	now := time.Now()
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	a.fromStore["UPLOAD_TOKEN_SECRET"].secret.Now = clock
	advance := func() { mu.Lock(); now = now.Add(61 * time.Second); mu.Unlock() }

	id1, token1 := initiate(t, api)
	before, _ := uploadAs(t, api, functest.JWT(t, "alice"), "b.txt", []byte("sealed"), true)
	var capability struct{ CompanionEndpoint string }
	if s := do(t, "POST", api+"/capabilities", functest.JWT(t, "alice"), nil, &capability); s != 201 {
		t.Fatalf("capability: %d", s)
	}
	c.aws.SetSecret("prod/directup", `{"token":"`+tokenValue2+`"}`)
	if s := listParts(t, api, id1, token1); s != 200 { // within the TTL: still the first value
		t.Fatalf("within the TTL: %d", s)
	}
	advance()
	id2, token2 := initiate(t, api)
	if s := listParts(t, api, id1, token1); s != 200 {
		t.Fatalf("a token signed before the rotation: %d", s)
	}
	if s := do(t, "POST", capability.CompanionEndpoint+"/s3/multipart", "", map[string]any{"filename": "a.txt", "type": "text/plain",
		"metadata": map[string]any{"size": 5}}, nil); s != 200 {
		t.Fatalf("a capability minted before the rotation: %d", s)
	}
	// The storage-triggered check of an object written before the rotation: its write
	// seal (made with the previous value) still verifies, so it stays.
	if err := a.Service.ObjectCreated(context.Background(), before); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(c.cos.ObjectPath(before)); err != nil {
		t.Fatal("an upload sealed before the rotation was removed as unknown")
	}
	_, old := c.start(t, map[string]string{"UPLOAD_TOKEN_SECRET_FROM": "", "UPLOAD_TOKEN_SECRET": tokenValue}, logs)
	_, rotated := c.start(t, map[string]string{"UPLOAD_TOKEN_SECRET_FROM": "", "UPLOAD_TOKEN_SECRET": tokenValue2}, logs)
	if listParts(t, rotated, id2, token2) != 200 || listParts(t, old, id2, token2) == 200 {
		t.Fatal("the token made after the rotation is not signed with the new value")
	}
	c.aws.SetSecret("prod/directup", `{"token":"`+tokenValue3+`"}`)
	advance()
	if s := listParts(t, api, id2, token2); s != 200 {
		t.Fatalf("the previous value after a second rotation: %d", s)
	}
	if s := listParts(t, api, id1, token1); s != 401 && s != 403 {
		t.Fatalf("a token two rotations old: %d", s)
	}
}

// A store that cannot be read answers 503 credentials_unavailable; the log names the
// setting and the reference, and holds no value. Nothing reaches COS.
func TestUnreadableStore(t *testing.T) {
	c := newCloud(t)
	logs := &syncBuffer{}
	_, api := c.start(t, map[string]string{"UPLOAD_TOKEN_SECRET_FROM": "aws-secretsmanager:prod/other#token"}, logs)
	var out struct {
		Error struct{ Code, Message string }
	}
	s, _ := call(t, "POST", api+"/uploads", functest.JWT(t, "alice"), "", map[string]any{"filename": "a.txt", "contentType": "text/plain", "size": 5}, &out)
	if s != 503 || out.Error.Code != "credentials_unavailable" || strings.Contains(out.Error.Message, "prod/") {
		t.Fatalf("%d %+v", s, out)
	}
	l := logs.String()
	if !strings.Contains(l, "UPLOAD_TOKEN_SECRET_FROM=aws-secretsmanager:prod/other#token") || !strings.Contains(l, "ResourceNotFoundException") ||
		strings.Contains(l, tokenValue) || strings.Contains(l, functest.JWTSecret) {
		t.Fatalf("log: %s", l)
	}
	if c.cosHits.Load() != 0 {
		t.Fatal("a request reached COS")
	}
}

// A reference to a secret the function's role may not read (another team's, named by
// whoever can edit the configuration) is refused by the store: 503, and the log says
// access was denied for that reference; its value is never fetched.
func TestReferenceToAnotherSecret(t *testing.T) {
	c := newCloud(t)
	const theirs = "other-team-database-password-0123456789"
	c.aws.SetSecret("other-team/db", theirs)
	logs := &syncBuffer{}
	_, api := c.start(t, map[string]string{"UPLOAD_TOKEN_SECRET_FROM": "aws-secretsmanager:other-team/db"}, logs)
	s, _ := call(t, "POST", api+"/uploads", functest.JWT(t, "alice"), "", map[string]any{"filename": "a.txt", "contentType": "text/plain", "size": 5}, nil)
	if s != 503 || !strings.Contains(logs.String(), "AccessDeniedException") || !strings.Contains(logs.String(), "other-team/db") ||
		strings.Contains(logs.String(), theirs) {
		t.Fatalf("%d %s", s, logs.String())
	}
}

// A value from a store is held to the plain setting's minimum length (a store holding a
// short or placeholder value is refused, not signed with).
func TestShortValueFromStore(t *testing.T) {
	c := newCloud(t)
	c.aws.SetSecret("prod/short", "too-short")
	logs := &syncBuffer{}
	_, api := c.start(t, map[string]string{"UPLOAD_TOKEN_SECRET_FROM": "aws-secretsmanager:prod/short"}, logs)
	s, _ := call(t, "POST", api+"/uploads", functest.JWT(t, "alice"), "", map[string]any{"filename": "a.txt", "contentType": "text/plain", "size": 5}, nil)
	if s != 503 || !strings.Contains(logs.String(), "shorter than 32 characters") || strings.Contains(logs.String(), "too-short") {
		t.Fatalf("%d %s", s, logs.String())
	}
}

// A refused exchange (the CAM provider does not trust the token) is 503
// credentials_unavailable, and nothing is sent to COS.
func TestRefusedExchange(t *testing.T) {
	c := newCloud(t)
	c.tencent.Refuse = true
	_, api := c.start(t, nil, &syncBuffer{})
	var out struct{ Error struct{ Code string } }
	s, _ := call(t, "POST", api+"/uploads", functest.JWT(t, "alice"), "", map[string]any{"filename": "a.txt", "contentType": "text/plain", "size": 5}, &out)
	if s != 503 || out.Error.Code != "credentials_unavailable" || c.cosHits.Load() != 0 {
		t.Fatalf("%d %+v, %d COS requests", s, out, c.cosHits.Load())
	}
}

// NAME and NAME_FROM both set stops the process naming both; a malformed reference is
// refused at start, with no store asked.
func TestSecretSettingErrors(t *testing.T) {
	c := newCloud(t)
	for _, e := range []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{"UPLOAD_TOKEN_SECRET": tokenValue}, "UPLOAD_TOKEN_SECRET and UPLOAD_TOKEN_SECRET_FROM: set one, not both"},
		{map[string]string{"HOOK_URL": "https://hook.example/x", "HOOK_SECRET": "0123456789abcdef", "HOOK_SECRET_FROM": "aws-ssm:/h"}, "HOOK_SECRET and HOOK_SECRET_FROM"},
		{map[string]string{"EVENTS_SECRET_FROM": "vault:x"}, "EVENTS_SECRET_FROM: unknown store"},
		{map[string]string{"TENCENTCLOUD_SECRETID_FROM": "aws-secretsmanager:k#id"}, "COS_WEB_IDENTITY_PROVIDER_ID: the keyless path holds no Tencent key"},
	} {
		functest.ClearEnv(t)
		for k, v := range c.env {
			t.Setenv(k, v)
		}
		for k, v := range e.env {
			t.Setenv(k, v)
		}
		_, err := config.Load()
		if err == nil || !strings.Contains(err.Error(), e.want) || strings.Contains(err.Error(), tokenValue) {
			t.Errorf("%v: %v", e.env, err)
		}
	}
	if n := len(c.aws.Calls()); n != 0 {
		t.Fatalf("%d store calls for settings errors", n)
	}
}

// EVENTS_SECRET_FROM: the outcome of an upload is signed with the value read from the
// store (the receiver checks the signature with it).
func TestEventsSecretFromStore(t *testing.T) {
	c := newCloud(t)
	const events = "events-secret-from-ssm-0123456789"
	c.aws.SetParameter("/directup/events", events)
	recv := functest.NewReceiver(t, events)
	_, api := c.start(t, map[string]string{"EVENTS_URL": recv.URL, "EVENTS_SECRET_FROM": "aws-ssm:/directup/events"}, &syncBuffer{})
	uploadAs(t, api, functest.JWT(t, "alice"), "a.txt", []byte("hello"), true)
	deadline := time.Now().Add(5 * time.Second)
	for len(recv.Received()) == 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if len(recv.Received()) == 0 {
		t.Fatal("no event signed with the store's value arrived")
	}
}

// On SCF: the token secret from Tencent SSM, read with the function's role credentials
// (the stand-in checks the TC3-HMAC-SHA256 signature), once for many requests.
func TestTencentSSMOnSCF(t *testing.T) {
	tc := cloudfakes.NewTencent(t, nil)
	tc.SetSecret("directup-token", tokenValue)
	cosStore, err := localcos.New(t.TempDir(), "local-1250000000", cossign.Credentials{SecretID: tc.SecretID, SecretKey: tc.SecretKey, SessionToken: tc.Token})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(cosStore)
	t.Cleanup(srv.Close)
	a := appFrom(t, map[string]string{"COS_BUCKET": "local-1250000000", "COS_ENDPOINT": srv.URL,
		"TENCENTCLOUD_SECRETID": tc.SecretID, "TENCENTCLOUD_SECRETKEY": tc.SecretKey, "TENCENTCLOUD_SESSIONTOKEN": tc.Token,
		"TENCENTCLOUD_REGION": "ap-guangzhou", "TENCENT_SSM_ENDPOINT": tc.URL, "UPLOAD_TOKEN_SECRET_FROM": "tencent-ssm:directup-token"})
	api := httptest.NewServer(a.Handler(slog.New(slog.DiscardHandler)))
	t.Cleanup(api.Close)
	for i := 0; i < 2; i++ {
		if key, _ := uploadAs(t, api.URL, "", "a.txt", []byte("hello"), true); key == "" {
			t.Fatal("no upload")
		}
	}
	// One read, and at first use the list of versions (the value before, if any).
	calls := tc.Calls()
	if len(calls) != 2 || calls[0].Action != "GetSecretValue" || calls[1].Action != "ListSecretVersionIds" || calls[0].Header.Get("X-TC-Region") != "ap-guangzhou" {
		t.Fatalf("Tencent calls %+v", calls)
	}
	// Another instance given the value plainly accepts this one's tokens.
	var up struct{ UploadID, Token string }
	if s, _ := call(t, "POST", api.URL+"/uploads", "", "", map[string]any{"filename": "b.txt", "contentType": "text/plain", "size": 5}, &up); s != 201 {
		t.Fatalf("initiate: %d", s)
	}
	t.Setenv("UPLOAD_TOKEN_SECRET_FROM", "")
	t.Setenv("UPLOAD_TOKEN_SECRET", tokenValue)
	cfg, err := config.Load()
	if err != nil {
		t.Fatal(err)
	}
	plain, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	other := httptest.NewServer(plain.Handler(slog.New(slog.DiscardHandler)))
	t.Cleanup(other.Close)
	if s, _ := call(t, "GET", other.URL+"/uploads/"+url.PathEscape(up.UploadID)+"/parts", "", up.Token, nil, nil); s != 200 {
		t.Fatalf("an instance given the value plainly: %d", s)
	}
}

// HOOK_SECRET_FROM: the pre-create hook is asked with a signature made with the store's
// value (the hook checks it, and allows only then).
func TestHookSecretFromStore(t *testing.T) {
	c := newCloud(t)
	const hookSecret = "hook-secret-from-secrets-manager-01"
	c.aws.SetSecret("prod/hook", hookSecret)
	var asked atomic.Int32
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if !webhook.Verify([]byte(hookSecret), body, r.Header.Get(webhook.SignatureHeader), time.Now(), time.Minute) {
			w.WriteHeader(401)
			return
		}
		asked.Add(1)
		w.Write([]byte(`{"allow":true}`))
	}))
	t.Cleanup(hook.Close)
	_, api := c.start(t, map[string]string{"HOOK_URL": hook.URL, "HOOK_SECRET_FROM": "aws-secretsmanager:prod/hook"}, &syncBuffer{})
	if id, _ := initiate(t, api); id == "" || asked.Load() != 1 {
		t.Fatalf("the hook verified %d requests", asked.Load())
	}
}

// QUEUE_CALLBACK_SECRET_FROM: the queue function's result callback is signed with the
// store's value (the receiver checks it).
func TestQueueCallbackSecretFromStore(t *testing.T) {
	c := newCloud(t)
	const cb = "queue-callback-secret-from-ssm-012"
	c.aws.SetParameter("/directup/callback", cb)
	recv := functest.NewReceiver(t, cb)
	a, _ := c.start(t, map[string]string{"QUEUE_CALLBACK_SECRET_FROM": "aws-ssm:/directup/callback", "QUEUE_CALLBACK_ALLOWED_HOSTS": "127.0.0.1"}, &syncBuffer{})
	if err := a.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	msg, _ := json.Marshal(map[string]any{"callbackUrl": recv.URL + "/done", "action": "initiate", "requestId": "r1",
		"filename": "a.txt", "contentType": "text/plain", "size": 5})
	res, _ := a.QueueProcessor(slog.New(slog.DiscardHandler)).Handle(context.Background(), msg, "m1")
	if res.Status != "ok" || len(recv.Accepted()) != 1 {
		t.Fatalf("%+v, %d callbacks verified", res, len(recv.Accepted()))
	}
}

// TENCENTCLOUD_SECRETID_FROM and TENCENTCLOUD_SECRETKEY_FROM: on Lambda without the
// keyless path, the Tencent key comes from Secrets Manager (one JSON secret, two fields),
// read on first use, and signs COS; it is never in the environment.
func TestTencentKeyFromStore(t *testing.T) {
	c := newCloud(t)
	c.aws.SetSecret("prod/tencent", `{"id":"AKIDWEBID1","key":"webid-key-1"}`)
	c.cos, _ = localcos.New(t.TempDir(), "local-1250000000", cossign.Credentials{SecretID: "AKIDWEBID1", SecretKey: "webid-key-1"})
	srv := httptest.NewServer(c.cos)
	t.Cleanup(srv.Close)
	_, api := c.start(t, map[string]string{"COS_ENDPOINT": srv.URL, "COS_WEB_IDENTITY_PROVIDER_ID": "", "COS_ROLE_ARN": "",
		"TENCENTCLOUD_SECRETID_FROM": "aws-secretsmanager:prod/tencent#id", "TENCENTCLOUD_SECRETKEY_FROM": "aws-secretsmanager:prod/tencent#key"}, &syncBuffer{})
	if os.Getenv("TENCENTCLOUD_SECRETKEY") != "" {
		t.Fatal("the key is in the environment")
	}
	key, _ := uploadAs(t, api, functest.JWT(t, "alice"), "a.txt", []byte("hello"), true)
	if got, err := os.ReadFile(c.cos.ObjectPath(key)); err != nil || string(got) != "hello" {
		t.Fatalf("%q %v", got, err)
	}
	if n := len(c.tencent.Calls()); n != 0 {
		t.Fatalf("%d Tencent STS calls without a role", n)
	}
}

// AUTH_JWT_SECRET_FROM rotated: a JWT signed with the value before still verifies, one
// signed with the new value verifies, one with neither is 401.
func TestJWTSecretRotation(t *testing.T) {
	c := newCloud(t)
	a, api := c.start(t, map[string]string{"SECRETS_TTL": "1m"}, &syncBuffer{})
	now := time.Now()
	a.fromStore["AUTH_JWT_SECRET"].secret.Now = func() time.Time { return now }
	old := functest.JWT(t, "alice")
	initiate(t, api) // reads the first value
	const rotated = "jwt-secret-rotated-in-ssm-0123456789abc"
	c.aws.SetParameter("/directup/jwt", rotated)
	now = now.Add(2 * time.Minute)
	sign := func(secret string) string {
		s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"sub": "alice", "aud": "directup", "iss": "https://idp.example",
			"iat": time.Now().Unix(), "exp": time.Now().Add(time.Hour).Unix()}).SignedString([]byte(secret))
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	body := map[string]any{"filename": "a.txt", "contentType": "text/plain", "size": 5}
	for _, c := range []struct {
		name, bearer string
		want         int
	}{{"before the rotation", old, 201}, {"the new value", sign(rotated), 201}, {"neither", sign("some-other-secret-0123456789abcdef012"), 401}} {
		if s, _ := call(t, "POST", api+"/uploads", c.bearer, "", body, nil); s != c.want {
			t.Errorf("a JWT signed with %s: %d, want %d", c.name, s, c.want)
		}
	}
}
