// Package cloudfakes is loopback stand-ins of the cloud APIs directup calls, for tests:
// they speak the real protocols (AWS JSON 1.1 with X-Amz-Target, the AWS query protocol,
// Tencent's API v3 JSON) and check what the real services would: the request's
// signature, the action and its parameters, and for web identity federation the JWT's
// signature against the issuer's JWKS, its audience, subject and expiry.
package cloudfakes

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/golang-jwt/jwt/v5"
)

// Call is one request a stand-in answered: its action and its parameters as sent.
type Call struct {
	Action string
	Params map[string]any
	Header http.Header
}

// AWS answers Secrets Manager GetSecretValue, SSM GetParameter and STS
// GetWebIdentityToken for one set of role credentials, and serves the JWKS of the web
// identity tokens it issues (at JWKSPath; the server's URL is their issuer).
type AWS struct {
	URL              string
	AccessKeyID, Key string // the role credentials requests must be signed with
	Token            string
	Subject          string // the sub of issued tokens: the calling role's ARN
	Now              func() time.Time
	// Granted, when set, are the only name prefixes the role may read (as an IAM policy
	// on directup/* grants): any other secret or parameter is AccessDeniedException.
	Granted []string

	mu              sync.Mutex
	secrets, params map[string]string
	calls           []Call
	signingKey      *rsa.PrivateKey
	kid             string
	issued          int
}

// JWKSPath is where AWS serves the keys of the tokens it issues.
const JWKSPath = "/.well-known/jwks.json"

// NewAWS starts the stand-in; it stops with the test.
func NewAWS(t testing.TB) *AWS {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	a := &AWS{AccessKeyID: "AKIDROLE", Key: "role-secret-key", Token: "role-session-token",
		Subject: "arn:aws:iam::123456789012:role/directup-api", secrets: map[string]string{}, params: map[string]string{},
		signingKey: k, kid: "key-1", Now: time.Now}
	srv := httptest.NewServer(http.HandlerFunc(a.serve))
	t.Cleanup(srv.Close)
	a.URL = srv.URL
	return a
}

// Env is the environment that points the SDK at the stand-in with its credentials.
func (a *AWS) Env() map[string]string {
	return map[string]string{"AWS_ACCESS_KEY_ID": a.AccessKeyID, "AWS_SECRET_ACCESS_KEY": a.Key,
		"AWS_SESSION_TOKEN": a.Token, "AWS_REGION": "eu-west-1",
		"AWS_ENDPOINT_URL_SECRETS_MANAGER": a.URL, "AWS_ENDPOINT_URL_SSM": a.URL, "AWS_ENDPOINT_URL_STS": a.URL,
		"AWS_CONFIG_FILE": "/nonexistent", "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent", "AWS_EC2_METADATA_DISABLED": "true"}
}

// SetSecret stores a Secrets Manager secret; SetParameter an SSM SecureString.
func (a *AWS) SetSecret(id, value string) { a.mu.Lock(); a.secrets[id] = value; a.mu.Unlock() }

// SetParameter stores an SSM parameter.
func (a *AWS) SetParameter(name, value string) { a.mu.Lock(); a.params[name] = value; a.mu.Unlock() }

// Calls returns the requests answered so far.
func (a *AWS) Calls() []Call {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]Call(nil), a.calls...)
}

// RotateSigningKey replaces the key tokens are signed with (and the JWKS served).
func (a *AWS) RotateSigningKey() {
	k, _ := rsa.GenerateKey(rand.Reader, 2048)
	a.mu.Lock()
	a.signingKey, a.kid = k, a.kid+"'"
	a.mu.Unlock()
}

// JWKS is the issuer's key set as JSON.
func (a *AWS) JWKS() []byte {
	a.mu.Lock()
	defer a.mu.Unlock()
	pub := a.signingKey.PublicKey
	js, _ := json.Marshal(map[string]any{"keys": []map[string]string{{"kty": "RSA", "alg": "RS256", "use": "sig", "kid": a.kid,
		"n": b64(pub.N.Bytes()), "e": b64(exponent(pub.E))}}})
	return js
}

