// Package auth identifies the caller of the upload API: nobody (a gateway in front
// authenticates), a JWT (HS256 with a shared secret, or RS256/ES256 against a JWKS URL),
// or identity headers a trusted gateway sets. The subject it finds goes into keys and
// binds every follow-up call of an upload to the same caller.
package auth

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/MicahParks/keyfunc/v3"
	"github.com/golang-jwt/jwt/v5"

	"github.com/directup/directup/shared/gateway"
	"github.com/directup/directup/shared/signed"
)

// Modes.
const (
	ModeNone    = "none"
	ModeJWT     = "jwt"
	ModeGateway = "gateway"
)

// Settings select and tune the mode; tags name the environment variables.
type Settings struct {
	Mode      string `envconfig:"AUTH_MODE" default:"none"`
	JWTSecret string `envconfig:"AUTH_JWT_SECRET"`
	// JWTSecretFrom names a secret store's entry holding it instead (shared/secrets).
	JWTSecretFrom string `envconfig:"AUTH_JWT_SECRET_FROM"`
	JWKSURL       string `envconfig:"AUTH_JWKS_URL"`
	// JWTAlgorithms pins the accepted algorithms for JWKS tokens (RS256, ES256).
	JWTAlgorithms []string `envconfig:"AUTH_JWT_ALGORITHMS" default:"RS256,ES256"`
	Audience      string   `envconfig:"AUTH_AUDIENCE"`
	Issuer        string   `envconfig:"AUTH_ISSUER"`
	// GatewayHeader carries the caller's id when a trusted gateway authenticates.
	GatewayHeader string `envconfig:"AUTH_GATEWAY_HEADER" default:"X-Auth-Subject"`
	// GatewayClaim, when set, takes the caller from the gateway's verified authorizer
	// context in the event instead of a header: "sub" for a JWT or Cognito authorizer,
	// "principalId" for a REST Lambda authorizer, a context key for an HTTP API Lambda
	// authorizer, "userArn" for IAM.
	GatewayClaim string        `envconfig:"AUTH_GATEWAY_CLAIM"`
	Leeway       time.Duration `envconfig:"AUTH_CLOCK_LEEWAY" default:"30s"`
}

// Validate checks the settings; errors name the variable.
func (c *Settings) Validate() error {
	switch c.Mode {
	case ModeNone:
	case ModeGateway:
		if c.GatewayHeader == "" && c.GatewayClaim == "" {
			return errors.New("AUTH_GATEWAY_HEADER or AUTH_GATEWAY_CLAIM: required with AUTH_MODE=gateway")
		}
	case ModeJWT:
		if (c.JWTSecret == "" && c.JWTSecretFrom == "") == (c.JWKSURL == "") {
			return errors.New("AUTH_JWT_SECRET or AUTH_JWKS_URL: set exactly one with AUTH_MODE=jwt")
		}
		if c.JWTSecret != "" && len(c.JWTSecret) < 32 {
			return errors.New("AUTH_JWT_SECRET: at least 32 characters")
		}
		if c.JWKSURL != "" && !strings.HasPrefix(c.JWKSURL, "https://") && !strings.HasPrefix(c.JWKSURL, "http://127.0.0.1") && !strings.HasPrefix(c.JWKSURL, "http://localhost") {
			return errors.New("AUTH_JWKS_URL: must be https (http only for localhost)")
		}
		for _, a := range c.JWTAlgorithms {
			if a != "RS256" && a != "ES256" {
				return fmt.Errorf("AUTH_JWT_ALGORITHMS: %q is not RS256 or ES256", a)
			}
		}
		if c.Audience == "" || c.Issuer == "" {
			return errors.New("AUTH_AUDIENCE and AUTH_ISSUER: required with AUTH_MODE=jwt, so tokens minted for other services are refused")
		}
	default:
		return fmt.Errorf("AUTH_MODE: %q is not none, jwt or gateway", c.Mode)
	}
	return nil
}

// Error is an authentication failure (401); its message is safe to show.
type Error struct{ Message string }

func (e *Error) Error() string { return e.Message }

// Authenticator finds the caller of a request.
type Authenticator struct {
	cfg    Settings
	parser *jwt.Parser

	mu   sync.Mutex
	jwks keyfunc.Keyfunc // fetched on first use: nothing touches the network at start
	// secret, when set, holds AUTH_JWT_SECRET read from a store (UseSecret).
	secret signed.Keys
}

