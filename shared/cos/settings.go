package cos

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/directup/directup/shared/credentials"
	"github.com/directup/directup/shared/policy"
	"github.com/directup/directup/shared/secrets"
	"github.com/directup/directup/shared/storage"
	"github.com/directup/directup/shared/stores"
)

// Settings are the COS store's environment variables (read by config with envconfig).
type Settings struct {
	Bucket   string `envconfig:"COS_BUCKET"`
	Region   string `envconfig:"COS_REGION"`
	Endpoint string `envconfig:"COS_ENDPOINT"`
	// Optional AssumeRole: the role whose keys sign COS requests.
	RoleARN         string        `envconfig:"COS_ROLE_ARN"`
	RoleSessionName string        `envconfig:"COS_ROLE_SESSION_NAME" default:"directup"`
	RoleDuration    time.Duration `envconfig:"COS_ROLE_DURATION" default:"2h"`
	STSEndpoint     string        `envconfig:"STS_ENDPOINT"`
	// The Tencent key AssumeRole starts from where no role credentials are injected (AWS
	// Lambda), read from a secret store (shared/secrets) rather than the configuration.
	SecretIDFrom  string `envconfig:"TENCENTCLOUD_SECRETID_FROM"`
	SecretKeyFrom string `envconfig:"TENCENTCLOUD_SECRETKEY_FROM"`
	// Keyless from AWS Lambda: the function's AWS web identity token is exchanged at
	// Tencent STS (AssumeRoleWithWebIdentity) for COS_ROLE_ARN's keys; no Tencent key.
	WebIdentityProviderID string `envconfig:"COS_WEB_IDENTITY_PROVIDER_ID"`
	WebIdentityAudience   string `envconfig:"COS_WEB_IDENTITY_AUDIENCE" default:"sts.tencentcloudapi.com"`

	secrets *secrets.Set // the settings read from stores (UseSecrets)
}

// UseSecrets hands the store the settings read from secret stores (the Tencent key).
func (s *Settings) UseSecrets(set *secrets.Set) { s.secrets = set }

func init() {
	stores.Register(stores.Driver{Name: "cos", Selector: "COS_BUCKET", NewSettings: func() stores.Settings { return &Settings{} }})
}

// Configured reports whether the deployment names a COS bucket.
func (s *Settings) Configured() bool { return s.Bucket != "" }

// Validate checks the settings and what the policy asks of them; errors name the variable.
func (s *Settings) Validate(p *policy.Policy) error {
	if err := (Config{Bucket: s.Bucket, Region: s.Region, Endpoint: s.Endpoint}).Validate(); err != nil {
		return err
	}
	if s.RoleARN != "" && !strings.HasPrefix(s.RoleARN, "qcs::cam::uin/") {
		return errors.New("COS_ROLE_ARN: must look like qcs::cam::uin/<uin>:roleName/<name>")
	}
	if s.STSEndpoint != "" {
		if u, err := url.Parse(s.STSEndpoint); err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
			return errors.New("STS_ENDPOINT: must be a URL like https://sts.tencentcloudapi.com")
		}
	}
	if s.WebIdentityProviderID != "" {
		switch {
		case s.RoleARN == "":
			return errors.New("COS_WEB_IDENTITY_PROVIDER_ID: needs COS_ROLE_ARN, the role the web identity is exchanged for")
		case s.SecretIDFrom != "" || s.SecretKeyFrom != "":
			return errors.New("COS_WEB_IDENTITY_PROVIDER_ID: the keyless path holds no Tencent key: unset TENCENTCLOUD_SECRETID_FROM and TENCENTCLOUD_SECRETKEY_FROM")
		case p.AllowSTS:
			return errors.New("UPLOAD_ALLOW_STS: not available with COS_WEB_IDENTITY_PROVIDER_ID (AssumeRoleWithWebIdentity takes no policy to narrow the keys with)")
		case s.WebIdentityAudience == "":
			return errors.New("COS_WEB_IDENTITY_AUDIENCE: must not be empty")
		}
	}
	if (s.SecretIDFrom == "") != (s.SecretKeyFrom == "") {
		return errors.New("TENCENTCLOUD_SECRETID_FROM and TENCENTCLOUD_SECRETKEY_FROM: set both or neither")
	}
	if p.AllowSTS && s.RoleARN == "" {
		return errors.New("UPLOAD_ALLOW_STS: needs COS_ROLE_ARN, the role Tencent STS narrows to each upload (AssumeRole works from the function's own role credentials)")
	}
	return nil
}

// Open returns the store (stores.Settings).
func (s *Settings) Open(httpClient *http.Client) (storage.Store, error) {
	return s.OpenClient(httpClient)
}

// OpenClient returns the COS client, signing with the SCF role's credentials (read per
// request; or the Tencent key from a secret store, TENCENTCLOUD_SECRETID_FROM) or, with
// COS_ROLE_ARN, an AssumeRole'd role's — with COS_WEB_IDENTITY_PROVIDER_ID, the role's
// keys the function's AWS web identity buys, and no Tencent key at all.
func (s *Settings) OpenClient(httpClient *http.Client) (*Client, error) {
	var creds credentials.Provider = credentials.SCFRole()
	if id := s.secrets.Secret("TENCENTCLOUD_SECRETID"); id != nil {
		creds = secrets.KeyPair{ID: id, Key: s.secrets.Secret("TENCENTCLOUD_SECRETKEY")}
	}
	base := creds
	var ar *credentials.AssumeRole
	if s.WebIdentityProviderID != "" {
		creds = s.webIdentity()
	} else if s.RoleARN != "" {
		ar = &credentials.AssumeRole{Base: creds, RoleARN: s.RoleARN, SessionName: s.RoleSessionName,
			Duration: s.RoleDuration, Region: s.Region}
		if s.STSEndpoint != "" {
			u, _ := url.Parse(s.STSEndpoint)
			ar.Endpoint, ar.Scheme = u.Host, strings.ToUpper(u.Scheme)
		}
		creds = ar
	}
	c, err := New(Config{Bucket: s.Bucket, Region: s.Region, Endpoint: s.Endpoint}, creds, httpClient)
	if err == nil && ar != nil {
		// Scoped keys for clients come from the same role, narrowed per upload.
		scoped := &credentials.AssumeRole{Base: base, RoleARN: ar.RoleARN, SessionName: ar.SessionName,
			Region: ar.Region, Endpoint: ar.Endpoint, Scheme: ar.Scheme}
		c.Issuer = func(ctx context.Context, policy string, ttl time.Duration) (credentials.Value, string, error) {
			return scoped.Scoped(ctx, policy, ttl)
		}
	}
	return c, err
}

// webIdentity is the keyless path: the function's AWS identity token exchanged at Tencent
// STS for COS_ROLE_ARN's keys (STS_ENDPOINT overrides Tencent's endpoint, the SDK's
// AWS_ENDPOINT_URL_STS AWS's).
func (s *Settings) webIdentity() *credentials.WebIdentity {
	w := &credentials.WebIdentity{Token: &credentials.AWSIdentityToken{Audience: s.WebIdentityAudience},
		ProviderID: s.WebIdentityProviderID, RoleARN: s.RoleARN, SessionName: s.RoleSessionName,
		Duration: s.RoleDuration, Region: s.Region}
	if s.STSEndpoint != "" {
		u, _ := url.Parse(s.STSEndpoint)
		w.Endpoint, w.Scheme = u.Host, strings.ToUpper(u.Scheme)
	}
	return w
}
