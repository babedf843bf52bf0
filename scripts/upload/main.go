// Command upload sends a file through a directup API: go run ./scripts/upload -api URL FILE.
// It is the curl-in-a-minute check of local mode, and an example of the protocol.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"mime"
	"os"
	"path/filepath"

	"github.com/directup/directup/shared/apiclient"
	"github.com/directup/directup/shared/policy"
)

func main() {
	api := flag.String("api", "http://127.0.0.1:8080", "API base URL")
	partSize := flag.Int64("part-size", 0, "part size in bytes (0: let the API choose)")
	parallel := flag.Int("parallel", 4, "parts uploaded at once")
	flag.Parse()
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: upload [-api URL] [-part-size N] FILE")
		os.Exit(2)
	}
	if err := run(*api, flag.Arg(0), *partSize, *parallel); err != nil {
		fmt.Fprintln(os.Stderr, "upload:", err)
		os.Exit(1)
	}
}

func run(api, path string, partSize int64, parallel int) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	ct := mime.TypeByExtension(filepath.Ext(path))
	if ct == "" {
		ct = "application/octet-stream"
	}
	size := st.Size()
	c := &apiclient.Client{API: api, Concurrency: parallel}
	up, done, err := c.Upload(context.Background(), &policy.InitiateRequest{
		Filename: filepath.Base(path), ContentType: ct, Size: &size, PartSize: partSize,
	}, f, nil)
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "uploaded %d bytes in %d parts\n", size, up.PartCount)
	return json.NewEncoder(os.Stdout).Encode(done)
}
