// Package config reads directup's settings from the environment (with envconfig) and
// checks them; shared/app wires the application from them.
package config

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/kelseyhightower/envconfig"

	"github.com/directup/directup/shared/auth"
	"github.com/directup/directup/shared/events"
	"github.com/directup/directup/shared/hook"
	"github.com/directup/directup/shared/policy"
	"github.com/directup/directup/shared/secrets"
	"github.com/directup/directup/shared/stores"
)

// Config is every setting. Each field names its environment variable.
type Config struct {
	// Where the API listens in local mode and as an SCF web function.
	Port string `envconfig:"PORT" default:"8080"`
	Host string `envconfig:"HOST"`

	// Store is the chosen store's own settings (shared/stores: at most one may be
	// configured; none is local mode, where development builds link it); StoreName names it.
	Store     stores.Settings `ignored:"true"`
	StoreName string          `ignored:"true"`
	local     bool
	drivers   []loaded

	TokenSecret string `envconfig:"UPLOAD_TOKEN_SECRET"`
	// Any secret setting NAME may be NAME_FROM, a reference to a secret store's entry
	// (shared/secrets), read on first use and again after SecretsTTL; SecretRefs holds
	// the parsed references by setting name.
	TokenSecretFrom string        `envconfig:"UPLOAD_TOKEN_SECRET_FROM"`
	SecretsTTL      time.Duration `envconfig:"SECRETS_TTL" default:"5m"`
	// SecretsGrace is how long a value a rotation replaced still verifies (tokens,
	// capabilities, records signed before it), counted from the rotation.
	SecretsGrace       time.Duration          `envconfig:"SECRETS_PREVIOUS_TTL" default:"24h"`
	TencentSSMEndpoint string                 `envconfig:"TENCENT_SSM_ENDPOINT"`
	SecretRefs         map[string]secrets.Ref `ignored:"true"`

	CORSOrigins []string `envconfig:"API_CORS_ORIGINS" default:"*"`
	BasePath    string   `envconfig:"API_BASE_PATH"`
	// PublicURL is the API's external base URL, for the companionEndpoint of capabilities
	// (derived from the request when unset).
	PublicURL string `envconfig:"API_PUBLIC_URL"`
	// CapabilityTTL is how long a capability (Uppy's companionEndpoint) stays valid, at
	// most (never beyond the minting caller's JWT).
	CapabilityTTL time.Duration `envconfig:"API_CAPABILITY_TTL" default:"1h"`
	// CompanionOpenUploads lets Uppy start uploads without declaring a size: their part
	// URLs pin no size, so the size limit is enforced only at complete.
	CompanionOpenUploads bool `envconfig:"API_COMPANION_OPEN_UPLOADS" default:"false"`
	// CompanionForms answers Uppy's small-file path (GET /s3/params) with a signed form
	// upload (POST Object); false refuses it, so every Uppy upload goes in parts and is
	// checked at complete (a form's object is checked only by the storage-triggered function).
	CompanionForms bool `envconfig:"API_COMPANION_FORMS" default:"true"`
	// RequestTimeout bounds one API request, storage retries included.
	RequestTimeout time.Duration `envconfig:"API_REQUEST_TIMEOUT" default:"15s"`

	// The deployer's pre-create hook (HOOK_URL, HOOK_SECRET, HOOK_TIMEOUT) and where
	// outcomes are told (EVENTS_URL, EVENTS_SECRET).
	Hook   hook.Settings
	Events events.Settings

	// Queue function: callbacks are signed with this secret and may go to these hosts.
	QueueCallbackSecret     string   `envconfig:"QUEUE_CALLBACK_SECRET"`
	QueueCallbackSecretFrom string   `envconfig:"QUEUE_CALLBACK_SECRET_FROM"`
	QueueCallbackHosts      []string `envconfig:"QUEUE_CALLBACK_ALLOWED_HOSTS"`

	// Profiles are the kinds of upload the deployment takes (UPLOAD_PROFILES, a JSON object
	// of profile name to rules, or UPLOAD_PROFILES_FILE, a path to the same).
	ProfilesJSON string                     `envconfig:"UPLOAD_PROFILES"`
	ProfilesFile string                     `envconfig:"UPLOAD_PROFILES_FILE"`
	Profiles     map[string]*policy.Profile `ignored:"true"`

	policy.Policy
	auth.Settings
}

