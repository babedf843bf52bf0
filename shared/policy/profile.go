package policy

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/directup/directup/shared/errcode"
	"github.com/directup/directup/shared/strictjson"
)

// Profile is one kind of upload a deployment takes (UPLOAD_PROFILES): its own rules — the
// deployment's policy with the profile's rules laid over it — and who may use it.
type Profile struct {
	Name string
	// Rules is the whole rule set an upload of this profile is held to, on every route.
	Rules Policy
	// Claims, when set, admits only callers whose verified claims hold, for every claim
	// named, one of the listed values.
	Claims map[string][]string
}

// profileRules are a profile's JSON: each rule optional, falling back to the deployment's.
// The names follow the settings (UPLOAD_MAX_SIZE is maxSize).
type profileRules struct {
	AllowedTypes          []string            `json:"allowedTypes"`
	MaxSize               *int64              `json:"maxSize"`
	MinSize               *int64              `json:"minSize"`
	KeyPrefix             *string             `json:"keyPrefix"`
	KeyTemplate           *string             `json:"keyTemplate"`
	AllowedACLs           []string            `json:"allowedAcls"`
	AllowedStorageClasses []string            `json:"allowedStorageClasses"`
	AllowGrants           *bool               `json:"allowGrants"`
	ClientKeys            *bool               `json:"clientKeys"`
	ForbidOverwrite       *bool               `json:"forbidOverwrite"`
	URLTTL                *duration           `json:"urlTtl"`
	TokenTTL              *duration           `json:"tokenTtl"`
	PartSize              *int64              `json:"partSize"`
	VerifyContent         *bool               `json:"verifyContent"`
	RequiredMetadata      []string            `json:"requiredMetadata"`
	Claims                map[string][]string `json:"claims"`
}

// duration is a Go duration string ("1h", "15m").
type duration time.Duration

func (d *duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("a duration like \"1h\" or \"15m\"")
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("%q is not a duration like \"1h\" or \"15m\"", s)
	}
	*d = duration(v)
	return nil
}

