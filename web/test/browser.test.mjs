// Uploads in a real browser (Debian Chromium through playwright-core) against local mode:
// the client module, the demo page and Uppy. Every test checks the stored object's bytes.
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { join } from 'node:path'
import { CRC64S } from '../directup.js'
import { startLocal, launch, withFiles, expected, stored, sha256, fill, artifacts, uppyPage, uppyUpload } from './helpers.mjs'

let local, browser

before(async () => {
  local = await startLocal()
  browser = await launch()
})

after(async () => {
  await browser?.close()
  local?.stop()
})

const crc64ecmaOf = (bytes) => CRC64S.crc64ecma.of(bytes).toString()

async function page() {
  const context = await browser.newContext()
  await withFiles(context)
  const p = await context.newPage()
  p.on('pageerror', (err) => console.error('page error:', err))
  await p.goto(local.api + '/')
  return p
}

/** Counts part PUTs the page sends straight to the store. */
function countPuts(p) {
  const seen = { puts: 0 }
  p.on('request', (r) => { if (r.method() === 'PUT' && r.url().includes('partNumber=')) seen.puts++ })
  return seen
}

test('client: a 52 MB file in 11 parts, in parallel, with progress', async () => {
  const p = await page()
  const seen = countPuts(p)
  const api = []
  let completeBody = null
  p.on('request', (r) => {
    if (!r.url().startsWith(local.api + '/uploads')) return
    api.push(r.method() + ' ' + r.url().slice(local.api.length))
    if (r.url().endsWith('/complete')) completeBody = JSON.parse(r.postData())
  })
  const size = 52 * 1024 * 1024 + 123, seed = 1
  const out = await p.evaluate(async ({ size, seed }) => {
    const { DirectUpload } = await import('/directup.js')
    const up = new DirectUpload(makeFile('big.bin', size, seed), { endpoint: location.origin, partSize: 5 << 20, concurrency: 4 })
    let events = 0, maxInflight = 0, last = 0
    up.addEventListener('progress', (e) => { events++; last = e.detail.loaded; maxInflight = Math.max(maxInflight, up.inflight.size) })
    const result = await up.start()
    return { result, events, maxInflight, last, partCount: up.session.partCount }
  }, { size, seed })
  assert.equal(out.partCount, 11)
  assert.equal(out.result.size, size)
  assert.equal(out.last, size)
  assert.ok(out.events > 11, `${out.events} progress events`)
  assert.ok(out.maxInflight > 1, 'parts must go in parallel')
  assert.equal(seen.puts, 11)
  // Every part's URL came with the initiate, in the compact form: no request for more.
  assert.deepEqual(api.map((a) => a.replace(/uploads\/[^/?]+/, 'uploads/ID')), ['POST /uploads?parts=compact', 'POST /uploads/ID/complete'])
  assert.equal(sha256(await stored(local.api, out.result.key)), expected(size, seed))
  // The whole file's CRC-64, combined from the parts' sent in parallel, is the store's own
  // (a wrong one would have been refused with 422 checksum_mismatch).
  assert.equal(completeBody.checksum.crc64ecma, out.result.crc64)
  assert.equal(completeBody.checksum.crc64ecma, crc64ecmaOf(await stored(local.api, out.result.key)))
  await p.context().close()
})

test('client: a tiny file', async () => {
  const p = await page()
  const out = await p.evaluate(async () => {
    const { DirectUpload } = await import('/directup.js')
    return new DirectUpload(makeFile('tiny.txt', 10, 7, 'text/plain'), { endpoint: location.origin }).start()
  })
  assert.equal(out.size, 10)
  assert.equal(sha256(await stored(local.api, out.key)), expected(10, 7))
  await p.context().close()
})

