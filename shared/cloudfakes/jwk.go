package cloudfakes

import (
	"encoding/base64"
	"math/big"
)

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

func exponent(e int) []byte { return big.NewInt(int64(e)).Bytes() }
