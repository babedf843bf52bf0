// Shared setup of the browser tests: local mode started for real, Debian's Chromium
// driven by playwright-core, and deterministic file contents both sides can rebuild.
import { spawn, execFileSync } from 'node:child_process'
import { createHash, createHmac } from 'node:crypto'
import { existsSync, mkdtempSync, mkdirSync, readFileSync } from 'node:fs'
import { createServer as createNetServer, connect } from 'node:net'
import { tmpdir } from 'node:os'
import { join, dirname } from 'node:path'
import { fileURLToPath } from 'node:url'
import { chromium } from 'playwright-core'
import { createServer } from 'node:http'
import { build } from 'esbuild'

export const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..')
export const artifacts = join(root, 'web', 'test', 'artifacts')

/** Builds functions/api and starts it in local mode; resolves with its URLs. */
export async function startLocal(env = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'directup-browser-'))
  const local = await startAPI({ LOCAL_COS_DIR: join(dir, 'store'), ...env }, dir)
  storeDirs.set(local.api, join(dir, 'store'))
  return local
}

// The local store's folder of each API startLocal started: stored() reads objects there.
const storeDirs = new Map()

/**
 * Builds functions/api and starts it as a plain HTTP server with the given settings (none
 * inherited from this shell); resolves once it listens, with its URL.
 */
export async function startAPI(env, dir = mkdtempSync(join(tmpdir(), 'directup-browser-'))) {
  const bin = join(dir, 'api')
  execFileSync('go', ['build', '-o', bin, './functions/api'], { cwd: root, stdio: 'inherit' })
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(COS_|S3_|AWS_|UPLOAD_|AUTH_|API_|QUEUE_|LOCAL_COS_|TENCENTCLOUD_|SCF_)/.test(k) && k !== '_LAMBDA_SERVER_PORT'))
  const proc = spawn(bin, [], { env: { ...clean, PORT: '0', ...env }, stdio: ['ignore', 'ignore', 'pipe'] })
  let log = ''
  const api = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the API did not start:\n' + log)), 30000)
    proc.stderr.on('data', (b) => {
      log += b
      // Local mode prints "API: <url>"; otherwise the JSON log line "listening" has the address.
      const m = log.match(/API:\s+(\S+)/) || log.match(/"msg":"listening","addr":"([^"]+)"/)
      if (m) { clearTimeout(timer); resolve(m[1].startsWith('http') ? m[1] : 'http://' + m[1]) }
    })
    proc.on('exit', (code) => reject(new Error(`the API exited ${code}:\n${log}`)))
  })
  return { api, stop: () => proc.kill('SIGTERM'), log: () => log }
}

// The tests' identity provider, as Go's functest.JWT: HS256 with this secret, audience
// "directup", issuer "https://idp.example".
const jwtSecret = 'jwt-secret-0123456789abcdef-0123456789'

/** The settings of an API that takes the tests' JWTs (AUTH_MODE=jwt). */
export const jwtAuth = { AUTH_MODE: 'jwt', AUTH_JWT_SECRET: jwtSecret, AUTH_AUDIENCE: 'directup', AUTH_ISSUER: 'https://idp.example' }

/** jwt is a token for sub, valid for an hour, as the tests' identity provider issues one. */
export function jwt(sub) {
  const b64 = (v) => Buffer.from(JSON.stringify(v)).toString('base64url')
  const body = `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64({ sub, aud: 'directup', iss: 'https://idp.example', exp: Math.floor(Date.now() / 1000) + 3600 })}`
  return `${body}.${createHmac('sha256', jwtSecret).update(body).digest('base64url')}`
}

export const s3Keys = { id: 'directupkey', secret: 'directupsecret' }

/** The versitygw binary (a real S3 server, installed by .ci/run), or null; CI requires it. */
export function versitygwBin() {
  const bin = process.env.VERSITYGW_BIN || 'versitygw'
  try {
    execFileSync(bin, ['--version'], { stdio: 'ignore' })
    return bin
  } catch {
    if (process.env.CI) throw new Error('versitygw is not installed; .ci/run installs it')
    return null
  }
}

/**
 * Starts versitygw on a temporary directory with one bucket. Its posix backend keeps each
 * object as a file, so stored bytes are read straight from disk.
 */
export async function startVersitygw(bucket) {
  const bin = versitygwBin()
  const dir = mkdtempSync(join(tmpdir(), 'directup-s3-'))
  mkdirSync(join(dir, bucket)) // a directory in the posix root is a bucket
  const port = await new Promise((resolve) => {
    const srv = createNetServer().listen(0, '127.0.0.1', () => { const p = srv.address().port; srv.close(() => resolve(p)) })
  })
  const proc = spawn(bin, ['--port', `127.0.0.1:${port}`, '--access', s3Keys.id, '--secret', s3Keys.secret,
    '--region', 'us-east-1', '--cors-allow-origin', '*', 'posix', dir], { stdio: ['ignore', 'ignore', 'pipe'] })
  let log = ''
  proc.stderr.on('data', (b) => { log += b })
  for (const deadline = Date.now() + 20000; ; await new Promise((r) => setTimeout(r, 50))) {
    const up = await new Promise((resolve) => {
      const c = connect(port, '127.0.0.1', () => { c.end(); resolve(true) }).on('error', () => resolve(false))
    })
    if (up) break
    if (Date.now() > deadline || proc.exitCode !== null) throw new Error('versitygw did not start:\n' + log)
  }
  return {
    endpoint: `http://127.0.0.1:${port}`,
    stored: (key) => new Uint8Array(readFileSync(join(dir, bucket, key))),
    stop: () => proc.kill('SIGTERM'),
  }
}

