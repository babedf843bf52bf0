#!/usr/bin/env bash
# The whole test suite (README's second command). Runs from a clean checkout; .ci/run
# installs what it needs first.
set -euo pipefail
cd "$(dirname "$0")/.."

# Tools the suites need that install without root, into .ci/bin (ignored by git): the
# real Lambda emulator and a real S3 server from the Go module proxy, the browser tests'
# npm packages. Debian's chromium needs root: .ci/run installs it.
export GOBIN="$PWD/.ci/bin"
export PATH="$GOBIN:$PATH"
command -v aws-lambda-rie >/dev/null ||
  go install github.com/aws/aws-lambda-runtime-interface-emulator/cmd/aws-lambda-rie@v0.0.0-20261030222936-bef5c4ba774d ||
  echo "could not install aws-lambda-rie"
command -v versitygw >/dev/null || go install github.com/versity/versitygw/cmd/versitygw@v1.8.0 || echo "could not install versitygw"
# (again when the lock file changed since: a checkout that gained a test dependency)
if command -v npm >/dev/null && { [ ! -d web/node_modules ] || [ web/package-lock.json -nt web/node_modules/.package-lock.json ]; }; then
  (cd web && npm ci --no-audit --no-fund) || echo "could not install web/node_modules"
fi
# Every suite that cannot run here, named at the end (go test hides its skips).
skipped=()
command -v aws-lambda-rie >/dev/null || skipped+=("the built functions under the AWS Lambda Runtime Interface Emulator (no aws-lambda-rie)")
command -v versitygw >/dev/null || skipped+=("the S3 store and the Lambda build against versitygw (no versitygw)")

echo "== gofmt"
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))
if [ -n "$unformatted" ]; then
  echo "gofmt would change:"; echo "$unformatted"; exit 1
fi

echo "== go vet (amd64, and arm64: the default Lambda target)"
go vet ./...
GOARCH=arm64 go vet ./...

echo "== go test (race detector on)"
go test -race -count=1 ./...
echo "== fuzz (bounded): token parser, request decoder and rules, key builder, subject segments"
# Bounded by executions, not seconds: Go 1.26's fuzz coordinator can report a spurious
# "context deadline exceeded" when a -fuzztime duration ends mid-run (golang/go#75804,
# fixed in 1.27); a count has no deadline to race. 80,000 runs are about 10 s here.
for target in uploadplan:FuzzTokenVerify policy:FuzzInitiateRequest policy:FuzzGenerateKey policy:FuzzSubjectSegment; do
  go test -run='^$' -fuzz="^${target#*:}\$" -fuzztime=80000x "./shared/${target%%:*}"
done

echo "== the client package: npm pack and install, tsc --strict against a sample, declarations match exports"
if [ -d web/node_modules ]; then
  (cd web && npm run --silent types)
elif [ -n "${CI:-}" ]; then
  echo "web/node_modules missing: .ci/run installs it"; exit 1
else
  echo "skipped: no Node.js for web/node_modules"
  skipped+=("the client package's declarations under tsc --strict (no Node.js for web/node_modules)")
fi

echo "== browser tests (Debian chromium + playwright-core)"
if command -v chromium >/dev/null && [ -d web/node_modules ]; then
  (cd web && npm test)
elif [ -n "${CI:-}" ]; then
  echo "chromium or web/node_modules missing: .ci/run installs them"; exit 1
else
  echo "skipped: install Debian's chromium (root) and Node.js to run them"
  skipped+=("the browser tests in Chromium (no chromium, or no Node.js for web/node_modules)")
fi

echo "== benchmarks compile and run once"
go test -run='^$' -bench=. -benchtime=1x ./shared/... >/dev/null
if [ ${#skipped[@]} -eq 0 ]; then
  echo "all tests passed; no suite was skipped"
else
  echo "all tests that could run passed; skipped suites:"
  printf '  - %s\n' "${skipped[@]}"
fi