// Local reports whether no bucket is configured: the embedded store is used.
func (c *Config) Local() bool { return c.local }

// Load reads and checks the environment; an error is one line naming the variable.
func Load() (*Config, error) {
	// An empty value counts as unset, so a deployment template can pass "" for "default"
	// (SAM parameters and serverless.yml variables often do).
	ours := Variables() // walked once: a cold start reads the environment once
	for _, kv := range os.Environ() {
		name, value, _ := strings.Cut(kv, "=")
		if value == "" && slices.Contains(ours, name) {
			os.Unsetenv(name)
		}
	}
	var c Config
	if err := envconfig.Process("", &c); err != nil {
		return nil, errors.New("config: " + strings.TrimPrefix(err.Error(), "envconfig.Process: "))
	}
	if err := c.readReferences(ours); err != nil {
		return nil, err
	}
	if c.SecretsTTL < 10*time.Second || c.SecretsTTL > 24*time.Hour {
		return nil, errors.New("config: SECRETS_TTL: must be between 10s and 24h")
	}
	if c.SecretsGrace < time.Minute || c.SecretsGrace > 30*24*time.Hour {
		return nil, errors.New("config: SECRETS_PREVIOUS_TTL: must be between 1m and 720h")
	}
	if c.TencentSSMEndpoint != "" {
		if u, err := url.Parse(c.TencentSSMEndpoint); err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
			return nil, errors.New("config: TENCENT_SSM_ENDPOINT: must be a URL like https://ssm.tencentcloudapi.com")
		}
	}
	if err := c.readStores(); err != nil {
		return nil, err
	}
	if err := c.Policy.Validate(); err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	if c.Policy.AllowSTS && c.TokenSecretFrom != "" && c.SecretsGrace < c.Policy.STSTTL {
		// Declarations of temporary keys are sealed with the token secret: they must verify
		// as long as the keys issued before a rotation can write.
		return nil, errors.New("config: SECRETS_PREVIOUS_TTL: must be at least UPLOAD_STS_TTL, so what was declared for temporary keys issued before a rotation holds until they expire")
	}
	if err := c.loadProfiles(); err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	if err := c.Settings.Validate(); err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	if c.CapabilityTTL < time.Minute || c.CapabilityTTL > 24*time.Hour {
		return nil, errors.New("config: API_CAPABILITY_TTL: must be between 1m and 24h")
	}
	if c.RequestTimeout < time.Second || c.RequestTimeout > 15*time.Minute {
		return nil, errors.New("config: API_REQUEST_TIMEOUT: must be between 1s and 15m")
	}
	if err := c.Hook.Validate(); err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	if err := c.Events.Validate(); err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	if c.BasePath != "" && (!strings.HasPrefix(c.BasePath, "/") || strings.HasSuffix(c.BasePath, "/")) {
		return nil, errors.New("config: API_BASE_PATH: must start with '/' and not end with one, like /api")
	}
	if err := c.chooseStore(); err != nil {
		return nil, err
	}
	if c.Local() {
		return &c, nil
	}
	if len(c.TokenSecret) < 32 && c.TokenSecretFrom == "" {
		return nil, errors.New("config: UPLOAD_TOKEN_SECRET (or UPLOAD_TOKEN_SECRET_FROM): required, at least 32 characters (e.g. openssl rand -hex 32)")
	}
	return &c, nil
}

// readReferences parses every NAME_FROM set, refusing NAME set beside it: which of the two
// holds would be a guess. Nothing is read from a store here (that waits for first use).
func (c *Config) readReferences(ours []string) error {
	c.SecretRefs = map[string]secrets.Ref{}
	for _, from := range ours {
		name, ok := strings.CutSuffix(from, "_FROM")
		ref := os.Getenv(from)
		if !ok || ref == "" {
			continue
		}
		if os.Getenv(name) != "" {
			return fmt.Errorf("config: %s and %s: set one, not both", name, from)
		}
		r, err := secrets.Parse(ref)
		if err != nil {
			return fmt.Errorf("config: %s: %v", from, err)
		}
		c.SecretRefs[name] = r
	}
	return nil
}

