// Tencent's own client SDKs upload through directup: unmodified cos-nodejs-sdk-v5 (and, in
// Chromium from another origin, cos-js-sdk-v5) take temporary keys from POST /sts and run
// the whole multipart upload themselves against local mode's embedded store, which holds the
// keys to their scope as COS does.
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { writeFileSync, mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createRequire } from 'node:module'
import { startLocal, launch, withFiles, fill, sha256, stored, storedPath, root } from './helpers.mjs'

const require = createRequire(import.meta.url)
const COS = require('cos-nodejs-sdk-v5')

let local, browser
before(async () => {
  local = await startLocal({ UPLOAD_ALLOW_STS: 'true' })
  browser = await launch()
})
after(async () => {
  await browser?.close()
  local?.stop()
})

async function keysFor(body) {
  const res = await fetch(local.api + '/sts', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })
  assert.equal(res.status, 200, await res.clone().text())
  return res.json()
}

// The one line README shows: the key server's answer as the SDK's getAuthorization wants it.
const authorization = (k) => ({ TmpSecretId: k.credentials.tmpSecretId, TmpSecretKey: k.credentials.tmpSecretKey,
  SecurityToken: k.credentials.sessionToken, StartTime: k.startTime, ExpiredTime: k.expiredTime })

test('cos-nodejs-sdk-v5: sliceUploadFile of 20 MB with keys from POST /sts; nothing else allowed', async () => {
  const size = 20 * 1024 * 1024 + 333
  const bytes = fill(new Uint8Array(size), 51)
  const file = join(mkdtempSync(join(tmpdir(), 'directup-sdk-')), 'video.bin')
  writeFileSync(file, bytes)
  const k = await keysFor({ filename: 'video.bin', contentType: 'application/octet-stream', size })
  const cos = new COS({ getAuthorization: (_, cb) => cb(authorization(k)), Domain: new URL(k.endpoint).host, Protocol: 'http:' })
  const call = (method, params) => new Promise((resolve) => cos[method](params, (err, data) => resolve({ err, data })))
  const up = await call('sliceUploadFile', { Bucket: k.bucket, Region: k.region, Key: k.key, FilePath: file, SliceSize: 5 * 1024 * 1024,
    ContentType: 'application/octet-stream' })
  assert.equal(up.err, null, JSON.stringify(up.err))
  assert.equal(sha256(await stored(local.api, k.key)), sha256(bytes))

  const other = await call('putObject', { Bucket: k.bucket, Region: k.region, Key: 'uploads/someone-else.bin', Body: Buffer.from('x'), ContentType: 'application/octet-stream' })
  assert.equal(other.err?.statusCode, 403, 'another key')
  const listing = await call('getBucket', { Bucket: k.bucket, Region: k.region })
  assert.equal(listing.err?.statusCode, 403, 'a bucket listing')
  const read = await call('getObject', { Bucket: k.bucket, Region: k.region, Key: k.key })
  assert.equal(read.err?.statusCode, 403, 'a read')
})

test('cos-js-sdk-v5 in Chromium, from another origin: uploadFile with keys from POST /sts', async () => {
  const { createServer } = await import('node:http')
  const { readFileSync } = await import('node:fs')
  const sdk = readFileSync(join(root, 'web', 'node_modules', 'cos-js-sdk-v5', 'dist', 'cos-js-sdk-v5.min.js'))
  const page = createServer((req, res) => {
    if (req.url === '/cos.js') { res.writeHead(200, { 'content-type': 'text/javascript; charset=utf-8' }); res.end(sdk); return }
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }); res.end('<!doctype html><meta charset="utf-8"><script src="/cos.js"></script>')
  })
  await new Promise((r) => page.listen(0, '127.0.0.1', r))
  const context = await browser.newContext()
  await withFiles(context)
  const p = await context.newPage()
  p.on('pageerror', (err) => console.error('page error:', err))
  await p.goto(`http://127.0.0.1:${page.address().port}/`)
  const size = 12 * 1024 * 1024 + 5
  const out = await p.evaluate(async ({ api, size }) => {
    const file = makeFile('browser.bin', size, 52)
    const k = await (await fetch(api + '/sts', { method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ filename: file.name, contentType: file.type, size }) })).json()
    const cos = new COS({ Domain: new URL(k.endpoint).host, Protocol: 'http:',
      getAuthorization: (_, cb) => cb({ TmpSecretId: k.credentials.tmpSecretId, TmpSecretKey: k.credentials.tmpSecretKey,
        SecurityToken: k.credentials.sessionToken, StartTime: k.startTime, ExpiredTime: k.expiredTime }) })
    return new Promise((resolve) => cos.uploadFile({ Bucket: k.bucket, Region: k.region, Key: k.key, Body: file, SliceSize: 5 * 1024 * 1024,
      ContentType: file.type }, (err, data) => resolve({ err: err && (err.message || JSON.stringify(err)), key: k.key })))
  }, { api: local.api, size })
  assert.equal(out.err, null)
  assert.equal(sha256(await stored(local.api, out.key)), sha256(fill(new Uint8Array(size), 52)))
  await context.close()
  page.close()
})

// The answer names the headers the upload must carry; with them, as README's line passes
// them, the SDK stores an HTML page as an attachment, in one PUT and in parts alike (the
// storage-triggered check deletes one stored otherwise: Go's TestKeysAnswerNamesTheDisposition).
test('cos-nodejs-sdk-v5: the answer\'s contentDisposition reaches the store (putObject and sliceUploadFile)', async () => {
  const html = await startLocal({ UPLOAD_ALLOW_STS: 'true', UPLOAD_ALLOWED_TYPES: 'text/html' })
  try {
    for (const [method, size] of [['putObject', 2000], ['sliceUploadFile', 6 * 1024 * 1024]]) {
      const page = new Uint8Array(size).fill(0x20)
      page.set(new TextEncoder().encode('<!doctype html><html><script>alert(1)</script>'))
      const res = await fetch(html.api + '/sts', { method: 'POST', headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ filename: 'page.html', contentType: 'text/html', size }) })
      assert.equal(res.status, 200, await res.clone().text())
      const k = await res.json()
      assert.equal(k.contentType, 'text/html')
      assert.equal(k.contentDisposition, 'attachment')
      const file = join(mkdtempSync(join(tmpdir(), 'directup-sdk-')), 'page.html')
      writeFileSync(file, page)
      const cos = new COS({ getAuthorization: (_, cb) => cb(authorization(k)), Domain: new URL(k.endpoint).host, Protocol: 'http:' })
      const params = { Bucket: k.bucket, Region: k.region, Key: k.key, ContentType: k.contentType,
        ...(k.contentDisposition && { ContentDisposition: k.contentDisposition }) }
      if (method === 'putObject') params.Body = Buffer.from(page)
      else Object.assign(params, { FilePath: file, SliceSize: 5 * 1024 * 1024 })
      const up = await new Promise((resolve) => cos[method](params, (err) => resolve(err)))
      assert.equal(up, null, JSON.stringify(up))
      const meta = JSON.parse(readFileSync(storedPath(html.api, k.key) + '.json', 'utf8'))
      assert.deepEqual(meta.header['Content-Disposition'], ['attachment'], method)
    }
  } finally {
    html.stop()
  }
})