test('client: resumed after a page reload, stored parts skipped', async () => {
  const p = await page()
  const size = 24 * 1024 * 1024, seed = 3
  const first = await p.evaluate(async ({ size, seed }) => {
    const { DirectUpload } = await import('/directup.js')
    const up = new DirectUpload(makeFile('resume.bin', size, seed), { endpoint: location.origin, partSize: 5 << 20, concurrency: 1 })
    let done = 0
    await new Promise((resolve) => {
      up.addEventListener('part', (e) => { if (e.detail.done && ++done === 2) { up.pause(); resolve() } })
      up.start()
    })
    return { done, uploadId: up.session.uploadId }
  }, { size, seed })
  assert.equal(first.done, 2)

  await p.reload()
  const seen = countPuts(p)
  const out = await p.evaluate(async ({ size, seed }) => {
    const { DirectUpload } = await import('/directup.js')
    const up = new DirectUpload(makeFile('resume.bin', size, seed), { endpoint: location.origin, partSize: 5 << 20 })
    let stored = -1
    up.addEventListener('resumed', (e) => { stored = e.detail.stored })
    const result = await up.start()
    return { result, stored, uploadId: up.session.uploadId }
  }, { size, seed })
  assert.equal(out.uploadId, first.uploadId, 'the same upload continues')
  assert.ok(out.stored >= 2, `${out.stored} parts found stored`)
  assert.equal(seen.puts, 5 - out.stored, 'only the missing parts are sent')
  assert.equal(sha256(await stored(local.api, out.result.key)), expected(size, seed))
  await p.context().close()
})

test('client: cancel aborts the upload', async () => {
  const p = await page()
  const out = await p.evaluate(async () => {
    const { DirectUpload } = await import('/directup.js')
    const up = new DirectUpload(makeFile('cancel.bin', 20 << 20, 9), { endpoint: location.origin, partSize: 5 << 20, concurrency: 1 })
    await new Promise((resolve) => {
      up.addEventListener('part', (e) => { if (e.detail.done) resolve() })
      up.start()
    })
    await up.cancel()
    const res = await fetch(`/uploads/${up.session.uploadId}/parts`, { headers: { 'X-Upload-Token': up.session.token } })
    return { state: up.state, status: res.status, body: await res.json(), saved: localStorage.length }
  })
  assert.equal(out.state, 'cancelled')
  assert.equal(out.status, 404)
  assert.equal(out.body.error.code, 'upload_not_found')
  assert.equal(out.saved, 0, 'nothing is left to resume')
  await p.context().close()
})

// Pause and resume while a part sleeps in its retry backoff: the old run's worker must not
// wake up inside the new run (it used to send parts again and complete with missing ETags).
test('client: pause and resume during a retry backoff', async () => {
  const p = await page()
  let puts = 0, failed = false
  await p.route('**/*partNumber=*', async (route) => {
    puts++
    if (!failed) { failed = true; await route.fulfill({ status: 500, body: 'try again' }); return }
    await new Promise((r) => setTimeout(r, 1500)) // the new run outlasts the old backoff (2-4 s)
    await route.continue()
  })
  const size = 12 * 1024 * 1024 + 9, seed = 41
  await p.evaluate(({ size, seed }) => import('/directup.js').then(({ DirectUpload }) => {
    window.up = new DirectUpload(makeFile('backoff.bin', size, seed), { endpoint: location.origin, partSize: 5 << 20, concurrency: 1, retryDelay: 4000 })
    window.errors = []
    window.up.addEventListener('error', (e) => window.errors.push(String(e.detail.error.message)))
    window.first = window.up.start()
  }), { size, seed })
  while (!failed) await new Promise((r) => setTimeout(r, 20))
  await new Promise((r) => setTimeout(r, 300)) // the part now sleeps in its backoff
  const out = await p.evaluate(async () => {
    up.pause()
    const result = await up.resume()
    const first = await window.first
    await new Promise((r) => setTimeout(r, 4500)) // past the old backoff
    return { result, first, state: up.state, errors: window.errors }
  })
  assert.equal(out.first, null, 'the paused run ends quietly')
  assert.deepEqual(out.errors, [])
  assert.equal(out.state, 'completed')
  assert.equal(puts, 4, 'one refused PUT, then each of the 3 parts once')
  assert.equal(sha256(await stored(local.api, out.result.key)), expected(size, seed))
  await p.context().close()
})

