// Command coldstart measures what a serverless deployment pays per cold instance: the
// time from starting the built binary to its first answered invoke (an initiate against
// a local COS store), under SCF's Go1 protocol and under the AWS Lambda Runtime Interface
// Emulator, plus binary and zip sizes. Run after the build:
//
//	go run ./scripts/build && go run ./scripts/coldstart [-dist dist] [-runs 10] [-rie aws-lambda-rie]
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/rpc"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/directup/directup/shared/cos/cossign"
	"github.com/directup/directup/shared/localcos"
	"github.com/directup/directup/shared/platform/scf"
)

var cred = cossign.Credentials{SecretID: "AKIDcold", SecretKey: "cold-secret", SessionToken: "cold-token"}

const initiate = `{"filename":"a.mp4","contentType":"video/mp4","size":104857600}`

func main() {
	dist := flag.String("dist", "dist", "build output of scripts/build")
	runs := flag.Int("runs", 10, "cold starts per platform")
	rie := flag.String("rie", "aws-lambda-rie", "the Lambda Runtime Interface Emulator")
	flag.Parse()

	dir, _ := os.MkdirTemp("", "coldstart-")
	defer os.RemoveAll(dir)
	store, err := localcos.New(dir, "local-1250000000", cred)
	check(err)
	srv := httptest.NewServer(store)
	defer srv.Close()
	env := append(os.Environ(), "COS_BUCKET=local-1250000000", "COS_ENDPOINT="+srv.URL, "UPLOAD_TOKEN_SECRET="+strings.Repeat("x", 32),
		"TENCENTCLOUD_SECRETID="+cred.SecretID, "TENCENTCLOUD_SECRETKEY="+cred.SecretKey, "TENCENTCLOUD_SESSIONTOKEN="+cred.SessionToken)

	for _, f := range []string{"scf/main", "scf.zip", "lambda-amd64/bootstrap", "lambda-amd64.zip", "lambda-arm64/bootstrap", "lambda-arm64.zip"} {
		st, err := os.Stat(filepath.Join(*dist, f))
		check(err)
		fmt.Printf("size\t%-24s\t%.2f MB\n", f, float64(st.Size())/1e6)
	}
	report("SCF Go1 (net/rpc)", measure(*runs, func() time.Duration { return scfColdStart(filepath.Join(*dist, "scf/main"), env) }))
	report("Lambda (emulator)", measure(*runs, func() time.Duration {
		return lambdaColdStart(*rie, filepath.Join(*dist, "lambda-amd64/bootstrap"), env)
	}))
	fmt.Printf("peak RSS\t%-24s\t%.1f MB\n", "SCF Go1, 1,000 initiates", peakRSS(filepath.Join(*dist, "scf/main"), env, 1000))
}

// peakRSS runs the SCF build, sends n initiate invokes, and reads the process's high-water
// resident set (VmHWM, Linux).
func peakRSS(bin string, env []string, n int) float64 {
	port := freePort()
	cmd := exec.Command(bin)
	cmd.Env = append(env, "_LAMBDA_SERVER_PORT="+port)
	check(cmd.Start())
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	var c *rpc.Client
	for start := time.Now(); ; time.Sleep(time.Millisecond) {
		var err error
		if c, err = rpc.Dial("tcp", "127.0.0.1:"+port); err == nil {
			break
		}
		if time.Since(start) > 10*time.Second {
			check(err)
		}
	}
	defer c.Close()
	for i := 0; i < n; i++ {
		dl := time.Now().Add(10 * time.Second)
		var resp scf.InvokeResponse
		check(c.Call("Function.Invoke", &scf.InvokeRequest{Payload: event(), Deadline: scf.InvokeRequest_Timestamp{Seconds: dl.Unix()}}, &resp))
		if resp.Error != nil {
			check(fmt.Errorf("invoke %d: %s", i, resp.Error.Message))
		}
	}
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", cmd.Process.Pid))
	check(err)
	for _, line := range strings.Split(string(status), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmHWM:" {
			kb, _ := strconv.ParseFloat(f[1], 64)
			return kb / 1024
		}
	}
	return 0
}

func check(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "coldstart:", err)
		os.Exit(1)
	}
}

func measure(n int, f func() time.Duration) []time.Duration {
	out := make([]time.Duration, n)
	for i := range out {
		out[i] = f()
	}
	slices.Sort(out)
	return out
}

func report(name string, d []time.Duration) {
	fmt.Printf("cold start\t%-24s\tmedian %.1f ms, min %.1f ms, max %.1f ms (%d runs)\n", name,
		ms(d[len(d)/2]), ms(d[0]), ms(d[len(d)-1]), len(d))
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func freePort() string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	check(err)
	defer ln.Close()
	return strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
}

func event() []byte {
	ev, _ := json.Marshal(map[string]any{"httpMethod": "POST", "path": "/uploads",
		"headers": map[string]string{"content-type": "application/json"}, "body": initiate})
	return ev
}

// scfColdStart: process start -> listening -> first Invoke answered.
func scfColdStart(bin string, env []string) time.Duration {
	port := freePort()
	cmd := exec.Command(bin)
	cmd.Env = append(env, "_LAMBDA_SERVER_PORT="+port)
	start := time.Now()
	check(cmd.Start())
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	var c *rpc.Client
	for {
		var err error
		if c, err = rpc.Dial("tcp", "127.0.0.1:"+port); err == nil {
			break
		}
		if time.Since(start) > 10*time.Second {
			check(err)
		}
		time.Sleep(200 * time.Microsecond)
	}
	defer c.Close()
	dl := time.Now().Add(10 * time.Second)
	var resp scf.InvokeResponse
	check(c.Call("Function.Invoke", &scf.InvokeRequest{Payload: event(), Deadline: scf.InvokeRequest_Timestamp{Seconds: dl.Unix()}}, &resp))
	took := time.Since(start)
	if resp.Error != nil || !bytes.Contains(resp.Payload, []byte(`"statusCode":201`)) {
		check(fmt.Errorf("SCF invoke answered %s %+v", resp.Payload, resp.Error))
	}
	return took
}

// lambdaColdStart: emulator and bootstrap start -> first invoke answered. It includes the
// emulator's own start (about 50 ms here), so it is an upper bound for the function.
func lambdaColdStart(rie, bin string, env []string) time.Duration {
	apiPort, rtPort := freePort(), freePort()
	cmd := exec.Command(rie, "--runtime-interface-emulator-address", "127.0.0.1:"+apiPort, "--runtime-api-address", "127.0.0.1:"+rtPort, bin)
	cmd.Env = env
	start := time.Now()
	check(cmd.Start())
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	url := "http://127.0.0.1:" + apiPort + "/2015-03-31/functions/function/invocations"
	for {
		resp, err := http.Post(url, "application/json", bytes.NewReader(event()))
		if err == nil {
			var out struct{ StatusCode int }
			json.NewDecoder(resp.Body).Decode(&out)
			resp.Body.Close()
			took := time.Since(start)
			if out.StatusCode != 201 {
				check(fmt.Errorf("Lambda invoke answered %d", out.StatusCode))
			}
			return took
		}
		if time.Since(start) > 10*time.Second {
			check(err)
		}
		time.Sleep(time.Millisecond)
	}
}
