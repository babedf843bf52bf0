package auth

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

const secret = "0123456789abcdef0123456789abcdef"

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

func claims(mod func(jwt.MapClaims)) jwt.MapClaims {
	now := time.Now()
	c := jwt.MapClaims{"sub": "user-42", "aud": "directup", "iss": "https://idp.example", "exp": now.Add(time.Hour).Unix(), "iat": now.Unix(), "nbf": now.Add(-time.Minute).Unix()}
	if mod != nil {
		mod(c)
	}
	return c
}

func sign(t *testing.T, method jwt.SigningMethod, key any, kid string, c jwt.MapClaims) string {
	return signHeader(t, method, key, map[string]any{"kid": kid}, c)
}

// signHeader signs c with header fields added (an empty kid is left out).
func signHeader(t *testing.T, method jwt.SigningMethod, key any, header map[string]any, c jwt.MapClaims) string {
	tok := jwt.NewWithClaims(method, c)
	for k, v := range header {
		if k != "kid" || v != "" {
			tok.Header[k] = v
		}
	}
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func request(header, value string) *http.Request {
	r := httptest.NewRequest(http.MethodPost, "/uploads", nil)
	if header != "" {
		r.Header.Set(header, value)
	}
	return r
}

func TestSharedSecret(t *testing.T) {
	a, err := New(Settings{Mode: ModeJWT, JWTSecret: secret, Audience: "directup", Issuer: "https://idp.example", Leeway: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	tests := []struct {
		name, auth, want string
	}{
		{"valid", "Bearer " + sign(t, jwt.SigningMethodHS256, []byte(secret), "", claims(nil)), "user-42"},
		{"no header", "", ""},
		{"not bearer", "Basic dXNlcjpwYXNz", ""},
		{"wrong secret", "Bearer " + sign(t, jwt.SigningMethodHS256, []byte(strings.Repeat("x", 32)), "", claims(nil)), ""},
		{"expired", "Bearer " + sign(t, jwt.SigningMethodHS256, []byte(secret), "", claims(func(c jwt.MapClaims) { c["exp"] = time.Now().Add(-time.Minute).Unix() })), ""},
		{"not yet valid", "Bearer " + sign(t, jwt.SigningMethodHS256, []byte(secret), "", claims(func(c jwt.MapClaims) { c["nbf"] = time.Now().Add(time.Hour).Unix() })), ""},
		{"other audience", "Bearer " + sign(t, jwt.SigningMethodHS256, []byte(secret), "", claims(func(c jwt.MapClaims) { c["aud"] = "billing" })), ""},
		{"other issuer", "Bearer " + sign(t, jwt.SigningMethodHS256, []byte(secret), "", claims(func(c jwt.MapClaims) { c["iss"] = "https://evil.example" })), ""},
		{"no expiry", "Bearer " + sign(t, jwt.SigningMethodHS256, []byte(secret), "", claims(func(c jwt.MapClaims) { delete(c, "exp") })), ""},
		{"no subject", "Bearer " + sign(t, jwt.SigningMethodHS256, []byte(secret), "", claims(func(c jwt.MapClaims) { delete(c, "sub") })), ""},
		{"alg none", "Bearer " + sign(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, "", claims(nil)), ""},
		{"asymmetric token in HS256 mode", "Bearer " + sign(t, jwt.SigningMethodRS256, rsaKey, "", claims(nil)), ""},
		{"garbage", "Bearer a.b.c", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sub, err := a.Subject(request("Authorization", tt.auth))
			if sub != tt.want || (tt.want == "") != (err != nil) {
				t.Fatalf("Subject = %q, %v; want %q", sub, err, tt.want)
			}
			if err != nil && strings.Contains(err.Error(), strings.TrimPrefix(tt.auth, "Bearer ")) && tt.auth != "" {
				t.Errorf("the error echoes the token: %v", err)
			}
		})
	}
}

// jwksServer serves the public keys of rsaKey (kid r1) and ecKey (kid e1) as a JWKS,
// counting its fetches.
func jwksServer(t *testing.T, rsaKey *rsa.PrivateKey, ecKey *ecdsa.PrivateKey) (*httptest.Server, *atomic.Int32) {
	var fetches atomic.Int32
	jwks, _ := json.Marshal(map[string]any{"keys": []map[string]string{
		{"kty": "RSA", "kid": "r1", "alg": "RS256", "use": "sig", "n": b64(rsaKey.N.Bytes()), "e": b64(big.NewInt(int64(rsaKey.E)).Bytes())},
		{"kty": "EC", "kid": "e1", "alg": "ES256", "use": "sig", "crv": "P-256", "x": b64(ecKey.X.FillBytes(make([]byte, 32))), "y": b64(ecKey.Y.FillBytes(make([]byte, 32)))},
	}})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fetches.Add(1)
		w.Header().Set("Content-Type", "application/json")
		w.Write(jwks)
	}))
	t.Cleanup(srv.Close)
	return srv, &fetches
}

