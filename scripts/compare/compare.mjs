// Side by side: directup and Uppy Companion (@uppy/companion) speaking the same Companion
// S3 protocol, both pointed at the same S3 server (versitygw). Two paths, as Uppy takes
// them: "multipart" (Uppy's path for files over 100 MiB) is create + sign one part + PUT it
// to S3 + complete; "params" (Uppy's default for smaller files) is GET /s3/params + POST the
// form it answers to S3. Printed: throughput, latency per call, ratios, and each process's
// CPU time per upload (so a run can tell latency-bound from CPU-bound).
// Storage can be put a network away: a proxy (scripts/delayproxy, its own process) sleeps
// <delay> ms before forwarding each request to versitygw and <delay> ms before returning
// each answer, for both servers and for the client's part PUTs alike.
//
//   (cd scripts/compare && npm ci) && node scripts/compare/compare.mjs [uploads] [clients,...] [delay ms] [paths]
//   node scripts/compare/compare.mjs 400 1,16 10     # storage 10 ms away each way, 1 then 16 clients
//   node scripts/compare/compare.mjs 300 1,16 10 params   # Uppy's small-file path only
//   COMPARE_PROXY_LOG=1 COMPARE_LOG_STDERR=1 node scripts/compare/compare.mjs 20 1 10 multipart
//                                       # every storage request, method and path, on stderr
import { spawn, execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, dirname } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createServer } from 'node:net'
import { S3Client, CreateBucketCommand } from '@aws-sdk/client-s3'

const here = dirname(fileURLToPath(import.meta.url))
const root = join(here, '..', '..')
const uploads = Number(process.argv[2] || 400)
const clientCounts = String(process.argv[3] || '16').split(',').map(Number)
const delay = Number(process.argv[4] || 0)
const paths = String(process.argv[5] || 'multipart,params').split(',')
const KEY = 'comparekey', SECRET = 'comparesecret', BUCKET = 'compare'
const procs = []
process.on('exit', () => procs.forEach((p) => p.kill()))

const port = () => new Promise((r) => { const s = createServer(); s.listen(0, '127.0.0.1', () => { const p = s.address().port; s.close(() => r(p)) }) })

function run(cmd, args, env) {
  const p = spawn(cmd, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] })
  let log = ''
  p.stderr.on('data', (b) => { log += b; if (process.env.COMPARE_LOG_STDERR) process.stderr.write(b) })
  p.on('exit', (code) => { if (code) console.error(`${cmd} exited ${code}:\n${log.slice(-2000)}`) })
  procs.push(p)
  return p
}

async function waitFor(url) {
  for (let i = 0; i < 300; i++) {
    try { await fetch(url); return } catch { await new Promise((r) => setTimeout(r, 100)) }
  }
  throw new Error('not up: ' + url)
}

const s3Port = await port()
const s3 = `http://127.0.0.1:${s3Port}`
const pids = { client: process.pid }
pids.versitygw = run(process.env.VERSITYGW_BIN || 'versitygw', ['--port', `127.0.0.1:${s3Port}`, '--access', KEY, '--secret', SECRET, '--region', 'us-east-1', 'posix', mkdtempSync(join(tmpdir(), 'compare-s3-'))]).pid
await waitFor(s3)

// The latency proxy: storage <delay> ms away each way, in a process of its own
// (scripts/delayproxy: a Go reverse proxy), so its work never shares an event loop with the
// clients it measures. Host headers pass unchanged, so SigV4 signatures made for the
// proxy's address verify at versitygw.
const proxyBin = join(mkdtempSync(join(tmpdir(), 'compare-proxy-')), 'delayproxy')
execFileSync('go', ['build', '-o', proxyBin, './scripts/delayproxy'], { cwd: root, stdio: 'inherit' })
const proxyPort = await port()
if (delay > 0) {
  pids.proxy = run(proxyBin, ['-listen', `127.0.0.1:${proxyPort}`, '-upstream', s3, '-delay', `${delay}ms`,
    ...(process.env.COMPARE_PROXY_LOG ? ['-log'] : [])], {}).pid
  await waitFor(`http://127.0.0.1:${proxyPort}/`)
}
const storage = delay > 0 ? `http://127.0.0.1:${proxyPort}` : s3

await new S3Client({ endpoint: s3, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: KEY, secretAccessKey: SECRET } }).send(new CreateBucketCommand({ Bucket: BUCKET }))

const bin = join(mkdtempSync(join(tmpdir(), 'compare-bin-')), 'api')
execFileSync('go', ['build', '-o', bin, './functions/api'], { cwd: root, stdio: 'inherit' })
const dPort = await port()
pids.directup = run(bin, [], { HOST: '127.0.0.1', PORT: String(dPort), S3_BUCKET: BUCKET, S3_REGION: 'us-east-1', S3_ENDPOINT: storage,
  AWS_ACCESS_KEY_ID: KEY, AWS_SECRET_ACCESS_KEY: SECRET, UPLOAD_TOKEN_SECRET: 'x'.repeat(32) }).pid
const cPort = await port()
pids.companion = run(join(here, 'node_modules', '.bin', 'companion'), [], { COMPANION_PORT: String(cPort), COMPANION_DOMAIN: `127.0.0.1:${cPort}`,
  COMPANION_PROTOCOL: 'http', COMPANION_SECRET: 'x'.repeat(32), COMPANION_DATADIR: mkdtempSync(join(tmpdir(), 'compare-companion-')),
  COMPANION_AWS_KEY: KEY, COMPANION_AWS_SECRET: SECRET, COMPANION_AWS_BUCKET: BUCKET, COMPANION_AWS_REGION: 'us-east-1',
  COMPANION_AWS_ENDPOINT: storage, COMPANION_AWS_FORCE_PATH_STYLE: 'true', COMPANION_CLIENT_ORIGINS: 'true', COMPANION_UPLOAD_URLS: 'http://127.0.0.1.*', NODE_ENV: 'production' }).pid
