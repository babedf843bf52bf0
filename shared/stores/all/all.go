// Package all links every production store into a binary: importing it registers them.
// A new store is one line here.
package all

import (
	_ "github.com/directup/directup/shared/cos" // Tencent COS: COS_BUCKET
	_ "github.com/directup/directup/shared/s3"  // Amazon S3 and S3-compatible servers: S3_BUCKET
)
