package cossign

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/hex"
)

// SignPolicy signs a POST Object policy document (its JSON text, before base64) for the
// window keyTime: HMAC-SHA1 keyed with SignKey(secretKey, keyTime) over the lowercase hex
// SHA-1 of the document, in lowercase hex — COS's form signature (q-signature).
func SignPolicy(secretKey, keyTime string, policy []byte) string {
	sum := sha1.Sum(policy)
	m := hmac.New(sha1.New, SignKey(secretKey, keyTime))
	m.Write([]byte(hex.EncodeToString(sum[:])))
	return hex.EncodeToString(m.Sum(nil))
}

// Form field names of COS's signed POST Object.
const (
	FormAlgorithm = "q-sign-algorithm"
	FormKeyID     = "q-ak"
	FormKeyTime   = "q-key-time"
	FormSignTime  = "q-sign-time" // the policy's condition on the window
	FormSignature = "q-signature"
)