const servers = { directup: `http://127.0.0.1:${dPort}`, companion: `http://127.0.0.1:${cPort}` }
await waitFor(servers.directup + '/healthz')
await waitFor(servers.companion + '/')

async function timed(lat, name, f) {
  const t = performance.now()
  const out = await f()
  lat[name].push(performance.now() - t)
  return out
}

async function ok(res) {
  if (!res.ok) throw new Error(`${res.url}: ${res.status} ${await res.text()}`)
  return res.json()
}

// multipart is Uppy's path for large files: create + sign one part + PUT + complete.
async function multipart(base, i, body, lat) {
  const { key, uploadId } = await timed(lat, 'create', async () => ok(await fetch(base + '/s3/multipart', {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ filename: `f${i}.bin`, type: 'application/octet-stream', metadata: { size: body.length } }) })))
  const q = new URLSearchParams({ key })
  const { url } = await timed(lat, 'sign', async () => ok(await fetch(`${base}/s3/multipart/${encodeURIComponent(uploadId)}/1?${q}`)))
  const put = await fetch(url, { method: 'PUT', body })
  if (!put.ok) throw new Error(`PUT ${put.status} ${await put.text()}`)
  const etag = put.headers.get('etag')
  await put.arrayBuffer()
  await timed(lat, 'complete', async () => ok(await fetch(`${base}/s3/multipart/${encodeURIComponent(uploadId)}/complete?${q}`, {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ parts: [{ PartNumber: 1, ETag: etag }] }) })))
}

// params is Uppy's default for files up to 100 MiB: GET /s3/params, then the form it
// answers POSTed straight to S3 (fields first, the file last, as a browser sends it).
async function params(base, i, body, lat) {
  const q = new URLSearchParams({ filename: `f${i}.bin`, type: 'application/octet-stream', 'metadata[size]': String(body.length) })
  const { method, url, fields } = await timed(lat, 'params', async () => ok(await fetch(`${base}/s3/params?${q}`)))
  const form = new FormData()
  for (const [k, v] of Object.entries(fields)) form.append(k, v)
  form.append('file', new Blob([body], { type: 'application/octet-stream' }), `f${i}.bin`)
  const res = await timed(lat, 'post', async () => fetch(url, { method, body: form }))
  if (!res.ok) throw new Error(`form POST ${res.status} ${await res.text()}`)
  await res.arrayBuffer()
}

async function bench(base, path, n, concurrency) {
  const lat = path === multipart ? { create: [], sign: [], complete: [] } : { params: [], post: [] }
  let next = 0
  const body = new Uint8Array(1024)
  const start = performance.now()
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < n) await path(base, next++, body, lat)
  }))
  return { seconds: (performance.now() - start) / 1000, lat }
}

// cpu is each process's CPU time so far, in ms (user + system; /proc, clock ticks of 10 ms).
function cpu() {
  const out = {}
  for (const [name, pid] of Object.entries(pids)) {
    if (name === 'client') { const u = process.cpuUsage(); out[name] = (u.user + u.system) / 1000; continue }
    try { const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' '); out[name] = (Number(f[11]) + Number(f[12])) * 10 } catch { }
  }
  return out
}

const pct = (a, p) => { const s = [...a].sort((x, y) => x - y); return s[Math.min(s.length - 1, Math.floor(s.length * p))] }
for (const pathName of paths) {
  const path = { multipart, params }[pathName]
  if (!path) throw new Error('paths: multipart and/or params, not ' + pathName)
  for (const concurrency of clientCounts) {
    const results = {}
    for (const [name, base] of Object.entries(servers)) {
      await bench(base, path, Math.min(50, uploads), concurrency) // warm up
      const before = cpu()
      results[name] = await bench(base, path, uploads, concurrency)
      const after = cpu()
      results[name].cpu = Object.keys(after).filter((k) => k !== (name === 'directup' ? 'companion' : 'directup'))
        .map((k) => `${k} ${((after[k] - before[k]) / uploads).toFixed(2)}`).join(', ')
    }
    console.log(`${pathName}: ${uploads} uploads, ${concurrency} client(s) at a time, same versitygw S3 server` + (delay ? `, ${delay} ms away each way` : ', on loopback'))
    for (const [name, r] of Object.entries(results)) {
      console.log(`  ${name.padEnd(9)} ${(uploads / r.seconds).toFixed(1).padStart(6)} uploads/s` +
        Object.entries(r.lat).map(([k, v]) => `  ${k} p50 ${pct(v, 0.5).toFixed(1)} ms p99 ${pct(v, 0.99).toFixed(1)} ms`).join(''))
      console.log(`            CPU ms per upload: ${r.cpu}`)
    }
    const d = results.directup, c = results.companion
    console.log(`  ratio (companion / directup): throughput x${(c.seconds / d.seconds).toFixed(2)} in directup's favour;` +
      Object.keys(d.lat).map((k) => ` ${k} p50 x${(pct(c.lat[k], 0.5) / pct(d.lat[k], 0.5)).toFixed(2)}`).join(','))
  }
}
process.exit(0)
