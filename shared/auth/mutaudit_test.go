package auth

import (
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/directup/directup/shared/signed"
)

// Settings at their exact bounds: AUTH_JWT_SECRET of 31 characters is refused and 32
// taken; AUTH_ISSUER is required beside AUTH_AUDIENCE. Kills: Validate's `< 32` weakened
// to `< 31`, `|| c.Issuer == ""` dropped (tokens of any issuer for the audience passed).
func TestMutauditSettingsAtTheirBounds(t *testing.T) {
	for _, tt := range []struct {
		s    Settings
		want string
	}{
		{Settings{Mode: ModeJWT, JWTSecret: strings.Repeat("s", 31), Audience: "a", Issuer: "i"}, "AUTH_JWT_SECRET"},
		{Settings{Mode: ModeJWT, JWTSecret: strings.Repeat("s", 32), Audience: "a", Issuer: "i"}, ""},
		{Settings{Mode: ModeJWT, JWTSecret: strings.Repeat("s", 32), Audience: "a"}, "AUTH_AUDIENCE and AUTH_ISSUER"},
		{Settings{Mode: ModeJWT, JWTSecret: strings.Repeat("s", 32), Issuer: "i"}, "AUTH_AUDIENCE and AUTH_ISSUER"},
	} {
		err := tt.s.Validate()
		if (tt.want == "") != (err == nil) || (err != nil && !strings.HasPrefix(err.Error(), tt.want)) {
			t.Errorf("%+v: %v, want %q", tt.s, err, tt.want)
		}
	}
}

// A gateway's subject header holds at most 256 characters, as a token's subject does:
// 256 is the caller, 257 is refused. Kills: Identify's header `len(sub) > 256` dropped.
func TestMutauditGatewaySubjectLength(t *testing.T) {
	a, err := New(Settings{Mode: ModeGateway, GatewayHeader: "X-Auth-Subject"})
	if err != nil {
		t.Fatal(err)
	}
	if sub, err := a.Subject(request("X-Auth-Subject", strings.Repeat("a", 256))); err != nil || len(sub) != 256 {
		t.Errorf("a 256-character subject: %d %v", len(sub), err)
	}
	if _, err := a.Subject(request("X-Auth-Subject", strings.Repeat("a", 257))); err == nil {
		t.Error("a 257-character subject was taken")
	}
}

// A bearer token's subject holds at most 256 characters: 256 is the caller, 257 is 401.
// Kills: Identify's `len(claims.Subject) > 256` dropped.
func TestMutauditTokenSubjectLength(t *testing.T) {
	a, err := New(Settings{Mode: ModeJWT, JWTSecret: secret, Audience: "directup", Issuer: "https://idp.example", Leeway: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	for n, ok := range map[int]bool{256: true, 257: false} {
		tok := sign(t, jwt.SigningMethodHS256, []byte(secret), "", claims(func(c jwt.MapClaims) { c["sub"] = strings.Repeat("a", n) }))
		sub, err := a.Subject(request("Authorization", "Bearer "+tok))
		if ok != (err == nil) || ok && len(sub) != n {
			t.Errorf("a %d-character subject: %d %v; taken want %v", n, len(sub), err, ok)
		}
	}
}

// Before the JWT secret is read from its store (a ring with no key yet), and with a ring
// whose previous value is unset, no token verifies: one signed with an empty HS256 key,
// which anyone can make, is 401. Kills: key()'s `len(k) > 0` filter dropped.
func TestMutauditNoSecretYetVerifiesNothing(t *testing.T) {
	a, err := New(Settings{Mode: ModeJWT, JWTSecretFrom: "secretsmanager:directup/jwt", Audience: "directup", Issuer: "https://idp.example", Leeway: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	ring := &signed.Ring{}
	a.UseSecret(ring)
	forged := "Bearer " + sign(t, jwt.SigningMethodHS256, []byte{}, "", claims(nil))
	if sub, err := a.Subject(request("Authorization", forged)); err == nil {
		t.Fatalf("no secret yet: a token signed with an empty key is caller %q", sub)
	}
	ring.Set([]byte(secret), nil)
	if sub, err := a.Subject(request("Authorization", forged)); err == nil {
		t.Fatalf("a token signed with an empty key is caller %q", sub)
	}
	if _, err := a.Subject(request("Authorization", "Bearer "+sign(t, jwt.SigningMethodHS256, []byte(secret), "", claims(nil)))); err != nil {
		t.Fatalf("a token of the secret: %v", err)
	}
}