// loadProfiles reads the profiles from UPLOAD_PROFILES or UPLOAD_PROFILES_FILE (not both).
func (c *Config) loadProfiles() error {
	js := []byte(c.ProfilesJSON)
	switch {
	case c.ProfilesJSON != "" && c.ProfilesFile != "":
		return errors.New("UPLOAD_PROFILES and UPLOAD_PROFILES_FILE: set one, not both")
	case c.ProfilesFile != "":
		var err error
		if js, err = os.ReadFile(c.ProfilesFile); err != nil {
			return fmt.Errorf("UPLOAD_PROFILES_FILE: %v", err)
		}
	case c.ProfilesJSON == "":
		return nil
	}
	profiles, err := policy.ParseProfiles(js, c.Policy)
	if err != nil {
		return err
	}
	c.Profiles = profiles
	return nil
}

// readStores reads every registered store's settings (with the other variables: a
// malformed one is reported first, as envconfig reports the rest).
func (c *Config) readStores() error {
	c.drivers = nil
	for _, d := range stores.Drivers() {
		st := d.NewSettings()
		if err := envconfig.Process("", st); err != nil {
			return errors.New("config: " + strings.TrimPrefix(err.Error(), "envconfig.Process: "))
		}
		c.drivers = append(c.drivers, loaded{d, st})
	}
	return nil
}

// loaded is a registered store with the settings read for it.
type loaded struct {
	stores.Driver
	settings stores.Settings
}

// chooseStore keeps the one store configured (the fallback store when none is: local
// mode; none at all in a build without it, which Store then leaves nil) and checks it.
func (c *Config) chooseStore() error {
	var chosen []loaded
	var fallback *loaded
	for i, d := range c.drivers {
		switch {
		case d.Fallback:
			fallback = &c.drivers[i]
		case d.settings.Configured():
			chosen = append(chosen, d)
		}
	}
	switch {
	case len(chosen) > 1:
		return fmt.Errorf("config: %s and %s: set one storage, not both", chosen[0].Selector, chosen[1].Selector)
	case len(chosen) == 1:
		c.Store, c.StoreName = chosen[0].settings, chosen[0].Name
	case fallback != nil:
		c.Store, c.StoreName, c.local = fallback.settings, fallback.Name, true
	default:
		c.local = true // nothing to run on: the functions say what is required (StoreRequired)
		return nil
	}
	if err := c.Store.Validate(&c.Policy); err != nil {
		return fmt.Errorf("config: %w", err)
	}
	return nil
}

// StoreRequired names the variables that choose a store, for "required" messages:
// "COS_BUCKET (or S3_BUCKET)".
func StoreRequired() string {
	var selectors []string
	for _, d := range stores.Drivers() {
		if !d.Fallback {
			selectors = append(selectors, d.Selector)
		}
	}
	if len(selectors) == 0 {
		return "a store"
	}
	if len(selectors) == 1 {
		return selectors[0]
	}
	return selectors[0] + " (or " + strings.Join(selectors[1:], " or ") + ")"
}

// Variables lists every environment variable directup reads, for checks of deployment
// files: the settings above plus the role credentials SCF injects.
func Variables() []string {
	names := []string{"TENCENTCLOUD_SECRETID", "TENCENTCLOUD_SECRETKEY", "TENCENTCLOUD_SESSIONTOKEN", "TENCENTCLOUD_REGION",
		"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"}
	var walk func(t reflect.Type)
	walk = func(t reflect.Type) {
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			if f.Type.Kind() == reflect.Struct && f.Tag.Get("envconfig") == "" {
				walk(f.Type) // embedded, or a store's settings
			} else if name := f.Tag.Get("envconfig"); name != "" {
				names = append(names, name)
			}
		}
	}
	walk(reflect.TypeOf(Config{}))
	for _, d := range stores.Drivers() {
		walk(reflect.TypeOf(d.NewSettings()).Elem())
	}
	return names
}

// Addr is the listen address: loopback in local mode unless HOST says otherwise.
func (c *Config) Addr() string {
	host := c.Host
	if host == "" && c.Local() {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, c.Port)
}
