package storerest

import (
	"maps"
	"slices"
	"strings"

	"github.com/directup/directup/shared/errcode"
	"github.com/directup/directup/shared/formpolicy"
	"github.com/directup/directup/shared/storage"
)

// FormFields renders an object's settings as the fields of a browser form upload (POST
// Object) and the policy conditions pinning each to its value: the entity headers under
// their own names, metadata, storage class and encryption as lowercase x-cos-*/x-amz-*
// fields, the canned ACL as "acl" (both clouds' form name). extra are the store's own
// headers (COS's grants). What a form cannot carry is refused: forbid-overwrite (neither
// cloud's POST Object checks it), SSE-C (the key would sit in the page) and tags.
func FormFields(obj *storage.Object, n Names, extra map[string][]string) (map[string]string, []formpolicy.Condition, error) {
	switch {
	case obj.ForbidOverwrite:
		return nil, nil, &errcode.Error{Code: errcode.NotAvailable, Field: "forbidOverwrite",
			Message: "a form upload cannot forbid overwriting: upload it in parts"}
	case obj.Encryption != nil && obj.Encryption.Type == storage.SSEC:
		return nil, nil, &errcode.Error{Code: errcode.NotAvailable, Field: "encryption",
			Message: "a form upload cannot use SSE-C: upload it in parts"}
	case len(obj.Tags) > 0:
		return nil, nil, &errcode.Error{Code: errcode.NotAvailable, Field: "tagging",
			Message: "a form upload cannot tag the object: upload it in parts"}
	}
	h := InitiateHeaders(obj, n)
	for k, v := range extra {
		h[k] = v
	}
	fields := map[string]string{"key": obj.Key}
	conds := []formpolicy.Condition{formpolicy.Eq("key", obj.Key)}
	for _, name := range slices.Sorted(maps.Keys(h)) { // one order: the same policy text each time
		vs := h[name]
		if len(vs) == 0 {
			continue
		}
		field := name
		switch lower := strings.ToLower(name); {
		case lower == strings.ToLower(n.Prefix)+"acl":
			field = "acl"
		case strings.HasPrefix(lower, strings.ToLower(n.Prefix)):
			field = lower
		}
		fields[field] = vs[0]
		conds = append(conds, formpolicy.Eq(field, vs[0]))
	}
	return fields, conds, nil
}