func (a *AWS) serve(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == JWKSPath {
		w.Write(a.JWKS())
		return
	}
	body, _ := io.ReadAll(r.Body)
	service, err := a.checkSignature(r, body)
	if err != nil {
		awsError(w, r, 403, "SignatureDoesNotMatch", err.Error())
		return
	}
	if target := r.Header.Get("X-Amz-Target"); target != "" {
		a.serveJSON(w, r, service, target, body)
		return
	}
	q, _ := url.ParseQuery(string(body))
	params := map[string]any{}
	for k, v := range q {
		params[k] = v[0]
	}
	a.record(Call{Action: q.Get("Action"), Params: params, Header: r.Header.Clone()})
	if service != "sts" || q.Get("Action") != "GetWebIdentityToken" {
		awsError(w, r, 400, "InvalidAction", "not served here")
		return
	}
	a.webIdentityToken(w, r, q)
}

func (a *AWS) record(c Call) { a.mu.Lock(); a.calls = append(a.calls, c); a.mu.Unlock() }

func (a *AWS) serveJSON(w http.ResponseWriter, r *http.Request, service, target string, body []byte) {
	var in map[string]any
	if err := json.Unmarshal(body, &in); err != nil {
		awsError(w, r, 400, "SerializationException", "not JSON")
		return
	}
	a.record(Call{Action: target, Params: in, Header: r.Header.Clone()})
	a.mu.Lock()
	defer a.mu.Unlock()
	name, _ := in["SecretId"].(string)
	if p, ok := in["Name"].(string); ok {
		name = p
	}
	if !a.granted(name) {
		awsError(w, r, 400, "AccessDeniedException", "the role is not allowed to read this resource")
		return
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	switch {
	case service == "secretsmanager" && target == "secretsmanager.GetSecretValue":
		id, _ := in["SecretId"].(string)
		v, ok := a.secrets[id]
		if !ok {
			awsError(w, r, 400, "ResourceNotFoundException", "Secrets Manager can't find the specified secret.")
			return
		}
		json.NewEncoder(w).Encode(map[string]any{"ARN": "arn:aws:secretsmanager:eu-west-1:123456789012:secret:" + id,
			"Name": id, "SecretString": v, "VersionId": "v1", "VersionStages": []string{"AWSCURRENT"}})
	case service == "ssm" && target == "AmazonSSM.GetParameter":
		name, _ := in["Name"].(string)
		v, ok := a.params[name]
		if !ok {
			awsError(w, r, 400, "ParameterNotFound", "")
			return
		}
		if in["WithDecryption"] != true {
			v = "ENCRYPTED-BLOB" // a SecureString read without decryption
		}
		json.NewEncoder(w).Encode(map[string]any{"Parameter": map[string]any{"Name": name, "Type": "SecureString", "Value": v, "Version": 1}})
	default:
		awsError(w, r, 400, "UnknownOperationException", target)
	}
}

func (a *AWS) granted(name string) bool {
	if len(a.Granted) == 0 {
		return true
	}
	for _, p := range a.Granted {
		if strings.HasPrefix(name, p) {
			return true
		}
	}
	return false
}

// webIdentityToken issues an RS256 JWT as AWS STS does for outbound identity federation.
func (a *AWS) webIdentityToken(w http.ResponseWriter, r *http.Request, q url.Values) {
	aud := q.Get("Audience.member.1")
	if aud == "" || q.Get("Audience.member.2") != "" || q.Get("SigningAlgorithm") != "RS256" {
		awsError(w, r, 400, "ValidationError", "one audience and RS256 expected")
		return
	}
	d, _ := strconv.Atoi(q.Get("DurationSeconds"))
	if d == 0 {
		d = 300
	}
	if d < 60 || d > 3600 {
		awsError(w, r, 400, "ValidationError", "DurationSeconds out of range")
		return
	}
	a.mu.Lock()
	a.issued++
	now := a.Now()
	exp := now.Add(time.Duration(d) * time.Second)
	tok := jwt.NewWithClaims(jwt.SigningMethodRS256, jwt.MapClaims{"iss": a.URL, "aud": aud, "sub": a.Subject,
		"iat": now.Unix(), "nbf": now.Unix(), "exp": exp.Unix(), "jti": fmt.Sprintf("jti-%d", a.issued)})
	tok.Header["kid"] = a.kid
	s, err := tok.SignedString(a.signingKey)
	a.mu.Unlock()
	if err != nil {
		awsError(w, r, 500, "InternalFailure", err.Error())
		return
	}
	w.Header().Set("Content-Type", "text/xml")
	fmt.Fprintf(w, `<GetWebIdentityTokenResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><GetWebIdentityTokenResult>`+
		`<WebIdentityToken>%s</WebIdentityToken><Expiration>%s</Expiration></GetWebIdentityTokenResult>`+
		`<ResponseMetadata><RequestId>req-1</RequestId></ResponseMetadata></GetWebIdentityTokenResponse>`, s, exp.UTC().Format(time.RFC3339))
}

// checkSignature recomputes the request's SigV4 signature with the SDK's own signer over
// the headers the request says it signed, and returns the service it was signed for.
func (a *AWS) checkSignature(r *http.Request, body []byte) (string, error) {
	auth := r.Header.Get("Authorization")
	fields := map[string]string{}
	rest, ok := strings.CutPrefix(auth, "AWS4-HMAC-SHA256 ")
	if !ok {
		return "", fmt.Errorf("not a SigV4 request")
	}
	for _, f := range strings.Split(rest, ", ") {
		k, v, _ := strings.Cut(f, "=")
		fields[k] = v
	}
	scope := strings.Split(fields["Credential"], "/")
	if len(scope) != 5 || scope[0] != a.AccessKeyID {
		return "", fmt.Errorf("unknown access key")
	}
	if r.Header.Get("X-Amz-Security-Token") != a.Token {
		return "", fmt.Errorf("the session token is missing")
	}
	at, err := time.Parse("20060102T150405Z", r.Header.Get("X-Amz-Date"))
	if err != nil {
		return "", fmt.Errorf("no X-Amz-Date")
	}
	again, _ := http.NewRequest(r.Method, "http://"+r.Host+r.URL.RequestURI(), bytes.NewReader(body))
	again.Host = r.Host
	for _, h := range strings.Split(fields["SignedHeaders"], ";") {
		if h != "host" {
			again.Header[http.CanonicalHeaderKey(h)] = r.Header.Values(h)
		}
	}
	sum := sha256.Sum256(body)
	err = v4.NewSigner().SignHTTP(context.Background(), aws.Credentials{AccessKeyID: a.AccessKeyID, SecretAccessKey: a.Key, SessionToken: a.Token},
		again, hex.EncodeToString(sum[:]), scope[3], scope[2], at)
	if err != nil {
		return "", err
	}
	if want := again.Header.Get("Authorization"); want != auth {
		return "", fmt.Errorf("the signature does not match")
	}
	return scope[3], nil
}

func awsError(w http.ResponseWriter, r *http.Request, status int, code, msg string) {
	if r.Header.Get("X-Amz-Target") != "" {
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		w.WriteHeader(status)
		json.NewEncoder(w).Encode(map[string]string{"__type": code, "message": msg})
		return
	}
	w.Header().Set("Content-Type", "text/xml")
	w.WriteHeader(status)
	fmt.Fprintf(w, `<ErrorResponse><Error><Type>Sender</Type><Code>%s</Code><Message>%s</Message></Error><RequestId>r</RequestId></ErrorResponse>`, code, msg)
}
