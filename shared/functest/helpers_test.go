package functest

import (
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"
)

// ClearEnv leaves only what KeptEnv keeps, the go command still works under it (ModuleDir
// runs it), and everything comes back when the test ends.
func TestClearEnv(t *testing.T) {
	t.Setenv("DIRECTUP_TEST_LEAK", "1")
	t.Setenv("COS_BUCKET", "leaked-1250000000")
	t.Setenv("HOOK_URL", "https://hook.example")
	before := slices.Sorted(slices.Values(os.Environ()))
	t.Run("cleared", func(t *testing.T) {
		ClearEnv(t)
		for _, kv := range os.Environ() {
			if name, _, _ := strings.Cut(kv, "="); !KeptEnv(name) {
				t.Errorf("%s survived", name)
			}
		}
		for _, k := range []string{"DIRECTUP_TEST_LEAK", "COS_BUCKET", "HOOK_URL"} {
			if v, ok := os.LookupEnv(k); ok {
				t.Errorf("%s=%q: set, want unset", k, v)
			}
		}
		if os.Getenv("PATH") == "" {
			t.Error("PATH cleared")
		}
		if dir := ModuleDir(t, "github.com/golang-jwt/jwt/v5"); dir == "" {
			t.Error("no module dir")
		}
		if out, err := exec.Command("go", "env", "GOMODCACHE").CombinedOutput(); err != nil || strings.TrimSpace(string(out)) == "" {
			t.Errorf("go env GOMODCACHE: %v %s", err, out)
		}
		if _, err := os.Stat(t.TempDir()); err != nil {
			t.Error(err)
		}
	})
	if after := slices.Sorted(slices.Values(os.Environ())); !slices.Equal(after, before) {
		t.Errorf("the environment was not restored:\n%q\nwant\n%q", after, before)
	}
}

func TestKeptEnv(t *testing.T) {
	for name, want := range map[string]bool{
		"PATH": true, "HOME": true, "TMPDIR": true, "GOCACHE": true, "GOFLAGS": true, "GOROOT": true,
		"CGO_ENABLED": true, "LC_ALL": true, "LANG": true, "SystemRoot": true, "https_proxy": true,
		"COS_BUCKET": false, "S3_ENDPOINT": false, "HOOK_URL": false, "EVENTS_URL": false, "AWS_LAMBDA_RUNTIME_API": false,
		"TENCENTCLOUD_SECRETID": false, "UPLOAD_TOKEN_SECRET": false, "_LAMBDA_SERVER_PORT": false,
	} {
		if KeptEnv(name) != want {
			t.Errorf("KeptEnv(%s) = %v, want %v", name, !want, want)
		}
	}
}

func TestJWT(t *testing.T) {
	exp := time.Now().Add(time.Minute).Truncate(time.Second)
	if JWT(t, "alice") == JWT(t, "bob") || JWT(t, "alice", exp) == JWT(t, "alice", exp.Add(time.Hour)) {
		t.Fatal("the subject and the expiry must be in the token")
	}
}
