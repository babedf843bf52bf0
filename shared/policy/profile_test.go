package policy

import (
	"os"
	"strings"
	"testing"
	"time"
)

func TestParseProfiles(t *testing.T) {
	base := Default()
	if err := base.Validate(); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name, js, wantErr string
		check             func(t *testing.T, p map[string]*Profile)
	}{
		{name: "the issue's example", js: `{"avatar":{"allowedTypes":["image/png","image/jpeg"],"maxSize":1048576,"keyPrefix":"avatars/","keyTemplate":"{prefix}{sub}/{random}/{filename}"},"video":{"allowedTypes":["video/mp4"],"maxSize":5368709120}}`,
			check: func(t *testing.T, p map[string]*Profile) {
				a, v := p["avatar"].Rules, p["video"].Rules
				if a.MaxSize != 1<<20 || a.KeyPrefix != "avatars/" || a.KeyTemplate != "{prefix}{sub}/{random}/{filename}" || len(a.AllowedTypes) != 2 {
					t.Errorf("avatar = %+v", a)
				}
				// Unset rules fall back to the deployment's.
				// keyPrefix: a folder of its own under the deployment's.
				if v.KeyPrefix != base.KeyPrefix+"video/" || v.URLTTL != base.URLTTL || !v.VerifyContent || v.DefaultPartSize != base.DefaultPartSize {
					t.Errorf("video did not inherit: %+v", v)
				}
			}},
		{name: "every rule", js: `{"docs":{"minSize":1,"maxSize":100,"allowedAcls":["private"],"allowedStorageClasses":["standard_ia"],"allowGrants":true,"clientKeys":true,"forbidOverwrite":true,"urlTtl":"15m","tokenTtl":"2h","partSize":16777216,"verifyContent":false,"requiredMetadata":["Project"],"claims":{"plan":["pro","team"]}}}`,
			check: func(t *testing.T, p map[string]*Profile) {
				d := p["docs"]
				r := d.Rules
				if r.MinSize != 1 || r.MaxSize != 100 || r.AllowedACLs[0] != "private" || r.AllowedStorageClasses[0] != "STANDARD_IA" || !r.AllowGrants ||
					!r.ClientKeys || !r.ForbidOverwrite || r.URLTTL != 15*time.Minute || r.TokenTTL != 2*time.Hour || r.DefaultPartSize != 16<<20 ||
					r.VerifyContent || r.RequiredMetadata[0] != "project" || len(d.Claims["plan"]) != 2 {
					t.Errorf("docs = %+v", d)
				}
			}},
		{name: "an empty list clears", js: `{"x":{"allowedAcls":[]}}`, check: func(t *testing.T, p map[string]*Profile) {
			if len(p["x"].Rules.AllowedACLs) != 0 {
				t.Error(p["x"].Rules.AllowedACLs)
			}
		}},
		{name: "rule in another case", js: `{"x":{"maxsize":1}}`, wantErr: `UPLOAD_PROFILES: x: rule maxsize must be spelled maxSize`},
		{name: "unknown rule", js: `{"x":{"maxFiles":1}}`, wantErr: `UPLOAD_PROFILES: x: "maxFiles" is not a rule`},
		{name: "a rule twice", js: `{"x":{"maxSize":1,"maxSize":2}}`, wantErr: `maxSize appears more than once`},
		{name: "a profile twice", js: `{"a":{"maxSize":10},"a":{"maxSize":999999}}`, wantErr: `a appears more than once`},
		{name: "null", js: `null`, wantErr: "UPLOAD_PROFILES: not a JSON object"},
		{name: "two profiles, one folder", js: `{"a":{"keyPrefix":"media/"},"b":{"keyPrefix":"media/"}}`, wantErr: `UPLOAD_PROFILES: b: keyPrefix: "media/" is already the folder of profile a`},
		{name: "the deployment's folder", js: `{"a":{"keyPrefix":"uploads/"}}`, wantErr: `UPLOAD_PROFILES: a: keyPrefix: "uploads/" is already the folder of the deployment's UPLOAD_KEY_PREFIX`},
		{name: "the whole bucket", js: `{"a":{"keyPrefix":""}}`, wantErr: `UPLOAD_PROFILES: a: keyPrefix: a profile's folder is a prefix ending in '/'`},
		{name: "a prefix that is no folder", js: `{"a":{"keyPrefix":"docs"}}`, wantErr: `UPLOAD_PROFILES: a: keyPrefix: a profile's folder`},
		{name: "a rule of the wrong type", js: `{"x":{"maxSize":"big"}}`, wantErr: `UPLOAD_PROFILES: x: maxSize: must be a whole number`},
		{name: "deployment-only settings are no rules", js: `{"x":{"partBatch":5}}`, wantErr: `UPLOAD_PROFILES: x: "partBatch" is not a rule`},
		{name: "null inherits", js: `{"x":{"maxSize":null}}`, check: func(t *testing.T, p map[string]*Profile) {
			if p["x"].Rules.MaxSize != base.MaxSize {
				t.Error(p["x"].Rules.MaxSize)
			}
		}},
		{name: "bad name", js: `{"Avatar!":{}}`, wantErr: `UPLOAD_PROFILES: "Avatar!": a profile name`},
		{name: "not an object", js: `["x"]`, wantErr: "UPLOAD_PROFILES: not a JSON object"},
		{name: "rule out of bounds names the rule", js: `{"big":{"maxSize":-1}}`, wantErr: "UPLOAD_PROFILES: big: maxSize: must be between"},
		{name: "min over max", js: `{"m":{"minSize":10,"maxSize":5}}`, wantErr: "UPLOAD_PROFILES: m: minSize:"},
		{name: "prefix escape through the template", js: `{"t":{"keyTemplate":"../{random}/{filename}"}}`, wantErr: "UPLOAD_PROFILES: t: keyTemplate:"},
		{name: "template without random", js: `{"t":{"keyTemplate":"{prefix}{filename}"}}`, wantErr: "UPLOAD_PROFILES: t: keyTemplate:"},
		{name: "records folder", js: `{"t":{"keyPrefix":".directup/"}}`, wantErr: "UPLOAD_PROFILES: t: keyPrefix:"},
		{name: "bad duration", js: `{"t":{"urlTtl":3600}}`, wantErr: "UPLOAD_PROFILES: t:"},
		{name: "reserved metadata", js: `{"t":{"requiredMetadata":["directup-upload"]}}`, wantErr: "UPLOAD_PROFILES: t: requiredMetadata:"},
		{name: "claims without values", js: `{"t":{"claims":{"plan":[]}}}`, wantErr: "UPLOAD_PROFILES: t: claims:"},
		{name: "unknown storage class", js: `{"t":{"allowedStorageClasses":["COLD"]}}`, wantErr: "UPLOAD_PROFILES: t: allowedStorageClasses:"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p, err := ParseProfiles([]byte(tt.js), base)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, p)
		})
	}
	// Profiles never change the deployment's own rules (lists are copied).
	if _, err := ParseProfiles([]byte(`{"x":{"allowedStorageClasses":["archive"],"verifyContent":false}}`), base); err != nil || base.AllowedStorageClasses[0] != "STANDARD" {
		t.Errorf("the base changed: %v %v", base.AllowedStorageClasses, err)
	}
}