/** Launches Debian's Chromium headless with the flags this machine needs. */
export async function launch() {
  mkdirSync(artifacts, { recursive: true })
  return chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync',
      '--disable-features=LocalNetworkAccessChecks,BlockInsecurePrivateNetworkRequests,PrivateNetworkAccessSendPreflights'],
  })
}

// fill writes deterministic bytes (xorshift32 from seed). The same source runs in the
// page (through its toString) and here.
export function fill(bytes, seed) {
  let x = seed >>> 0 || 1
  for (let i = 0; i < bytes.length; i++) {
    x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0
    bytes[i] = x & 0xff
  }
  return bytes
}

export function sha256(bytes) {
  return createHash('sha256').update(bytes).digest('hex')
}

export function expected(size, seed) {
  return sha256(fill(new Uint8Array(size), seed))
}

/** The file the local store of the API at api keeps key's object in (its headers: + ".json"). */
export function storedPath(api, key) {
  const dir = storeDirs.get(api)
  if (!dir) throw new Error(`no local store for ${api}`)
  return join(dir, 'objects', createHash('sha256').update(key).digest('hex'))
}

/**
 * Reads a stored object's bytes from the local store's folder (a file named by the key's
 * SHA-256), as the store holds them: /local/download opens only what the caller shows an
 * upload token for, and objects stored with temporary keys have none. Null if absent.
 */
export async function stored(api, key) {
  const file = storedPath(api, key)
  if (!existsSync(file)) return null
  return new Uint8Array(readFileSync(file))
}

/** Adds makeFile(name, size, seed) to every page: a File whose bytes fill() gives. */
export async function withFiles(context) {
  await context.addInitScript(`
    const fill = ${fill.toString()};
    window.makeFile = (name, size, seed, type = 'application/octet-stream') =>
      new File([fill(new Uint8Array(size), seed)], name, { type, lastModified: 1700000000000 });
  `)
}

/**
 * Opens a page on its own loopback origin (so calls to the API are cross-origin, CORS for
 * real) with @uppy/core and @uppy/aws-s3 from npm, bundled by esbuild, as window.Uppy and
 * window.AwsS3. close() ends the context and the server.
 */
export async function uppyPage(browser) {
  const bundle = await build({
    stdin: { contents: "import Uppy from '@uppy/core'; import AwsS3 from '@uppy/aws-s3'; window.Uppy = Uppy; window.AwsS3 = AwsS3;", resolveDir: join(root, 'web') },
    bundle: true, format: 'iife', write: false, logLevel: 'silent',
  })
  const js = bundle.outputFiles[0].text
  const server = createServer((req, res) => {
    if (req.url === '/uppy.js') { res.writeHead(200, { 'content-type': 'text/javascript' }); res.end(js); return }
    res.writeHead(200, { 'content-type': 'text/html' }); res.end('<!doctype html><script src="/uppy.js"></script>')
  })
  await new Promise((r) => server.listen(0, '127.0.0.1', r))
  const context = await browser.newContext()
  await withFiles(context)
  const page = await context.newPage()
  page.on('pageerror', (err) => console.error('page error:', err))
  await page.goto(`http://127.0.0.1:${server.address().port}/`)
  return { page, close: async () => { await context.close(); server.close() } }
}

/** Uploads one generated file with Uppy (Companion protocol at c.endpoint; multipart unless c.defaults). */
export function uppyUpload(page, c) {
  return page.evaluate(async (c) => {
    // c.defaults: Uppy exactly as its docs set it up, companionEndpoint and nothing else
    // (files under 100 MiB then go as one form POST). Else multipart, with README's line
    // declaring the size in Uppy's metadata, so directup pins every part URL.
    const uppy = c.defaults ? new window.Uppy().use(window.AwsS3, { companionEndpoint: c.endpoint })
      : new window.Uppy({ autoProceed: false }).use(window.AwsS3, { companionEndpoint: c.endpoint, shouldUseMultipart: true })
    if (!c.defaults && c.declareSize !== false) uppy.on('file-added', (f) => uppy.setFileMeta(f.id, { size: f.size }))
    let body = null
    uppy.on('upload-success', (file, resp) => { body = resp.body })
    const type = c.type || 'application/octet-stream'
    const data = c.text !== undefined ? new File([c.text], c.name, { type })
      : c.bytes !== undefined ? new File([new Uint8Array(c.bytes)], c.name, { type }) : makeFile(c.name, c.size, c.seed, type)
    uppy.addFile({ name: c.name, type, data, meta: c.meta || {} })
    const result = await uppy.upload()
    return { body, failed: result.failed.map((f) => String(f.error)) }
  }, c)
}