// UseSecret verifies HS256 tokens with keys that may rotate (AUTH_JWT_SECRET_FROM): a
// token signed with the value before a rotation verifies until it expires.
func (a *Authenticator) UseSecret(k signed.Keys) { a.secret = k }

// New returns an authenticator for a validated config.
func New(cfg Settings) (*Authenticator, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	a := &Authenticator{cfg: cfg}
	if cfg.Mode == ModeJWT {
		algs := cfg.JWTAlgorithms
		if cfg.JWTSecret != "" || cfg.JWTSecretFrom != "" {
			algs = []string{"HS256"} // a shared secret never verifies asymmetric tokens, nor the reverse
		}
		a.parser = jwt.NewParser(jwt.WithValidMethods(algs), jwt.WithAudience(cfg.Audience), jwt.WithIssuer(cfg.Issuer),
			jwt.WithExpirationRequired(), jwt.WithLeeway(cfg.Leeway), jwt.WithIssuedAt())
	}
	return a, nil
}

// Mode reports the configured mode.
func (a *Authenticator) Mode() string { return a.cfg.Mode }

// Identity is an authenticated caller.
type Identity struct {
	Subject string
	// Expires is when the credential that proved it stops being valid (a JWT's exp);
	// zero when it does not say (gateway identity). Grants minted for the caller, such
	// as Uppy capabilities, end no later.
	Expires time.Time
	// Claims are what the credential says of the caller, each as a list of strings (a
	// JWT's claims — strings, numbers, booleans, lists of them — or a gateway authorizer's
	// context), for profiles' claims rules. Never read from anything a client could set.
	Claims map[string][]string
}

// Subject authenticates r and returns the caller's subject ("" in mode none).
func (a *Authenticator) Subject(r *http.Request) (string, error) {
	id, err := a.Identify(r)
	return id.Subject, err
}

// Identify authenticates r and returns the caller (zero in mode none).
func (a *Authenticator) Identify(r *http.Request) (Identity, error) {
	switch a.cfg.Mode {
	case ModeGateway:
		if claim := a.cfg.GatewayClaim; claim != "" {
			// From the event the gateway built after verifying the caller: headers, which
			// a client could send itself, are not read at all.
			claims, _ := gateway.Authorizer(r.Context())
			sub := strings.TrimSpace(claims[claim])
			if sub == "" || len(sub) > 256 {
				return Identity{}, &Error{"the gateway's authorizer did not identify the caller (" + claim + ")"}
			}
			listed := make(map[string][]string, len(claims))
			for k, v := range claims {
				listed[k] = []string{v}
			}
			return Identity{Subject: sub, Claims: listed}, nil
		}
		sub := strings.TrimSpace(r.Header.Get(a.cfg.GatewayHeader))
		if sub == "" || len(sub) > 256 {
			return Identity{}, &Error{"the gateway did not identify the caller (" + a.cfg.GatewayHeader + ")"}
		}
		return Identity{Subject: sub}, nil
	case ModeJWT:
		raw, ok := bearer(r.Header.Get("Authorization"))
		if !ok {
			return Identity{}, &Error{"send a bearer token in the Authorization header"}
		}
		var claims strictClaims
		if _, err := a.parser.ParseWithClaims(raw, &claims, a.keyfunc(r.Context())); err != nil {
			return Identity{}, &Error{"the bearer token is not valid: " + reason(err)}
		}
		if claims.Subject == "" || len(claims.Subject) > 256 {
			return Identity{}, &Error{"the bearer token has no usable subject"}
		}
		return Identity{Subject: claims.Subject, Expires: claims.ExpiresAt.Time, Claims: claims.listed}, nil // exp is required
	}
	return Identity{}, nil
}