func TestJWKS(t *testing.T) {
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	ecKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	srv, fetches := jwksServer(t, rsaKey, ecKey)
	a, err := New(Settings{Mode: ModeJWT, JWKSURL: srv.URL, JWTAlgorithms: []string{"RS256", "ES256"}, Audience: "directup", Issuer: "https://idp.example"})
	if err != nil {
		t.Fatal(err)
	}
	if fetches.Load() != 0 {
		t.Fatal("the JWKS must not be fetched at start (cold start)")
	}
	pub, _ := x509.MarshalPKIXPublicKey(&rsaKey.PublicKey)
	pubPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub})
	otherKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	tests := []struct {
		name, token, want string
	}{
		{"RS256", sign(t, jwt.SigningMethodRS256, rsaKey, "r1", claims(nil)), "user-42"},
		{"ES256", sign(t, jwt.SigningMethodES256, ecKey, "e1", claims(nil)), "user-42"},
		{"unknown kid", sign(t, jwt.SigningMethodRS256, otherKey, "r9", claims(nil)), ""},
		{"right kid, wrong key", sign(t, jwt.SigningMethodRS256, otherKey, "r1", claims(nil)), ""},
		{"HS256 signed with the public key (alg confusion)", sign(t, jwt.SigningMethodHS256, pubPEM, "r1", claims(nil)), ""},
		{"expired RS256", sign(t, jwt.SigningMethodRS256, rsaKey, "r1", claims(func(c jwt.MapClaims) { c["exp"] = time.Now().Add(-time.Hour).Unix() })), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sub, err := a.Subject(request("Authorization", "Bearer "+tt.token))
			if sub != tt.want || (tt.want == "") != (err != nil) {
				t.Fatalf("Subject = %q, %v; want %q", sub, err, tt.want)
			}
		})
	}
	for i := 0; i < 10; i++ {
		if _, err := a.Subject(request("Authorization", "Bearer "+tests[0].token)); err != nil {
			t.Fatal(err)
		}
	}
	// One fetch at first use, at most one more for the unknown kid (rate limited): cached.
	if n := fetches.Load(); n < 1 || n > 2 {
		t.Errorf("%d JWKS fetches, want it cached", n)
	}
}

func TestGateway(t *testing.T) {
	a, err := New(Settings{Mode: ModeGateway, GatewayHeader: "X-Auth-Subject"})
	if err != nil {
		t.Fatal(err)
	}
	if sub, err := a.Subject(request("X-Auth-Subject", "alice")); sub != "alice" || err != nil {
		t.Errorf("%q %v", sub, err)
	}
	if _, err := a.Subject(request("", "")); err == nil {
		t.Error("a request without the gateway's header must be refused")
	}
}

func TestSettingsValidate(t *testing.T) {
	tests := []struct {
		s    Settings
		want string
	}{
		{Settings{Mode: ModeNone}, ""},
		{Settings{Mode: "basic"}, "AUTH_MODE"},
		{Settings{Mode: ModeJWT, Audience: "a", Issuer: "i"}, "AUTH_JWT_SECRET or AUTH_JWKS_URL"},
		{Settings{Mode: ModeJWT, JWTSecret: "short", Audience: "a", Issuer: "i"}, "AUTH_JWT_SECRET"},
		{Settings{Mode: ModeJWT, JWTSecret: secret}, "AUTH_AUDIENCE"},
		{Settings{Mode: ModeJWT, JWKSURL: "http://idp.example/jwks", Audience: "a", Issuer: "i"}, "AUTH_JWKS_URL"},
		{Settings{Mode: ModeJWT, JWKSURL: "https://idp.example/jwks", JWTAlgorithms: []string{"HS256"}, Audience: "a", Issuer: "i"}, "AUTH_JWT_ALGORITHMS"},
		{Settings{Mode: ModeGateway}, "AUTH_GATEWAY_HEADER"},
	}
	for _, tt := range tests {
		err := tt.s.Validate()
		if (tt.want == "") != (err == nil) || (err != nil && !strings.HasPrefix(err.Error(), tt.want)) {
			t.Errorf("%+v: %v, want %q", tt.s, err, tt.want)
		}
	}
}