// Cancel while the initiate is in flight: what it created is aborted, nothing is saved.
test('client: cancel during initiate leaves no upload', async () => {
  const p = await page()
  await p.route((url) => new URL(url).pathname === '/uploads', async (route) => {
    const res = await route.fetch()
    await new Promise((r) => setTimeout(r, 800))
    await route.fulfill({ response: res })
  })
  const out = await p.evaluate(async () => {
    const { DirectUpload } = await import('/directup.js')
    const up = new DirectUpload(makeFile('early.bin', 3 << 20, 11), { endpoint: location.origin })
    const started = up.start()
    await new Promise((r) => setTimeout(r, 200))
    await up.cancel()
    const result = await started
    const res = await fetch(`/uploads/${up.session.uploadId}/parts`, { headers: { 'X-Upload-Token': up.session.token } })
    return { result, state: up.state, status: res.status, saved: localStorage.length }
  })
  assert.equal(out.result, null)
  assert.equal(out.state, 'cancelled')
  assert.equal(out.status, 404, 'the upload the initiate created is aborted')
  assert.equal(out.saved, 0, 'nothing is left to resume')
  await p.context().close()
})

// A server that takes fewer URLs per request than the client's default says so, and the
// client asks in batches of that size (it used to ask for 100 and fail).
test('client: the server\'s part batch is honoured', async () => {
  const small = await startLocal({ UPLOAD_PART_BATCH: '3' })
  try {
    const context = await browser.newContext()
    await withFiles(context)
    const p = await context.newPage()
    await p.goto(small.api + '/')
    const size = 9 * 1024 * 1024 + 5, seed = 43
    const out = await p.evaluate(async ({ size, seed }) => {
      const { DirectUpload } = await import('/directup.js')
      const up = new DirectUpload(makeFile('batch.bin', size, seed), { endpoint: location.origin, partSize: 1 << 20, concurrency: 2 })
      try { return { result: await up.start(), partBatch: up.session.partBatch } } catch (err) { return { error: String(err.message) } }
    }, { size, seed })
    assert.equal(out.error, undefined, out.error)
    assert.equal(out.partBatch, 3)
    assert.equal(sha256(await stored(small.api, out.result.key)), expected(size, seed))
    await context.close()
  } finally {
    small.stop()
  }
})

// The per-part CRC-64 check streams the part: a Blob is never read whole (arrayBuffer is
// made to fail here), and a mismatch is still caught.
test('client: the CRC-64 check streams each part', async () => {
  const p = await page()
  const out = await p.evaluate(async () => {
    Blob.prototype.arrayBuffer = () => Promise.reject(new Error('a part was loaded into memory whole'))
    const { DirectUpload } = await import('/directup.js')
    const up = new DirectUpload(makeFile('crc.bin', 6 << 20, 13), { endpoint: location.origin, partSize: 5 << 20 })
    try { return { result: await up.start() } } catch (err) { return { error: String(err.message) } }
  })
  assert.equal(out.error, undefined, out.error)
  assert.equal(sha256(await stored(local.api, out.result.key)), expected(6 << 20, 13))

  // The store reports another CRC than the bytes have: the client refuses the part.
  await p.route('**/*partNumber=*', async (route) => {
    const res = await route.fetch()
    await route.fulfill({ response: res, headers: { ...res.headers(), 'x-cos-hash-crc64ecma': '12345' } })
  })
  const bad = await p.evaluate(async () => {
    const { DirectUpload } = await import('/directup.js')
    try { await new DirectUpload(makeFile('crc2.bin', 1000, 14), { endpoint: location.origin, retries: 0 }).start(); return 'no error' } catch (err) { return err.code }
  })
  assert.equal(bad, 'integrity')
  await p.context().close()
})

