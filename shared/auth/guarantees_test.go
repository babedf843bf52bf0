package auth

import (
	"net/http"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/directup/directup/shared/gateway"
)

// README (Security model, Callers): "exp required, aud/iss/nbf/iat checked": a JWT issued
// in the future (past the clock leeway) is refused; one issued within the leeway passes.
func TestGuaranteeIssuedAtIsChecked(t *testing.T) {
	a, err := New(Settings{Mode: ModeJWT, JWTSecret: secret, Audience: "directup", Issuer: "https://idp.example", Leeway: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		iat time.Duration
		ok  bool
	}{{0, true}, {20 * time.Second, true}, {5 * time.Minute, false}, {24 * time.Hour, false}} {
		tok := sign(t, jwt.SigningMethodHS256, []byte(secret), "", claims(func(c jwt.MapClaims) { c["iat"] = time.Now().Add(tt.iat).Unix() }))
		sub, err := a.Subject(request("Authorization", "Bearer "+tok))
		if (err == nil) != tt.ok || (tt.ok && sub != "user-42") {
			t.Errorf("iat now+%v: %q %v; want accepted %t", tt.iat, sub, err, tt.ok)
		}
	}
}

// "algorithms pinned": with a shared secret only HS256 verifies — a token the same secret
// signs with another HMAC algorithm is refused, as is alg none.
func TestGuaranteeAlgorithmsPinned(t *testing.T) {
	a, err := New(Settings{Mode: ModeJWT, JWTSecret: secret, Audience: "directup", Issuer: "https://idp.example"})
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		method jwt.SigningMethod
		key    any
		ok     bool
	}{
		{jwt.SigningMethodHS256, []byte(secret), true},
		{jwt.SigningMethodHS384, []byte(secret), false},
		{jwt.SigningMethodHS512, []byte(secret), false},
		{jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, false},
	} {
		_, err := a.Subject(request("Authorization", "Bearer "+sign(t, tt.method, tt.key, "", claims(nil))))
		if (err == nil) != tt.ok {
			t.Errorf("%s: %v; want accepted %t", tt.method.Alg(), err, tt.ok)
		}
	}
}

// "AUTH_MODE=gateway takes the caller from the authorizer context the AWS gateway verified
// (AUTH_GATEWAY_CLAIM; nothing a client sends is read)": with a claim set, the caller is
// the claim alone — an identity header a client sends is never read, not even the one
// AUTH_GATEWAY_HEADER names, nor in place of a missing claim.
func TestGuaranteeGatewayClaimReadsNoHeader(t *testing.T) {
	a, err := New(Settings{Mode: ModeGateway, GatewayClaim: "sub", GatewayHeader: "X-Caller"})
	if err != nil {
		t.Fatal(err)
	}
	forged := func(claims map[string]string) *http.Request {
		r := request("X-Caller", "mallory")
		for _, h := range []string{"X-Auth-Subject", "X-Forwarded-User", "X-Remote-User"} {
			r.Header.Set(h, "mallory")
		}
		if claims != nil {
			r = r.WithContext(gateway.WithAuthorizer(r.Context(), claims))
		}
		return r
	}
	if sub, err := a.Subject(forged(map[string]string{"sub": "alice"})); sub != "alice" || err != nil {
		t.Errorf("the authorizer's alice, headers naming mallory: %q %v", sub, err)
	}
	for name, claims := range map[string]map[string]string{"no authorizer": nil, "no such claim": {"email": "a@example"}} {
		if sub, err := a.Subject(forged(claims)); err == nil {
			t.Errorf("%s, headers naming mallory: accepted as %q", name, sub)
		}
	}
}
