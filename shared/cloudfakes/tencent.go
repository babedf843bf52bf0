package cloudfakes

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/MicahParks/keyfunc/v3"
	"github.com/golang-jwt/jwt/v5"
)

// Tencent answers SSM GetSecretValue (signed TC3-HMAC-SHA256 with SecretID/SecretKey and
// Token, the function's role credentials) and STS AssumeRoleWithWebIdentity (unsigned),
// which holds the JWT to what CAM checks for an OIDC identity provider: its signature
// against the provider's copy of the issuer's JWKS, the issuer, audience, subject and
// expiry, the provider id and the role.
type Tencent struct {
	URL                       string
	SecretID, SecretKey       string
	Token                     string
	ProviderID, RoleARN       string
	Issuer, Audience, Subject string // what the CAM OIDC provider and the role's trust policy pin
	Refuse                    bool   // every exchange refused, as a misconfigured provider would
	// Keys, when set, are the temporary keys every exchange hands out (a store that
	// accepts one set); else the n-th exchange hands out AKIDWEBID<n>, webid-key-<n>, webid-token-<n>.
	Keys *[3]string
	Now  func() time.Time
	// NoCurrentLabel refuses VersionId SSM_Current, as SSM may for a user-defined secret.
	NoCurrentLabel bool

	mu      sync.Mutex
	secrets map[string][]tcVersion // every version set, oldest first (v1, v2, ...)
	calls   []Call
	jwks    keyfunc.Keyfunc
	issued  int
}

// NewTencent starts the stand-in; it stops with the test. Trust, when not nil, is the
// AWS issuer whose JWKS the OIDC provider copies now (CAM keeps a copy: a later rotation
// at AWS is unknown to it until the provider is updated).
func NewTencent(t testing.TB, trust *AWS) *Tencent {
	tc := &Tencent{SecretID: "AKIDTENCENTROLE", SecretKey: "tencent-role-key", Token: "tencent-role-token",
		ProviderID: "directup-aws", RoleARN: "qcs::cam::uin/100:roleName/directup-cos",
		Audience: "sts.tencentcloudapi.com", secrets: map[string][]tcVersion{}, Now: time.Now}
	if trust != nil {
		tc.Issuer, tc.Subject = trust.URL, trust.Subject
		tc.CopyJWKS(t, trust)
	}
	srv := httptest.NewServer(http.HandlerFunc(tc.serve))
	t.Cleanup(srv.Close)
	tc.URL = srv.URL
	return tc
}

// CopyJWKS (re)takes the issuer's current keys, as updating the CAM provider does.
func (tc *Tencent) CopyJWKS(t testing.TB, issuer *AWS) {
	k, err := keyfunc.NewJWKSetJSON(issuer.JWKS())
	if err != nil {
		t.Fatal(err)
	}
	tc.mu.Lock()
	tc.jwks = k
	tc.mu.Unlock()
}

// tcVersion is one version of an SSM secret.
type tcVersion struct {
	id, value string
	at        time.Time
}

// SetSecret stores a new version of an SSM secret (v1, v2, ...), which becomes SSM_Current.
func (tc *Tencent) SetSecret(name, value string) {
	tc.mu.Lock()
	now := time.Now()
	if tc.Now != nil {
		now = tc.Now()
	}
	tc.secrets[name] = append(tc.secrets[name], tcVersion{fmt.Sprintf("v%d", len(tc.secrets[name])+1), value, now})
	tc.mu.Unlock()
}

// Calls returns the requests answered so far.
func (tc *Tencent) Calls() []Call {
	tc.mu.Lock()
	defer tc.mu.Unlock()
	return append([]Call(nil), tc.calls...)
}

func (tc *Tencent) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	var params map[string]any
	if err := json.Unmarshal(body, &params); err != nil {
		tcError(w, "InvalidParameter", "not JSON")
		return
	}
	action := r.Header.Get("X-TC-Action")
	tc.mu.Lock()
	tc.calls = append(tc.calls, Call{Action: action, Params: params, Header: r.Header.Clone()})
	tc.mu.Unlock()
	switch action {
	case "GetSecretValue":
		if err := tc.checkTC3(r, body, "ssm"); err != nil {
			tcError(w, "AuthFailure.SignatureFailure", err.Error())
			return
		}
		tc.getSecretValue(w, params)
	case "ListSecretVersionIds":
		if err := tc.checkTC3(r, body, "ssm"); err != nil {
			tcError(w, "AuthFailure.SignatureFailure", err.Error())
			return
		}
		tc.listSecretVersionIds(w, params)
	case "AssumeRoleWithWebIdentity":
		if r.Header.Get("Authorization") != "SKIP" || r.Header.Get("X-TC-Token") != "" {
			tcError(w, "InvalidParameter", "AssumeRoleWithWebIdentity is called unsigned")
			return
		}
		tc.assumeRoleWithWebIdentity(w, params)
	default:
		tcError(w, "InvalidAction", action)
	}
}

func (tc *Tencent) getSecretValue(w http.ResponseWriter, p map[string]any) {
	tc.mu.Lock()
	vs := tc.secrets[fmt.Sprint(p["SecretName"])]
	tc.mu.Unlock()
	if len(vs) == 0 {
		tcError(w, "ResourceNotFound", "The secret does not exist.")
		return
	}
	want := fmt.Sprint(p["VersionId"])
	v := vs[len(vs)-1]
	if want == "SSM_Current" && tc.NoCurrentLabel {
		tcError(w, "ResourceNotFound.VersionNotFound", "the version SSM_Current does not exist")
		return
	}
	if want != "SSM_Current" {
		found := false
		for _, o := range vs {
			if o.id == want {
				v, found = o, true
			}
		}
		if !found {
			tcError(w, "ResourceNotFound.VersionNotFound", "no such version")
			return
		}
	}
	js, _ := json.Marshal(map[string]any{"Response": map[string]any{"SecretName": p["SecretName"], "VersionId": v.id,
		"SecretString": v.value, "RequestId": "req-ssm"}})
	w.Write(js)
}