// Content verification: an HTML page declared image/png is refused at initiate from the
// head directup.js sends, before any part is sent (and at complete through Uppy, which
// sends none, and the object is gone from the bucket); a real PNG passes.
test('content verification: HTML declared as PNG is refused (client: before any part; Uppy: at complete)', async () => {
  const html = '<!DOCTYPE html><html><body><script>alert(document.cookie)</script></body></html>'
  const p = await page()
  const seen = countPuts(p)
  const out = await p.evaluate(async (html) => {
    const { DirectUpload } = await import('/directup.js')
    const fake = new DirectUpload(new File([html.repeat(100)], 'cat.png', { type: 'image/png' }), { endpoint: location.origin })
    let initiated = false
    fake.addEventListener('initiated', () => { initiated = true })
    let code, field
    try { await fake.start() } catch (err) { ({ code, field } = err) }
    const bytes = new Uint8Array(200).fill(7)
    bytes.set([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, 0x49, 0x48, 0x44, 0x52])
    const real = await new DirectUpload(new File([bytes], 'real.png', { type: 'image/png' }), { endpoint: location.origin }).start()
    return { code, field, initiated, state: fake.state, real: real.key }
  }, html)
  assert.equal(out.code, 'content_mismatch')
  assert.equal(out.field, 'head')
  assert.equal(out.initiated, false, 'no upload was created')
  assert.equal(out.state, 'failed')
  assert.equal(seen.puts, 1, 'the PNG\'s one part; none of the HTML')
  assert.equal((await stored(local.api, out.real)).length, 200)
  await p.context().close()

  const { page: u, close } = await uppyPage(browser)
  const refused = await uppyUpload(u, { name: 'uppy-cat.png', type: 'image/png', text: html, endpoint: local.api })
  assert.equal(refused.failed.length, 1, 'Uppy\'s complete is refused too')
  const pngBytes = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, 0x49, 0x48, 0x44, 0x52, ...Array(100).fill(7)]
  const real = await uppyUpload(u, { name: 'uppy-real.png', type: 'image/png', bytes: pngBytes, endpoint: local.api })
  assert.deepEqual(real.failed, [])
  assert.equal((await stored(local.api, real.body.key)).length, pngBytes.length)
  await close()
})

test('client: a clear error when CORS hides ETag', async () => {
  const p = await page()
  // The store's answers lose their Access-Control-Expose-Headers, as with a bucket whose
  // CORS rule lacks ExposeHeader ETag.
  await p.route('**/*partNumber=*', async (route) => {
    const res = await route.fetch()
    const headers = { ...res.headers() }
    delete headers['access-control-expose-headers']
    await route.fulfill({ response: res, headers })
  })
  const message = await p.evaluate(async () => {
    const { DirectUpload } = await import('/directup.js')
    try {
      await new DirectUpload(makeFile('cors.bin', 1000, 5), { endpoint: location.origin }).start()
      return 'no error'
    } catch (err) {
      return err.message
    }
  })
  assert.match(message, /ExposeHeader ETag/)
  await p.context().close()
})

test('demo page: drop a file, watch per-part progress, get the key and link', async () => {
  const p = await page()
  // Slow the upload down so the page can be seen mid-way.
  const cdp = await p.context().newCDPSession(p)
  await cdp.send('Network.enable')
  await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: 16 * 1024 * 1024 })
  const size = 30 * 1024 * 1024 + 777, seed = 11
  // An MP4 as declared (completed objects are checked against their type): an ftyp box first.
  const video = fill(new Uint8Array(size), seed)
  video.set(Buffer.from('\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom', 'latin1'))
  await p.setInputFiles('#pick', { name: 'holiday video.mp4', mimeType: 'video/mp4', buffer: Buffer.from(video) })
  await p.waitForFunction(() => {
    const w = parseFloat(document.querySelector('.bar > div')?.style.width || '0')
    return w > 25 && w < 75 && document.querySelectorAll('.parts > div.done').length > 0
  }, null, { timeout: 30000 })
  await p.screenshot({ path: join(artifacts, 'demo-mid-upload.png'), fullPage: true })
  const cells = await p.locator('.parts > div').count()
  assert.equal(cells, 7)
  const link = p.locator('.result a')
  await link.waitFor({ timeout: 60000 })
  const key = await p.locator('.result code').textContent()
  assert.match(key, /^uploads\/[a-z2-7]{24}\/holiday-video\.mp4$/)
  const res = await fetch(new URL(await link.getAttribute('href'), local.api))
  assert.equal(sha256(new Uint8Array(await res.arrayBuffer())), sha256(video))
  await p.screenshot({ path: join(artifacts, 'demo-done.png'), fullPage: true })
  await p.context().close()
})

