package strictjson

import (
	"errors"
	"strings"
	"testing"
)

type inner struct {
	Type string `json:"type"`
}

type base struct {
	Size *int64 `json:"size"`
}

type request struct {
	base
	Name  string            `json:"name,omitempty"`
	Tags  map[string]string `json:"tags"`
	Parts []struct {
		PartNumber int
	} `json:"parts"`
	Enc  *inner `json:"enc"`
	Skip string `json:"-"`
}

func TestUnmarshal(t *testing.T) {
	tests := []struct {
		name, body string
		field      string // "" with ok: accepted; with !ok: refused without a field
		ok         bool
	}{
		{"plain", `{"name":"a","size":1,"tags":{"t":"1","T":"2"},"parts":[{"PartNumber":1}],"enc":{"type":"x"}}`, "", true},
		{"repeated name", `{"name":"a","name":"b"}`, "name", false},
		{"case-variant repeat", `{"size":1,"SIZE":2}`, "SIZE", false},
		{"case-variant alone", `{"Name":"a"}`, "Name", false},
		{"promoted field, case variant", `{"Size":1}`, "Size", false},
		{"nested", `{"enc":{"type":"a","Type":"b"}}`, "enc.Type", false},
		{"in an array", `{"parts":[{"PartNumber":1},{"PartNumber":1,"partNumber":2}]}`, "parts.partNumber", false},
		{"repeated map key", `{"tags":{"t":"1","t":"2"}}`, "tags.t", false},
		{"a tag of '-' is no field", `{"Skip":"x"}`, "", false},
		{"too deep", `{"tags":` + strings.Repeat("[", 100) + strings.Repeat("]", 100) + `}`, "", false},
		{"two values", `{} {}`, "", false},
	}
	for _, tt := range tests {
		var v request
		err := Unmarshal([]byte(tt.body), &v)
		var e *Error
		switch {
		case tt.ok && err != nil:
			t.Errorf("%s: %v", tt.name, err)
		case !tt.ok && err == nil:
			t.Errorf("%s: accepted", tt.name)
		case !tt.ok && tt.field != "" && (!errors.As(err, &e) || e.Field != tt.field):
			t.Errorf("%s: %v, want field %q", tt.name, err, tt.field)
		}
	}
	var v request
	if err := Unmarshal([]byte(`{"name":"a","extra":1}`), &v); err == nil {
		t.Error("Unmarshal must refuse unknown members")
	}
	if err := UnmarshalAllowUnknown([]byte(`{"name":"a","extra":1}`), &v); err != nil || v.Name != "a" {
		t.Errorf("UnmarshalAllowUnknown: %v %+v", err, v)
	}
	if err := UnmarshalAllowUnknown([]byte(`{"name":"a","NAME":"b"}`), &v); err == nil {
		t.Error("UnmarshalAllowUnknown must still refuse case variants")
	}
}
