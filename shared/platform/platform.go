// Package platform holds what the platform adapters in its subpackages (scf, lambda)
// share: today the answer to a body that is not the base64 it claims. Its start
// subpackage detects the platform that started the process and serves on it; what a
// gateway told about a request travels in shared/gateway.
package platform

import "encoding/json"

// BadBase64Body is the JSON answer (400, the API's error shape and invalid_json code) to
// an event whose body is marked base64 but is not: the client's fault, not an invocation
// error the gateway would turn into a 5xx.
func BadBase64Body(requestID string) string {
	js, _ := json.Marshal(map[string]any{"error": map[string]string{"code": "invalid_json",
		"message": "the body is marked base64 (isBase64Encoded) but is not valid base64", "requestId": requestID}})
	return string(js)
}