test('Uppy: @uppy/core + @uppy/aws-s3 through the Companion protocol', async () => {
  const { page: p, close } = await uppyPage(browser)

  // A capability-bound endpoint, as a backend would hand one to its frontend.
  const cap = await (await fetch(local.api + '/capabilities', { method: 'POST' })).json()
  assert.ok(cap.companionEndpoint.startsWith(local.api + '/c/'))

  const cases = [
    { name: 'uppy-big.bin', size: 12 * 1024 * 1024 + 5, seed: 21, endpoint: local.api },
    { name: 'uppy-tiny.txt', size: 100, seed: 22, endpoint: cap.companionEndpoint },
  ]
  for (const c of cases) {
    const out = await uppyUpload(p, c)
    assert.deepEqual(out.failed, [])
    assert.equal(sha256(await stored(local.api, out.body.key)), expected(c.size, c.seed), c.name)
  }

  // Without the size in its metadata, Uppy's upload is refused by default: an upload
  // whose part URLs pin no size exists only behind API_COMPANION_OPEN_UPLOADS.
  const refused = await uppyUpload(p, { name: 'uppy-undeclared.bin', size: 6 * 1024 * 1024, seed: 23, endpoint: local.api, declareSize: false })
  assert.equal(refused.failed.length, 1, 'an undeclared size must be refused')

  await close()
})

// Uppy as its docs set it up (companionEndpoint, nothing else): a 3 MB file goes through
// Companion's small-file path, one form POST straight to the store, bounded by the form's
// policy; the stored bytes are the browser's. A form whose bytes contradict their type is
// stored by the POST, then removed by the storage-triggered check (local mode runs it).
test('Uppy default setup: the form path (GET /s3/params, POST Object)', async () => {
  const { page: p, close } = await uppyPage(browser)
  const posts = []
  p.on('request', (r) => { if (r.method() === 'POST' && !r.url().startsWith(local.api)) posts.push(r.url()) })
  const c = { name: 'uppy-form.bin', size: 3 * 1000 * 1000, seed: 24, endpoint: local.api, defaults: true }
  const out = await uppyUpload(p, c)
  assert.deepEqual(out.failed, [])
  assert.equal(posts.length, 1, 'one form POST to the store')
  assert.equal(sha256(await stored(local.api, out.body.key)), expected(c.size, c.seed))

  const html = '<!doctype html><script>alert(1)</script>'
  const disguised = await uppyUpload(p, { name: 'cat.png', type: 'image/png', text: html, endpoint: local.api, defaults: true })
  assert.deepEqual(disguised.failed, [], 'the store takes the POST: nothing checks bytes before they are stored')
  let gone = false
  for (let i = 0; i < 50 && !gone; i++) {
    gone = (await stored(local.api, disguised.body.key)) === null
    if (!gone) await new Promise((r) => setTimeout(r, 100))
  }
  assert.ok(gone, 'the storage-triggered check removed HTML stored as image/png')
  await close()
})

// Upload profiles through Uppy as its docs set it up, plus the profile: named in the
// file's metadata, or fixed by a capability pinned to it.
test('Uppy: an upload naming a profile is held to its rules', async () => {
  const profiled = await startLocal({
    UPLOAD_PROFILES: JSON.stringify({ avatar: { allowedTypes: ['image/png'], maxSize: 1024 * 1024, keyPrefix: 'avatars/' } }),
  })
  const { page: p, close } = await uppyPage(browser)
  try {
    const png = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, 0x49, 0x48, 0x44, 0x52, ...new Array(2000).fill(7)]
    const ok = await uppyUpload(p, { name: 'me.png', type: 'image/png', bytes: png, endpoint: profiled.api, meta: { profile: 'avatar' } })
    assert.deepEqual(ok.failed, [])
    assert.ok(ok.body.key.startsWith('avatars/'), ok.body.key)
    assert.deepEqual([...await stored(profiled.api, ok.body.key)], png)

    const gif = await uppyUpload(p, { name: 'me.gif', type: 'image/gif', text: 'GIF89a', endpoint: profiled.api, meta: { profile: 'avatar' } })
    assert.equal(gif.failed.length, 1, 'a type outside the profile is refused')
    const unknown = await uppyUpload(p, { name: 'me.png', type: 'image/png', bytes: png, endpoint: profiled.api, meta: { profile: 'nope' } })
    assert.equal(unknown.failed.length, 1, 'an unknown profile is refused')

    const cap = await (await fetch(profiled.api + '/capabilities', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"profile":"avatar"}' })).json()
    assert.equal(cap.profile, 'avatar')
    const pinned = await uppyUpload(p, { name: 'pinned.png', type: 'image/png', bytes: png, endpoint: cap.companionEndpoint })
    assert.deepEqual(pinned.failed, [])
    assert.ok(pinned.body.key.startsWith('avatars/'), pinned.body.key)
  } finally {
    await close()
    profiled.stop()
  }
})
