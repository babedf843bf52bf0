// The browser against Amazon S3's protocol: the API runs with the S3 store (S3_BUCKET) in
// front of versitygw, a real S3 server, and Chromium PUTs the parts straight to it through
// SigV4-presigned URLs (cross-origin, so CORS and the exposed ETag are exercised for real).
// Each test reads the stored object back from versitygw's disk and compares its bytes.
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { CRC64S } from '../directup.js'
import { startAPI, startVersitygw, versitygwBin, s3Keys, launch, withFiles, expected, sha256, uppyPage, uppyUpload } from './helpers.mjs'

const bucket = 'uploads-test'
let s3, api, browser

const skip = !versitygwBin() && 'versitygw not installed (.ci/run installs it)'

before(async () => {
  if (skip) return
  s3 = await startVersitygw(bucket)
  api = await startAPI({
    S3_BUCKET: bucket, S3_REGION: 'us-east-1', S3_ENDPOINT: s3.endpoint,
    AWS_ACCESS_KEY_ID: s3Keys.id, AWS_SECRET_ACCESS_KEY: s3Keys.secret,
    UPLOAD_TOKEN_SECRET: 'x'.repeat(32), UPLOAD_FORBID_OVERWRITE: 'true', UPLOAD_CLIENT_KEYS: 'true',
  })
  browser = await launch()
})

after(async () => {
  await browser?.close()
  api?.stop()
  s3?.stop()
})

test('S3: directup.js uploads 3 parts in parallel straight to S3; a second upload onto the key is refused', { skip }, async () => {
  const context = await browser.newContext()
  await withFiles(context)
  const p = await context.newPage()
  p.on('pageerror', (err) => console.error('page error:', err))
  const toS3 = []
  const completes = []
  p.on('request', (r) => {
    if (r.method() === 'PUT' && r.url().startsWith(s3.endpoint)) toS3.push(r.url())
    if (r.url().endsWith('/complete')) completes.push(JSON.parse(r.postData()))
  })
  await p.goto(api.api + '/directup.js') // any page of the API's origin can import the module

  const size = 12 * 1024 * 1024 + 77, seed = 31
  const run = (seed) => p.evaluate(async ({ size, seed }) => {
    const { DirectUpload } = await import('/directup.js')
    const up = new DirectUpload(makeFile('s3.bin', size, seed), {
      endpoint: location.origin, partSize: 5 << 20, concurrency: 3, request: { key: 'uploads/browser/s3.bin', filename: undefined }, // a fixed key instead of a generated one
    })
    let last = 0
    up.addEventListener('progress', (e) => { last = e.detail.loaded })
    try {
      return { result: await up.start(), last, partCount: up.session.partCount }
    } catch (err) {
      return { error: { code: err.code, message: String(err.message) } }
    }
  }, { size, seed })

  const out = await run(seed)
  assert.equal(out.error, undefined, JSON.stringify(out.error))
  assert.equal(out.partCount, 3)
  assert.equal(out.last, size)
  assert.equal(toS3.length, 3, 'each part goes straight to S3')
  assert.ok(toS3.every((u) => u.includes('X-Amz-Signature=')), 'SigV4-presigned')
  assert.equal(out.result.key, 'uploads/browser/s3.bin')
  assert.equal(sha256(s3.stored(out.result.key)), expected(size, seed))
  // The upload was created with a full-object CRC-64/NVME: the complete named each part's
  // and the whole file's (combined from the parts'), and S3's own is that value.
  const body = completes[0]
  const nvme = CRC64S.crc64nvme
  assert.equal(body.checksum.crc64nvme, nvme.format(nvme.of(s3.stored(out.result.key))))
  assert.equal(out.result.crc64nvme, body.checksum.crc64nvme)
  assert.ok(body.parts.every((p) => typeof p.checksum === 'string' && p.checksum.length === 12), JSON.stringify(body.parts))

  // UPLOAD_FORBID_OVERWRITE: S3 checks it when completing (If-None-Match: *).
  const again = await run(seed + 1)
  assert.equal(again.error?.code, 'object_exists', JSON.stringify(again))
  assert.equal(sha256(s3.stored('uploads/browser/s3.bin')), expected(size, seed), 'the first object stays')
  await context.close()
})

// SSE-C through the browser on S3: the client sends its key in the header the server
// names for this store (x-amz-...), never COS's.
test('S3: SSE-C parts carry the key in the header the server names', { skip }, async () => {
  const context = await browser.newContext()
  await withFiles(context)
  const p = await context.newPage()
  const sent = []
  p.on('request', (r) => { if (r.method() === 'PUT' && r.url().startsWith(s3.endpoint)) sent.push(r.headers()) })
  await p.goto(api.api + '/directup.js')
  const key = Buffer.alloc(32, 7).toString('base64')
  const out = await p.evaluate(async ({ key }) => {
    const { DirectUpload } = await import('/directup.js')
    const up = new DirectUpload(makeFile('ssec.bin', 6 << 20, 33), { endpoint: location.origin, partSize: 5 << 20, customerKey: key })
    try { return { result: await up.start() } } catch (err) { return { error: String(err.message) } }
  }, { key })
  assert.equal(out.error, undefined, out.error)
  assert.equal(out.result.size, 6 << 20)
  assert.equal(sent.length, 2)
  for (const h of sent) {
    assert.equal(h['x-amz-server-side-encryption-customer-key'], key)
    assert.ok(!Object.keys(h).some((k) => k.startsWith('x-cos-')), 'no COS header goes to S3')
  }
  await context.close()
})

test('S3: Uppy (@uppy/aws-s3, Companion protocol) from another origin', { skip }, async () => {
  const { page, close } = await uppyPage(browser)
  const c = { name: 'uppy-s3.bin', size: 11 * 1024 * 1024 + 3, seed: 32, endpoint: api.api }
  const out = await uppyUpload(page, c)
  assert.deepEqual(out.failed, [])
  assert.equal(sha256(s3.stored(out.body.key)), expected(c.size, c.seed))
  await close()
})

// Uppy as its docs set it up, against S3: a 3 MB file as one SigV4 POST-policy form,
// taken by versitygw, which enforces the policy itself.
test('S3: Uppy default setup (form POST with a SigV4 policy)', { skip }, async () => {
  // Its own API: the suite's forbids overwriting, which a form (reusable until it ends) cannot keep.
  const formsAPI = await startAPI({
    S3_BUCKET: bucket, S3_REGION: 'us-east-1', S3_ENDPOINT: s3.endpoint,
    AWS_ACCESS_KEY_ID: s3Keys.id, AWS_SECRET_ACCESS_KEY: s3Keys.secret, UPLOAD_TOKEN_SECRET: 'x'.repeat(32),
  })
  const { page, close } = await uppyPage(browser)
  const posts = []
  page.on('request', (r) => { if (r.method() === 'POST' && r.url().startsWith(s3.endpoint)) posts.push(r.url()) })
  const c = { name: 'uppy-s3-form.bin', size: 3 * 1000 * 1000, seed: 33, endpoint: formsAPI.api, defaults: true }
  const out = await uppyUpload(page, c)
  assert.deepEqual(out.failed, [])
  assert.equal(posts.length, 1, 'one form POST straight to S3')
  assert.equal(sha256(s3.stored(out.body.key)), expected(c.size, c.seed))
  // Where overwrites are forbidden, the small-file path is refused, naming the fix.
  const refused = await fetch(api.api + '/s3/params?filename=a&type=text/plain')
  assert.equal(refused.status, 501)
  assert.match((await refused.json()).error.message, /shouldUseMultipart: true/)
  await close()
  formsAPI.stop()
})