func (tc *Tencent) listSecretVersionIds(w http.ResponseWriter, p map[string]any) {
	tc.mu.Lock()
	vs := tc.secrets[fmt.Sprint(p["SecretName"])]
	tc.mu.Unlock()
	if len(vs) == 0 {
		tcError(w, "ResourceNotFound", "The secret does not exist.")
		return
	}
	var list []map[string]any
	for i := len(vs) - 1; i >= 0; i-- { // as SSM's own example lists them: newest first
		list = append(list, map[string]any{"VersionId": vs[i].id, "CreateTime": vs[i].at.Unix()})
	}
	js, _ := json.Marshal(map[string]any{"Response": map[string]any{"SecretName": p["SecretName"], "Versions": list, "RequestId": "req-ssm"}})
	w.Write(js)
}

func (tc *Tencent) assumeRoleWithWebIdentity(w http.ResponseWriter, p map[string]any) {
	if tc.Refuse {
		tcError(w, "InvalidParameter.WebIdentityTokenError", "the identity provider refuses the token")
		return
	}
	if p["ProviderId"] != tc.ProviderID || p["RoleArn"] != tc.RoleARN || p["RoleSessionName"] == "" {
		tcError(w, "InvalidParameter", "provider, role or session name")
		return
	}
	d, _ := p["DurationSeconds"].(float64)
	if d == 0 {
		d = 7200
	}
	tc.mu.Lock()
	k := tc.jwks
	tc.mu.Unlock()
	raw, _ := p["WebIdentityToken"].(string)
	tok, err := jwt.Parse(raw, k.Keyfunc, jwt.WithValidMethods([]string{"RS256"}), jwt.WithIssuer(tc.Issuer),
		jwt.WithAudience(tc.Audience), jwt.WithSubject(tc.Subject), jwt.WithExpirationRequired(),
		jwt.WithTimeFunc(tc.Now))
	if err != nil || !tok.Valid {
		tcError(w, "InvalidParameter.WebIdentityTokenError", "the web identity token is not valid")
		return
	}
	tc.mu.Lock()
	tc.issued++
	n := tc.issued
	tc.mu.Unlock()
	exp := tc.Now().Add(time.Duration(d) * time.Second)
	keys := [3]string{"AKIDWEBID" + strconv.Itoa(n), "webid-key-" + strconv.Itoa(n), "webid-token-" + strconv.Itoa(n)}
	if tc.Keys != nil {
		keys = *tc.Keys
	}
	js, _ := json.Marshal(map[string]any{"Response": map[string]any{"Credentials": map[string]string{
		"TmpSecretId": keys[0], "TmpSecretKey": keys[1], "Token": keys[2]},
		"ExpiredTime": exp.Unix(), "Expiration": exp.UTC().Format(time.RFC3339), "RequestId": "req-webid"}})
	w.Write(js)
}

// checkTC3 recomputes the TC3-HMAC-SHA256 signature as Tencent Cloud API v3 documents it.
func (tc *Tencent) checkTC3(r *http.Request, body []byte, service string) error {
	auth, ok := strings.CutPrefix(r.Header.Get("Authorization"), "TC3-HMAC-SHA256 ")
	if !ok {
		return fmt.Errorf("not a TC3-HMAC-SHA256 request")
	}
	f := map[string]string{}
	for _, kv := range strings.Split(auth, ", ") {
		k, v, _ := strings.Cut(kv, "=")
		f[k] = v
	}
	ts := r.Header.Get("X-TC-Timestamp")
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return fmt.Errorf("no timestamp")
	}
	date := time.Unix(sec, 0).UTC().Format("2006-01-02")
	scope := date + "/" + service + "/tc3_request"
	if f["Credential"] != tc.SecretID+"/"+scope || f["SignedHeaders"] != "content-type;host" {
		return fmt.Errorf("unknown key or scope")
	}
	if r.Header.Get("X-TC-Token") != tc.Token {
		return fmt.Errorf("the session token is missing")
	}
	canonical := fmt.Sprintf("%s\n/\n\ncontent-type:%s\nhost:%s\n\ncontent-type;host\n%s", r.Method,
		r.Header.Get("Content-Type"), r.Host, sha(string(body)))
	toSign := "TC3-HMAC-SHA256\n" + ts + "\n" + scope + "\n" + sha(canonical)
	k := mac([]byte("TC3"+tc.SecretKey), date)
	k = mac(k, service)
	k = mac(k, "tc3_request")
	if !hmac.Equal([]byte(hex.EncodeToString(mac(k, toSign))), []byte(f["Signature"])) {
		return fmt.Errorf("the signature does not match")
	}
	return nil
}

func sha(s string) string { sum := sha256.Sum256([]byte(s)); return hex.EncodeToString(sum[:]) }

func mac(key []byte, s string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(s))
	return m.Sum(nil)
}

func tcError(w http.ResponseWriter, code, msg string) {
	js, _ := json.Marshal(map[string]any{"Response": map[string]any{"Error": map[string]string{"Code": code, "Message": msg}, "RequestId": "req-err"}})
	w.Write(js)
}
