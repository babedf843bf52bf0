// Shared setup of the browser tests: local mode started for real, Debian's Chromium
// driven by playwright-core, and deterministic file contents both sides can rebuild.
import { spawn, execFileSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { mkdtempSync, mkdirSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, dirname } from 'node:path'
import { fileURLToPath } from 'node:url'
import { chromium } from 'playwright-core'

export const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..')
export const artifacts = join(root, 'web', 'test', 'artifacts')

/** Builds functions/api and starts it in local mode; resolves with its URLs. */
export async function startLocal(env = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'directup-browser-'))
  const bin = join(dir, 'api')
  execFileSync('go', ['build', '-o', bin, './functions/api'], { cwd: root, stdio: 'inherit' })
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(COS_|UPLOAD_|AUTH_|API_|TENCENTCLOUD_|AWS_LAMBDA|SCF_)/.test(k) && k !== '_LAMBDA_SERVER_PORT'))
  const proc = spawn(bin, [], { env: { ...clean, PORT: '0', LOCAL_COS_DIR: join(dir, 'store'), ...env }, stdio: ['ignore', 'ignore', 'pipe'] })
  let log = ''
  const api = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('local mode did not start:\n' + log)), 30000)
    proc.stderr.on('data', (b) => {
      log += b
      const m = log.match(/API:\s+(\S+)/)
      if (m) { clearTimeout(timer); resolve(m[1]) }
    })
    proc.on('exit', (code) => reject(new Error(`local mode exited ${code}:\n${log}`)))
  })
  return { api, stop: () => proc.kill('SIGTERM'), log: () => log }
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

/** Downloads a stored object through local mode's presigned link. */
export async function stored(api, key) {
  const res = await fetch(`${api}/local/download?key=${encodeURIComponent(key)}`)
  if (!res.ok) throw new Error(`download of ${key}: ${res.status}`)
  return new Uint8Array(await res.arrayBuffer())
}

/** Adds makeFile(name, size, seed) to every page: a File whose bytes fill() gives. */
export async function withFiles(context) {
  await context.addInitScript(`
    const fill = ${fill.toString()};
    window.makeFile = (name, size, seed, type = 'application/octet-stream') =>
      new File([fill(new Uint8Array(size), seed)], name, { type, lastModified: 1700000000000 });
  `)
}