// profileName is what a profile may be called: it travels in tokens, keys' templates and
// events.
var profileName = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,31}$`)

// ruleNames map the variables Validate names to the rule that sets them in a profile.
var ruleNames = map[string]string{
	"UPLOAD_ALLOWED_TYPES": "allowedTypes", "UPLOAD_MAX_SIZE": "maxSize", "UPLOAD_MIN_SIZE": "minSize",
	"UPLOAD_KEY_PREFIX": "keyPrefix", "UPLOAD_KEY_TEMPLATE": "keyTemplate", "UPLOAD_ALLOWED_ACLS": "allowedAcls",
	"UPLOAD_ALLOWED_STORAGE_CLASSES": "allowedStorageClasses", "UPLOAD_ALLOW_GRANTS": "allowGrants",
	"UPLOAD_CLIENT_KEYS": "clientKeys", "UPLOAD_FORBID_OVERWRITE": "forbidOverwrite", "UPLOAD_URL_TTL": "urlTtl",
	"UPLOAD_TOKEN_TTL": "tokenTtl", "UPLOAD_PART_SIZE": "partSize", "UPLOAD_VERIFY_CONTENT": "verifyContent",
	"UPLOAD_REQUIRED_METADATA": "requiredMetadata",
}

// ProfileError names the profile and the rule at fault, as one line under UPLOAD_PROFILES.
func ProfileError(name string, err error) error {
	msg := err.Error()
	for v, rule := range ruleNames {
		msg = strings.ReplaceAll(msg, v, rule)
	}
	return fmt.Errorf("UPLOAD_PROFILES: %s: %s", name, msg)
}

// ParseProfiles reads UPLOAD_PROFILES' JSON (profile name → rules) over the deployment's
// policy base, which must be valid. Each profile is validated like the deployment's
// settings; an unknown rule, a bad name or a rule out of bounds is an error naming it.
func ParseProfiles(js []byte, base Policy) (map[string]*Profile, error) {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(js, &raw); err != nil {
		return nil, fmt.Errorf("UPLOAD_PROFILES: not a JSON object of profile name to rules: %v", err)
	}
	names := make([]string, 0, len(raw))
	for n := range raw {
		names = append(names, n)
	}
	sort.Strings(names)
	out := make(map[string]*Profile, len(raw))
	for _, name := range names {
		if !profileName.MatchString(name) {
			return nil, fmt.Errorf("UPLOAD_PROFILES: %q: a profile name is 1 to 32 of a-z, 0-9, '-' and '_'", name)
		}
		p, err := parseProfile(name, raw[name], base)
		if err != nil {
			return nil, err
		}
		out[name] = p
	}
	return out, nil
}

func parseProfile(name string, js json.RawMessage, base Policy) (*Profile, error) {
	var r profileRules
	// Strictly: a rule misspelt or in another case is an error, never silently ignored.
	if err := strictjson.Unmarshal(js, &r); err != nil {
		return nil, fmt.Errorf("UPLOAD_PROFILES: %s: %v", name, err)
	}
	rules := base.clone()
	r.apply(&rules)
	if err := rules.Validate(); err != nil {
		return nil, ProfileError(name, err)
	}
	for claim, values := range r.Claims {
		if claim == "" || len(values) == 0 || slices.Contains(values, "") {
			return nil, fmt.Errorf("UPLOAD_PROFILES: %s: claims: each claim lists the values it admits (claim %q)", name, claim)
		}
	}
	return &Profile{Name: name, Rules: rules, Claims: r.Claims}, nil
}

// apply lays the rules the profile sets over p.
func (r *profileRules) apply(p *Policy) {
	set := func(dst *[]string, src []string) {
		if src != nil {
			*dst = slices.Clone(src)
		}
	}
	set(&p.AllowedTypes, r.AllowedTypes)
	set(&p.AllowedACLs, r.AllowedACLs)
	set(&p.AllowedStorageClasses, r.AllowedStorageClasses)
	set(&p.RequiredMetadata, r.RequiredMetadata)
	for _, v := range []struct {
		dst *int64
		src *int64
	}{{&p.MaxSize, r.MaxSize}, {&p.MinSize, r.MinSize}, {&p.DefaultPartSize, r.PartSize}} {
		if v.src != nil {
			*v.dst = *v.src
		}
	}
	for _, v := range []struct {
		dst *bool
		src *bool
	}{{&p.AllowGrants, r.AllowGrants}, {&p.ClientKeys, r.ClientKeys}, {&p.ForbidOverwrite, r.ForbidOverwrite}, {&p.VerifyContent, r.VerifyContent}} {
		if v.src != nil {
			*v.dst = *v.src
		}
	}
	if r.KeyPrefix != nil {
		p.KeyPrefix = *r.KeyPrefix
	}
	if r.KeyTemplate != nil {
		p.KeyTemplate = *r.KeyTemplate
	}
	if r.URLTTL != nil {
		p.URLTTL = time.Duration(*r.URLTTL)
	}
	if r.TokenTTL != nil {
		p.TokenTTL = time.Duration(*r.TokenTTL)
	}
}

// clone is p with its lists copied (Validate normalises them in place).
func (p Policy) clone() Policy {
	p.AllowedTypes = slices.Clone(p.AllowedTypes)
	p.AllowedACLs = slices.Clone(p.AllowedACLs)
	p.AllowedStorageClasses = slices.Clone(p.AllowedStorageClasses)
	p.RequiredMetadata = slices.Clone(p.RequiredMetadata)
	return p
}

// Admits reports whether a caller with these verified claims may use the profile.
func (p *Profile) Admits(claims map[string][]string) bool {
	for claim, allowed := range p.Claims {
		if !slices.ContainsFunc(claims[claim], func(v string) bool { return slices.Contains(allowed, v) }) {
			return false
		}
	}
	return true
}

// Refused is the answer to a caller the profile's claims rule does not admit.
func (p *Profile) Refused() *errcode.Error {
	return errcode.Denied("profile", "profile %s is not available to this caller", p.Name)
}