// bearer returns the token of an Authorization header "Bearer <token>": the scheme is
// case-insensitive and may be followed by several spaces (RFC 7235: auth-scheme 1*SP
// token68).
func bearer(header string) (string, bool) {
	scheme, rest, ok := strings.Cut(header, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	raw := strings.TrimRight(strings.TrimLeft(rest, " "), " \t")
	return raw, raw != "" && !strings.ContainsAny(raw, " \t")
}

// Refusals the parser does not make itself.
var (
	// errCritical: a token whose header has "crit" lists extensions the recipient must
	// understand (RFC 7515 §4.1.11); directup understands none, so any crit, well formed
	// or not, refuses the token.
	errCritical = errors.New("the token has critical header extensions (crit), none of which is supported")
	// errNumericDate: exp, nbf and iat are NumericDates, JSON numbers (RFC 7519 §2); the
	// parser would also take a string holding a number ("exp":"9999999999").
	errNumericDate = errors.New("exp, nbf and iat must be JSON numbers")
)

// strictClaims are the registered claims, refusing a time claim that is not a JSON number,
// and every claim as strings (listed).
type strictClaims struct {
	jwt.RegisteredClaims
	listed map[string][]string
}

func (c *strictClaims) UnmarshalJSON(b []byte) error {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(b, &fields); err != nil {
		return err
	}
	for _, name := range []string{"exp", "nbf", "iat"} {
		if v, ok := fields[name]; ok && !isJSONNumber(v) {
			return errNumericDate
		}
	}
	c.listed = make(map[string][]string, len(fields))
	for name, v := range fields {
		if values := claimStrings(v); len(values) > 0 {
			c.listed[name] = values
		}
	}
	return json.Unmarshal(b, &c.RegisteredClaims)
}

// claimStrings is a claim's value as strings: a string, number or boolean is one; a list
// of them is each; anything else (objects, nested lists, null) is none.
func claimStrings(v json.RawMessage) []string {
	var list []json.RawMessage
	if json.Unmarshal(v, &list) != nil {
		list = []json.RawMessage{v}
	}
	var out []string
	for _, item := range list {
		var s string
		if json.Unmarshal(item, &s) == nil {
			out = append(out, s)
			continue
		}
		var scalar any
		if json.Unmarshal(item, &scalar) == nil {
			switch scalar.(type) {
			case float64, bool:
				out = append(out, strings.TrimSpace(string(item)))
			}
		}
	}
	return out
}

// isJSONNumber reports whether v (one JSON value) is a number: not a string, null,
// boolean, array or object.
func isJSONNumber(v json.RawMessage) bool {
	v = bytes.TrimSpace(v)
	return len(v) > 0 && (v[0] == '-' || ('0' <= v[0] && v[0] <= '9'))
}

type identityKey struct{}

// WithIdentity records the authenticated caller in ctx.
func WithIdentity(ctx context.Context, id Identity) context.Context {
	return context.WithValue(ctx, identityKey{}, id)
}

// FromContext returns the caller WithIdentity recorded (zero if none).
func FromContext(ctx context.Context) Identity {
	id, _ := ctx.Value(identityKey{}).(Identity)
	return id
}

// reason names the failed check without echoing the token.
func reason(err error) string {
	for _, e := range []error{errCritical, errNumericDate, jwt.ErrTokenExpired, jwt.ErrTokenNotValidYet, jwt.ErrTokenInvalidAudience, jwt.ErrTokenInvalidIssuer,
		jwt.ErrTokenSignatureInvalid, jwt.ErrTokenUnverifiable, jwt.ErrTokenMalformed, jwt.ErrTokenRequiredClaimMissing, jwt.ErrTokenUsedBeforeIssued} {
		if errors.Is(err, e) {
			return e.Error()
		}
	}
	return "verification failed"
}

// keyfunc finds the key of a token, and refuses first a token whose header the parser
// accepts but directup must not (crit): before any key is looked up or fetched.
func (a *Authenticator) keyfunc(ctx context.Context) jwt.Keyfunc {
	find := a.key(ctx)
	return func(t *jwt.Token) (any, error) {
		if _, ok := t.Header["crit"]; ok {
			return nil, errCritical
		}
		return find(t)
	}
}

func (a *Authenticator) key(ctx context.Context) jwt.Keyfunc {
	if a.secret != nil {
		return func(*jwt.Token) (any, error) {
			sign, previous := a.secret.Keys()
			set := jwt.VerificationKeySet{}
			for _, k := range append([][]byte{sign}, previous...) {
				if len(k) > 0 {
					set.Keys = append(set.Keys, k)
				}
			}
			if len(set.Keys) == 0 {
				return nil, errors.New("auth: no secret yet")
			}
			return set, nil
		}
	}
	if a.cfg.JWTSecret != "" {
		secret := []byte(a.cfg.JWTSecret)
		return func(*jwt.Token) (any, error) { return secret, nil }
	}
	return func(t *jwt.Token) (any, error) {
		a.mu.Lock()
		if a.jwks == nil {
			// keyfunc caches the set, refreshes it hourly and on an unknown kid (rate limited).
			k, err := keyfunc.NewDefaultCtx(context.Background(), []string{a.cfg.JWKSURL})
			if err != nil {
				a.mu.Unlock()
				return nil, err
			}
			a.jwks = k
		}
		k := a.jwks
		a.mu.Unlock()
		return k.KeyfuncCtx(ctx)(t)
	}
}