// Tokens the JWT libraries take but the RFCs refuse, and Authorization headers they
// refuse but RFC 7235 takes: each with a shared secret (HS256) and a JWKS (RS256). A
// refusal is an *Error (401) that does not echo the token.
func TestTokenStrictness(t *testing.T) {
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	ecKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	srv, _ := jwksServer(t, rsaKey, ecKey)
	shared, err := New(Settings{Mode: ModeJWT, JWTSecret: secret, Audience: "directup", Issuer: "https://idp.example", Leeway: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	jwks, err := New(Settings{Mode: ModeJWT, JWKSURL: srv.URL, JWTAlgorithms: []string{"RS256", "ES256"}, Audience: "directup", Issuer: "https://idp.example"})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	str := func(t time.Time) string { return strconv.FormatInt(t.Unix(), 10) }
	tests := []struct {
		name   string
		scheme string // the Authorization header up to the token
		header map[string]any
		claims func(jwt.MapClaims)
		ok     bool
	}{
		{"valid", "Bearer ", nil, nil, true},
		{"crit naming an unknown extension", "Bearer ", map[string]any{"crit": []string{"http://example.com/ext"}, "http://example.com/ext": true}, nil, false},
		{"crit naming a registered parameter", "Bearer ", map[string]any{"crit": []string{"exp"}}, nil, false},
		{"crit b64 (RFC 7797)", "Bearer ", map[string]any{"crit": []string{"b64"}, "b64": true}, nil, false},
		{"crit empty", "Bearer ", map[string]any{"crit": []string{}}, nil, false},
		{"crit a string", "Bearer ", map[string]any{"crit": "exp"}, nil, false},
		{"crit a number", "Bearer ", map[string]any{"crit": 5}, nil, false},
		{"crit null", "Bearer ", map[string]any{"crit": nil}, nil, false},
		{"exp a string", "Bearer ", nil, func(c jwt.MapClaims) { c["exp"] = "9999999999" }, false},
		{"exp a string, valid time", "Bearer ", nil, func(c jwt.MapClaims) { c["exp"] = str(now.Add(time.Hour)) }, false},
		{"nbf a string", "Bearer ", nil, func(c jwt.MapClaims) { c["nbf"] = str(now.Add(-time.Minute)) }, false},
		{"iat a string", "Bearer ", nil, func(c jwt.MapClaims) { c["iat"] = str(now) }, false},
		{"exp null", "Bearer ", nil, func(c jwt.MapClaims) { c["exp"] = nil }, false},
		{"nbf an object", "Bearer ", nil, func(c jwt.MapClaims) { c["nbf"] = map[string]int{"n": 1} }, false},
		{"exp a fraction", "Bearer ", nil, func(c jwt.MapClaims) { c["exp"] = float64(now.Add(time.Hour).Unix()) + 0.5 }, true},
		{"scheme lowercase", "bearer ", nil, nil, true},
		{"scheme uppercase", "BEARER ", nil, nil, true},
		{"scheme mixed case", "bEaReR ", nil, nil, true},
		{"several spaces", "Bearer   ", nil, nil, true},
		{"lowercase, several spaces", "bearer  ", nil, nil, true},
		{"no space", "Bearer", nil, nil, false},
		{"tab (not SP)", "Bearer\t", nil, nil, false},
		{"other scheme", "Token ", nil, nil, false},
	}
	for _, mode := range []struct {
		name   string
		a      *Authenticator
		method jwt.SigningMethod
		key    any
		kid    string
	}{{"HS256", shared, jwt.SigningMethodHS256, []byte(secret), ""}, {"RS256 JWKS", jwks, jwt.SigningMethodRS256, rsaKey, "r1"}} {
		for _, tt := range tests {
			t.Run(mode.name+"/"+tt.name, func(t *testing.T) {
				header := map[string]any{"kid": mode.kid}
				for k, v := range tt.header {
					header[k] = v
				}
				token := signHeader(t, mode.method, mode.key, header, claims(tt.claims))
				id, err := mode.a.Identify(request("Authorization", tt.scheme+token))
				if tt.ok {
					if err != nil || id.Subject != "user-42" {
						t.Fatalf("Identify = %+v, %v; want user-42", id, err)
					}
					return
				}
				var e *Error
				if err == nil || !errors.As(err, &e) || id.Subject != "" {
					t.Fatalf("Identify = %+v, %v; want an *Error (401)", id, err)
				}
				for _, part := range strings.Split(token, ".") {
					if strings.Contains(err.Error(), part) {
						t.Errorf("the error echoes the token: %v", err)
					}
				}
			})
		}
	}
}
