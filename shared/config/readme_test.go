package config

import (
	"os"
	"strings"
	"testing"
)

// Every variable directup reads is in README's Settings table: a setting users cannot
// find is one they cannot set (or know they set).
func TestREADMESettingsTable(t *testing.T) {
	raw, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	readme := string(raw)
	start := strings.Index(readme, "\n## Settings\n")
	end := strings.Index(readme[start+1:], "\n## ")
	table := readme[start : start+1+end]
	for _, v := range append(Variables(), "AWS_ENDPOINT_URL_SECRETS_MANAGER", "AWS_ENDPOINT_URL_SSM", "AWS_ENDPOINT_URL_STS") {
		if !strings.Contains(table, "`"+v+"`") {
			t.Errorf("README's Settings table does not name %s", v)
		}
	}
}
