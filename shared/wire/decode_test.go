package wire

import (
	"encoding/json"
	"errors"
	"testing"
)

func TestTypeMessage(t *testing.T) {
	type grants struct{ Read []string }
	type req struct {
		Size   *int64            `json:"size"`
		Grants *grants           `json:"grants"`
		Parts  []struct{ N int } `json:"parts"`
		Meta   map[string]string `json:"metadata"`
		Name   string            `json:"name"`
		On     bool              `json:"on"`
	}
	for _, tt := range []struct{ body, want string }{
		{`[]`, "the body must be an object, not a JSON array"},
		{`{"size":"5"}`, "size must be a whole number, not a JSON string"},
		{`{"grants":"x"}`, "grants must be an object, not a JSON string"},
		{`{"parts":{}}`, "parts must be a list, not a JSON object"},
		{`{"parts":[1]}`, "parts must be an object, not a JSON number"},
		{`{"metadata":[]}`, "metadata must be an object, not a JSON array"},
		{`{"name":1}`, "name must be a string, not a JSON number"},
		{`{"on":"yes"}`, "on must be a boolean, not a JSON string"},
	} {
		var v req
		var te *json.UnmarshalTypeError
		if err := json.Unmarshal([]byte(tt.body), &v); !errors.As(err, &te) {
			t.Fatalf("%s: %v", tt.body, err)
		}
		if got := TypeMessage(te); got != tt.want {
			t.Errorf("%s: %q, want %q", tt.body, got, tt.want)
		}
	}
}
