package config

import (
	"os"
	"testing"
)

// README (Security model, Keys): "Client keys are off by default": with nothing set, a
// deployment generates every key (UPLOAD_CLIENT_KEYS unset is false).
func TestGuaranteeClientKeysOffByDefault(t *testing.T) {
	for _, k := range Variables() {
		t.Setenv(k, "")
		os.Unsetenv(k)
	}
	c, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	if c.Policy.ClientKeys {
		t.Fatal("UPLOAD_CLIENT_KEYS defaults to true: clients may name keys in a deployment that never chose it")
	}
}
