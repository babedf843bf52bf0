package functest

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/directup/directup/shared/webhook"
)

// keptEnv are the variables ClearEnv keeps (compared upper-case): what the go command,
// the OS and the tests' own switches (CI, RIE_BIN, VERSITYGW_BIN) need. keptPrefixes
// keep families: the toolchain's GO* (GOROOT, GOPATH, GOCACHE, GOFLAGS, GOPROXY, GODEBUG,
// GOCOVERDIR ...), CGO_*, and the locale's LC_*.
var (
	keptEnv = map[string]bool{
		"PATH": true, "HOME": true, "USER": true, "LOGNAME": true, "SHELL": true, "TERM": true, "PWD": true,
		"TMPDIR": true, "TMP": true, "TEMP": true, "LANG": true, "LANGUAGE": true, "TZ": true,
		"XDG_CACHE_HOME": true, "XDG_CONFIG_HOME": true, // the go command's default GOCACHE and go.env
		"HTTP_PROXY": true, "HTTPS_PROXY": true, "NO_PROXY": true, "SSL_CERT_FILE": true, "SSL_CERT_DIR": true,
		"CI": true, "RIE_BIN": true, "VERSITYGW_BIN": true,
		// Windows.
		"SYSTEMROOT": true, "SYSTEMDRIVE": true, "WINDIR": true, "COMSPEC": true, "PATHEXT": true,
		"USERPROFILE": true, "APPDATA": true, "LOCALAPPDATA": true, "PROGRAMDATA": true,
	}
	keptPrefixes = []string{"GO", "CGO_", "LC_"}
)

// KeptEnv reports whether ClearEnv keeps the variable name.
func KeptEnv(name string) bool {
	up := strings.ToUpper(name)
	if keptEnv[up] {
		return true
	}
	for _, p := range keptPrefixes {
		if strings.HasPrefix(up, p) {
			return true
		}
	}
	return false
}

// ClearEnv unsets every environment variable but those the toolchain and the OS need
// (KeptEnv), so nothing of the developer's or the CI machine's environment (a COS_BUCKET,
// a HOOK_URL ...) leaks into the test; t.Cleanup restores them all, as t.Setenv does. Like
// t.Setenv it cannot be used in parallel tests.
func ClearEnv(t testing.TB) {
	t.Helper()
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		if name == "" || KeptEnv(name) { // "" : Windows' "=C:=C:\dir" entries
			continue
		}
		t.Setenv(name, "") // registers the restore
		os.Unsetenv(name)
	}
}

// ModuleDir is where the go command keeps a dependency's source (its testdata are
// fixtures, such as aws-lambda-go's events).
func ModuleDir(t testing.TB, module string) string {
	t.Helper()
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", module).Output()
	if err != nil || len(out) == 0 {
		t.Fatalf("go list -m %s: %v", module, err)
	}
	return strings.TrimSpace(string(out))
}

// JWTSecret is the HS256 secret of JWT's tokens, for AUTH_JWT_SECRET.
const JWTSecret = "jwt-secret-0123456789abcdef-0123456789"

// JWT is a token for sub as the tests' identity provider issues one: HS256 with
// JWTSecret, audience "directup", issuer "https://idp.example", expiring at exp (an hour
// from now when exp is not given).
func JWT(t testing.TB, sub string, exp ...time.Time) string {
	t.Helper()
	end := time.Now().Add(time.Hour)
	if len(exp) > 0 {
		end = exp[0]
	}
	s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"sub": sub, "aud": "directup", "iss": "https://idp.example",
		"exp": end.Unix()}).SignedString([]byte(JWTSecret))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// JWTWith is JWT for sub, valid for an hour, carrying extra claims too (a plan, roles).
func JWTWith(t testing.TB, sub string, extra map[string]any) string {
	t.Helper()
	claims := jwt.MapClaims{"sub": sub, "aud": "directup", "iss": "https://idp.example", "exp": time.Now().Add(time.Hour).Unix()}
	for k, v := range extra {
		claims[k] = v
	}
	s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString([]byte(JWTSecret))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// Receiver is a signed-webhook endpoint as a deployer runs one (queue callbacks,
// completion events). It checks every delivery's signature itself, as a receiver would,
// not with shared/webhook's Verify: the webhook.SignatureHeader "t=<unix>,v1=<hex
// HMAC-SHA256 of "<unix>.<body>">" with its secret, t at most a minute away. A delivery
// that does not verify fails the test and is answered 401. The first Fail deliveries are
// refused with Status; the others answered 200.
type Receiver struct {
	URL    string       // where it listens, until the test ends
	Fail   atomic.Int32 // how many deliveries are still to be refused
	Status atomic.Int32 // the status refusals answer; 0 is 503

	mu       sync.Mutex
	received [][]byte // the body of every delivery that verified, refused or not
	accepted [][]byte // those answered 200
}

// NewReceiver starts a receiver for the test, checking signatures with secret.
func NewReceiver(t testing.TB, secret string) *Receiver {
	r := &Receiver{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		if sig := req.Header.Get(webhook.SignatureHeader); !signedWith(secret, body, sig) {
			t.Errorf("a delivery with a bad signature %q", sig)
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		r.mu.Lock()
		r.received = append(r.received, body)
		r.mu.Unlock()
		if r.refuse() {
			status := int(r.Status.Load())
			if status == 0 {
				status = http.StatusServiceUnavailable
			}
			w.WriteHeader(status)
			return
		}
		r.mu.Lock()
		r.accepted = append(r.accepted, body)
		r.mu.Unlock()
	}))
	t.Cleanup(srv.Close)
	r.URL = srv.URL
	return r
}

// refuse takes one refusal off Fail, if any is left.
func (r *Receiver) refuse() bool {
	for {
		n := r.Fail.Load()
		if n <= 0 {
			return false
		}
		if r.Fail.CompareAndSwap(n, n-1) {
			return true
		}
	}
}

// Received are the bodies of the deliveries whose signature verified, refused ones
// included, in arrival order.
func (r *Receiver) Received() [][]byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([][]byte(nil), r.received...)
}

// Accepted are the bodies of the deliveries answered 200, in arrival order.
func (r *Receiver) Accepted() [][]byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([][]byte(nil), r.accepted...)
}

func signedWith(secret string, body []byte, header string) bool {
	ts, v1, ok := strings.Cut(strings.TrimPrefix(header, "t="), ",v1=")
	sec, err := strconv.ParseInt(ts, 10, 64)
	if !ok || err != nil || time.Since(time.Unix(sec, 0)).Abs() > time.Minute {
		return false
	}
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(ts + "."))
	m.Write(body)
	return hmac.Equal([]byte(hex.EncodeToString(m.Sum(nil))), []byte(v1))
}
