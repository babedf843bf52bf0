package policy

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/directup/directup/shared/errcode"
	"github.com/directup/directup/shared/strictjson"
	"github.com/directup/directup/shared/wire"
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

// profileName is what a profile may be called: it travels in tokens, keys' templates and
// events.
var profileName = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,31}$`)

// ProfileError names the profile and the rule at fault, as one line under UPLOAD_PROFILES:
// the variables the deployment's checks name become the rules that set them.
func ProfileError(name string, err error) error {
	msg := err.Error()
	for _, f := range profileRules() {
		msg = strings.ReplaceAll(msg, f.Tag.Get("envconfig"), f.Tag.Get("profile"))
	}
	return fmt.Errorf("UPLOAD_PROFILES: %s: %s", name, msg)
}

// profileRules are the Policy fields a profile may set, by rule name: every field with a
// `profile` tag (its setting in camelCase). A new rule is one such field, its check, its
// test.
func profileRules() map[string]reflect.StructField {
	out := map[string]reflect.StructField{}
	t := reflect.TypeOf(Policy{})
	for i := 0; i < t.NumField(); i++ {
		if name := t.Field(i).Tag.Get("profile"); name != "" {
			out[name] = t.Field(i)
		}
	}
	return out
}

// ParseProfiles reads UPLOAD_PROFILES' JSON (profile name → rules) over the deployment's
// policy base, which must be valid. Each profile is validated like the deployment's
// settings; an unknown rule, a bad name or a rule out of bounds is an error naming it.
func ParseProfiles(js []byte, base Policy) (map[string]*Profile, error) {
	var raw map[string]json.RawMessage
	// Strictly: a profile named twice is an error, never the last one silently.
	if err := strictjson.UnmarshalAllowUnknown(js, &raw); err != nil || raw == nil {
		return nil, fmt.Errorf("UPLOAD_PROFILES: not a JSON object of profile name to rules (%v)", err)
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
	if _, err := NewFolders(base, out); err != nil {
		return nil, err
	}
	return out, nil
}

func parseProfile(name string, js json.RawMessage, base Policy) (*Profile, error) {
	var raw map[string]json.RawMessage
	// Strictly: a rule named twice is an error, never the last one silently.
	if err := strictjson.UnmarshalAllowUnknown(js, &raw); err != nil || raw == nil {
		return nil, fmt.Errorf("UPLOAD_PROFILES: %s: not a JSON object of rules", name)
	}
	rules := base.clone()
	// A profile's own folder unless it names one: what lies there is held to its rules.
	rules.KeyPrefix = base.KeyPrefix + name + "/"
	var claims map[string][]string
	fields := profileRules()
	v := reflect.ValueOf(&rules).Elem()
	for rule, value := range raw {
		if rule == "claims" {
			if err := json.Unmarshal(value, &claims); err != nil {
				return nil, fmt.Errorf("UPLOAD_PROFILES: %s: claims: an object of claim name to the values it admits", name)
			}
			continue
		}
		f, ok := fields[rule]
		if !ok {
			return nil, unknownRule(name, rule, fields)
		}
		if string(bytes.TrimSpace(value)) == "null" {
			continue // null: the deployment's own, as if unset
		}
		if err := setRule(v.FieldByIndex(f.Index), value); err != nil {
			return nil, fmt.Errorf("UPLOAD_PROFILES: %s: %s: %v", name, rule, err)
		}
	}
	if err := rules.Validate(); err != nil {
		return nil, ProfileError(name, err)
	}
	for claim, values := range claims {
		if claim == "" || len(values) == 0 || slices.Contains(values, "") {
			return nil, fmt.Errorf("UPLOAD_PROFILES: %s: claims: each claim lists the values it admits (claim %q)", name, claim)
		}
	}
	return &Profile{Name: name, Rules: rules, Claims: claims}, nil
}

// unknownRule names a rule no field has, and the spelling meant when only its case differs.
func unknownRule(profile, rule string, fields map[string]reflect.StructField) error {
	for known := range fields {
		if strings.EqualFold(known, rule) {
			return fmt.Errorf("UPLOAD_PROFILES: %s: rule %s must be spelled %s", profile, rule, known)
		}
	}
	return fmt.Errorf("UPLOAD_PROFILES: %s: %q is not a rule a profile sets", profile, rule)
}

// setRule sets one rule's field from its JSON: durations are Go duration strings ("1h").
func setRule(field reflect.Value, value json.RawMessage) error {
	if field.Type() == reflect.TypeOf(time.Duration(0)) {
		var s string
		if json.Unmarshal(value, &s) != nil {
			return errors.New(`a duration like "1h" or "15m"`)
		}
		d, err := time.ParseDuration(s)
		if err != nil {
			return fmt.Errorf("%q is not a duration like \"1h\" or \"15m\"", s)
		}
		field.SetInt(int64(d))
		return nil
	}
	target := reflect.New(field.Type())
	if err := json.Unmarshal(value, target.Interface()); err != nil {
		return fmt.Errorf("must be %s", wire.JSONKind(field.Type()))
	}
	field.Set(target.Elem())
	return nil
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

// Folders says which profile owns a key: the one whose keyPrefix is the longest that
// starts it ("" the deployment's own rules). Each profile owns its folder, so what storage
// reports is held to the rules of where it lies — never to a profile a writer picks.
type Folders struct {
	prefixes []string // longest first
	owners   []string
}

// NewFolders checks that every profile has a folder of its own — a prefix ending in '/',
// equal to no other profile's nor the deployment's (nested folders are fine: the longest
// owns its keys) — and returns who owns what.
func NewFolders(base Policy, profiles map[string]*Profile) (*Folders, error) {
	f := &Folders{prefixes: []string{base.KeyPrefix}, owners: []string{""}}
	names := make([]string, 0, len(profiles))
	for n := range profiles {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		prefix := profiles[n].Rules.KeyPrefix
		if prefix == "" || !strings.HasSuffix(prefix, "/") {
			return nil, fmt.Errorf("UPLOAD_PROFILES: %s: keyPrefix: a profile's folder is a prefix ending in '/' (%q)", n, prefix)
		}
		if i := slices.Index(f.prefixes, prefix); i >= 0 {
			other := "the deployment's UPLOAD_KEY_PREFIX"
			if f.owners[i] != "" {
				other = "profile " + f.owners[i]
			}
			return nil, fmt.Errorf("UPLOAD_PROFILES: %s: keyPrefix: %q is already the folder of %s; each profile has its own", n, prefix, other)
		}
		f.prefixes, f.owners = append(f.prefixes, prefix), append(f.owners, n)
	}
	idx := make([]int, len(f.prefixes))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return len(f.prefixes[idx[a]]) > len(f.prefixes[idx[b]]) })
	out := &Folders{}
	for _, i := range idx {
		out.prefixes, out.owners = append(out.prefixes, f.prefixes[i]), append(out.owners, f.owners[i])
	}
	return out, nil
}

// Owner is the profile whose folder holds key ("" the deployment's); ok is false for a
// key in no folder.
func (f *Folders) Owner(key string) (profile string, ok bool) {
	for i, p := range f.prefixes {
		if strings.HasPrefix(key, p) {
			return f.owners[i], true
		}
	}
	return "", false
}