func TestProfileAdmits(t *testing.T) {
	p := &Profile{Name: "pro", Claims: map[string][]string{"plan": {"pro", "team"}, "org": {"acme"}}}
	for _, tt := range []struct {
		claims map[string][]string
		want   bool
	}{
		{map[string][]string{"plan": {"pro"}, "org": {"acme"}}, true},
		{map[string][]string{"plan": {"free", "team"}, "org": {"acme"}}, true},
		{map[string][]string{"plan": {"pro"}}, false},
		{map[string][]string{"plan": {"Pro"}, "org": {"acme"}}, false},
		{map[string][]string{"plan": {"free"}, "org": {"acme"}}, false},
		{nil, false},
	} {
		if got := p.Admits(tt.claims); got != tt.want {
			t.Errorf("Admits(%v) = %v, want %v", tt.claims, got, tt.want)
		}
	}
	if !(&Profile{Name: "open"}).Admits(nil) {
		t.Error("a profile without a claims rule admits every caller")
	}
}

// Every rule a profile sets is named in README's Upload profiles section, and every
// setting a rule stands for is in its Settings table.
func TestProfileRulesAreDocumented(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(readme)
	section := doc[strings.Index(doc, "### Upload profiles"):]
	section = section[:strings.Index(section, "\n### ")]
	rules := profileRules()
	if len(rules) < 15 {
		t.Fatalf("%d rules", len(rules))
	}
	for name, f := range rules {
		if !strings.Contains(section, "`"+name+"`") {
			t.Errorf("rule %s is not in README's Upload profiles", name)
		}
		if !strings.Contains(doc, "| `"+f.Tag.Get("envconfig")+"` |") {
			t.Errorf("setting %s is not in README's Settings", f.Tag.Get("envconfig"))
		}
	}
}

// The longest folder owns a key: nested folders are each their profile's.
func TestFoldersOwner(t *testing.T) {
	base := Default()
	profiles, err := ParseProfiles([]byte(`{"media":{"keyPrefix":"media/"},"avatars":{"keyPrefix":"media/avatars/"},"video":{}}`), base)
	if err != nil {
		t.Fatal(err)
	}
	f, err := NewFolders(base, profiles)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		key, owner string
		ok         bool
	}{
		{"media/a.png", "media", true},
		{"media/avatars/me.png", "avatars", true},
		{"media/avatarsX/me.png", "media", true},
		{"uploads/video/v.mp4", "video", true},
		{"uploads/x/v.mp4", "", true},
		{"elsewhere/v.mp4", "", false},
	} {
		if owner, ok := f.Owner(tt.key); owner != tt.owner || ok != tt.ok {
			t.Errorf("Owner(%s) = %q %v, want %q %v", tt.key, owner, ok, tt.owner, tt.ok)
		}
	}
}
