package config

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/directup/directup/shared/functest"
	_ "github.com/directup/directup/shared/localmode"  // local mode, as go run links it
	_ "github.com/directup/directup/shared/stores/all" // the production stores
)

func TestLoad(t *testing.T) {
	secret := strings.Repeat("s", 32)
	tests := []struct {
		name string
		env  map[string]string
		want string // error prefix; "" for success
	}{
		{"local mode needs nothing", nil, ""},
		{"cloud", map[string]string{"COS_BUCKET": "examplebucket-1250000000", "COS_REGION": "ap-guangzhou", "UPLOAD_TOKEN_SECRET": secret}, ""},
		{"cloud without secret", map[string]string{"COS_BUCKET": "examplebucket-1250000000", "COS_REGION": "ap-guangzhou"}, "config: UPLOAD_TOKEN_SECRET"},
		{"bucket without appid", map[string]string{"COS_BUCKET": "examplebucket", "COS_REGION": "ap-guangzhou", "UPLOAD_TOKEN_SECRET": secret}, "config: COS_BUCKET"},
		{"no region", map[string]string{"COS_BUCKET": "examplebucket-1250000000", "UPLOAD_TOKEN_SECRET": secret}, "config: COS_REGION"},
		{"malformed size", map[string]string{"UPLOAD_MAX_SIZE": "5GB"}, "config: assigning UPLOAD_MAX_SIZE"},
		{"malformed ttl", map[string]string{"UPLOAD_URL_TTL": "an hour"}, "config: assigning UPLOAD_URL_TTL"},
		{"bad acl", map[string]string{"UPLOAD_ALLOWED_ACLS": "public-read,everyone"}, "config: UPLOAD_ALLOWED_ACLS"},
		{"bad role", map[string]string{"COS_BUCKET": "examplebucket-1250000000", "COS_REGION": "ap-guangzhou", "UPLOAD_TOKEN_SECRET": secret, "COS_ROLE_ARN": "uploader"}, "config: COS_ROLE_ARN"},
		{"keys without a role", map[string]string{"COS_BUCKET": "examplebucket-1250000000", "COS_REGION": "ap-guangzhou", "UPLOAD_TOKEN_SECRET": secret, "UPLOAD_ALLOW_STS": "true"}, "config: UPLOAD_ALLOW_STS"},
		{"keys on S3", map[string]string{"S3_BUCKET": "uploads", "S3_REGION": "us-east-1", "UPLOAD_TOKEN_SECRET": secret, "UPLOAD_ALLOW_STS": "true"}, "config: UPLOAD_ALLOW_STS"},
		{"keys with a role", map[string]string{"COS_BUCKET": "examplebucket-1250000000", "COS_REGION": "ap-guangzhou", "UPLOAD_TOKEN_SECRET": secret, "UPLOAD_ALLOW_STS": "true", "COS_ROLE_ARN": "qcs::cam::uin/1:roleName/up"}, ""},
		{"keys living a day", map[string]string{"UPLOAD_STS_TTL": "24h"}, "config: UPLOAD_STS_TTL"},
		{"capability ttl of ten years", map[string]string{"API_CAPABILITY_TTL": "87600h"}, "config: API_CAPABILITY_TTL"},
		{"capability ttl of zero", map[string]string{"API_CAPABILITY_TTL": "0s"}, "config: API_CAPABILITY_TTL"},
		{"negative capability ttl", map[string]string{"API_CAPABILITY_TTL": "-1h"}, "config: API_CAPABILITY_TTL"},
		{"request timeout of zero", map[string]string{"API_REQUEST_TIMEOUT": "0s"}, "config: API_REQUEST_TIMEOUT"},
		{"profiles", map[string]string{"UPLOAD_PROFILES": `{"avatar":{"allowedTypes":["image/png"],"maxSize":1048576}}`}, ""},
		{"profiles not JSON", map[string]string{"UPLOAD_PROFILES": `avatar`}, "config: UPLOAD_PROFILES: not a JSON object"},
		{"a profile's bad rule", map[string]string{"UPLOAD_PROFILES": `{"avatar":{"maxSize":-1}}`}, "config: UPLOAD_PROFILES: avatar: maxSize"},
		{"profiles twice", map[string]string{"UPLOAD_PROFILES": `{}`, "UPLOAD_PROFILES_FILE": "p.json"}, "config: UPLOAD_PROFILES and UPLOAD_PROFILES_FILE"},
		{"profiles file missing", map[string]string{"UPLOAD_PROFILES_FILE": "/nonexistent/profiles.json"}, "config: UPLOAD_PROFILES_FILE"},
		{"minimum over maximum", map[string]string{"UPLOAD_MIN_SIZE": "10", "UPLOAD_MAX_SIZE": "5"}, "config: UPLOAD_MIN_SIZE"},
		{"bad required metadata", map[string]string{"UPLOAD_REQUIRED_METADATA": "a b"}, "config: UPLOAD_REQUIRED_METADATA"},
		{"archive with verification", map[string]string{"UPLOAD_ALLOWED_STORAGE_CLASSES": "STANDARD,ARCHIVE"}, "config: UPLOAD_ALLOWED_STORAGE_CLASSES: ARCHIVE objects cannot be read"},
		{"archive without verification", map[string]string{"UPLOAD_ALLOWED_STORAGE_CLASSES": "STANDARD,ARCHIVE", "UPLOAD_VERIFY_CONTENT": "false"}, ""},
		{"bad sts endpoint", map[string]string{"COS_BUCKET": "examplebucket-1250000000", "COS_REGION": "ap-guangzhou", "UPLOAD_TOKEN_SECRET": secret, "STS_ENDPOINT": "sts.local"}, "config: STS_ENDPOINT"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			functest.ClearEnv(t)
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			_, err := Load()
			if (tt.want == "") != (err == nil) || (err != nil && !strings.HasPrefix(err.Error(), tt.want)) {
				t.Fatalf("Load = %v, want %q", err, tt.want)
			}
			if err != nil && strings.Contains(err.Error(), "\n") {
				t.Errorf("the error must be one line: %q", err)
			}
		})
	}
}

