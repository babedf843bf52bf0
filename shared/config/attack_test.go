package config

import (
	"strings"
	"testing"

	"github.com/directup/directup/shared/functest"
)

// Secret rotation x temporary keys: the declarations that hold keys to what was declared
// (and keep API uploads off a key whose keys are out) are records sealed with the token
// secret. A previous value that stops verifying before keys issued under it expire turns
// their declarations into "records not written by directup": ignored, so another caller's
// API upload is let onto the key while the keys can still list, replace and complete it,
// and what the keys write is no longer held to its declaration. Refused at start.
func TestAttackPreviousSecretOutlivesTemporaryKeys(t *testing.T) {
	base := map[string]string{"COS_BUCKET": "examplebucket-1250000000", "COS_REGION": "ap-guangzhou",
		"UPLOAD_TOKEN_SECRET_FROM": "aws-secretsmanager:directup/upload-token", "UPLOAD_ALLOW_STS": "true",
		"COS_ROLE_ARN": "qcs::cam::uin/1:roleName/up", "UPLOAD_STS_TTL": "2h", "SECRETS_PREVIOUS_TTL": "1h"}
	functest.ClearEnv(t)
	for k, v := range base {
		t.Setenv(k, v)
	}
	_, err := Load()
	if err == nil || !strings.HasPrefix(err.Error(), "config: SECRETS_PREVIOUS_TTL") {
		t.Errorf("HOLE: SECRETS_PREVIOUS_TTL shorter than UPLOAD_STS_TTL accepted (%v): declarations of keys still valid stop verifying", err)
	}
	t.Setenv("SECRETS_PREVIOUS_TTL", "2h")
	if _, err := Load(); err != nil {
		t.Errorf("a previous value kept as long as keys live: %v", err)
	}
}