func TestPolicyFromEnv(t *testing.T) {
	functest.ClearEnv(t)
	t.Setenv("UPLOAD_MAX_SIZE", "1048576")
	t.Setenv("UPLOAD_ALLOWED_TYPES", "image/*,Video/MP4")
	t.Setenv("UPLOAD_URL_TTL", "15m")
	c, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	if c.MaxSize != 1<<20 || c.URLTTL != 15*time.Minute || strings.Join(c.AllowedTypes, ",") != "image/*,video/mp4" ||
		c.KeyPrefix != "uploads/" || c.AllowGrants || len(c.AllowedACLs) != 0 || !c.Local() || c.Addr() != "127.0.0.1:8080" {
		t.Fatalf("config = %+v", c)
	}
}

// ClearEnv leaves Load nothing of the process environment: not the variables a stale
// hand list missed (HOOK_*, EVENTS_*, S3_ENDPOINT), not a bucket.
func TestClearEnvHidesTheMachine(t *testing.T) {
	for k, v := range map[string]string{"HOOK_URL": "https://hook.example/pre", "EVENTS_URL": "https://events.example/in",
		"S3_ENDPOINT": "http://127.0.0.1:9000", "COS_BUCKET": "leaked-1250000000"} {
		t.Setenv(k, v)
	}
	functest.ClearEnv(t)
	for _, k := range Variables() {
		if v, ok := os.LookupEnv(k); ok {
			t.Errorf("%s=%q reaches Load", k, v)
		}
	}
	c, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	if c.Hook.URL != "" || c.Events.URL != "" || c.StoreName != "local" || !c.Local() {
		t.Fatalf("Load saw the machine's environment: hook %q, events %q, store %s", c.Hook.URL, c.Events.URL, c.StoreName)
	}
}

// UPLOAD_PROFILES_FILE reads the same JSON from a file shipped with the function.
func TestProfilesFile(t *testing.T) {
	functest.ClearEnv(t)
	path := t.TempDir() + "/profiles.json"
	if err := os.WriteFile(path, []byte(`{"docs":{"allowedTypes":["application/pdf"],"requiredMetadata":["project"]}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("UPLOAD_PROFILES_FILE", path)
	c, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	d := c.Profiles["docs"]
	if d == nil || d.Rules.AllowedTypes[0] != "application/pdf" || d.Rules.RequiredMetadata[0] != "project" || d.Rules.MaxSize != c.MaxSize {
		t.Fatalf("profiles = %+v", c.Profiles)
	}
}
