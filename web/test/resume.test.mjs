// Resume anywhere and a client people enjoy (issue 26), in Chromium against local mode for
// real: an upload started on one "device" (a browser context) is listed and finished by
// another with the same JWT; progress carries speed and time left; a run failed by a
// network outage continues with resume(); the demo page shows all of it (screenshots in
// test/artifacts).
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { join } from 'node:path'
import { startLocal, launch, withFiles, expected, stored, sha256, fill, artifacts, jwt, jwtAuth } from './helpers.mjs'

let local, anon, browser

before(async () => {
  local = await startLocal(jwtAuth) // callers with a JWT: GET /uploads lists theirs
  anon = await startLocal() // AUTH_MODE=none, as the demo runs by default
  browser = await launch()
})

after(async () => {
  await browser?.close()
  local?.stop()
  anon?.stop()
})

/** A new "device": its own browser context (no shared localStorage) on the API's page. */
async function device(api = local.api) {
  const context = await browser.newContext()
  await withFiles(context)
  const p = await context.newPage()
  p.on('pageerror', (err) => console.error('page error:', err))
  await p.goto(api + '/')
  return p
}

/** Counts part PUTs the page sends straight to the store. */
function countPuts(p) {
  const seen = { puts: 0 }
  p.on('request', (r) => { if (r.method() === 'PUT' && r.url().includes('partNumber=')) seen.puts++ })
  return seen
}

const cdps = new WeakMap()

/**
 * Limits the page's upload speed (bytes per second), so it can be watched mid-way, or cuts
 * its network (offline: requests in flight fail too). One CDP session per page: the
 * conditions of another (context.setOffline's) would not apply over these.
 */
async function throttle(p, bytesPerSecond, offline = false) {
  const cdp = cdps.get(p) || await p.context().newCDPSession(p)
  cdps.set(p, cdp)
  await cdp.send('Network.enable')
  await cdp.send('Network.emulateNetworkConditions', { offline, latency: 0, downloadThroughput: -1, uploadThroughput: bytesPerSecond })
}

test('resume anywhere: a second device lists and finishes an upload the first started; another caller sees nothing', async () => {
  const size = 24 * 1024 * 1024 + 5, seed = 61, name = 'long video.bin'
  const alice = jwt('alice'), bob = jwt('bob')
  const phone = await device()
  const first = await phone.evaluate(async ({ size, seed, name, alice }) => {
    const { DirectUpload } = await import('/directup.js')
    const up = new DirectUpload(makeFile(name, size, seed), { endpoint: location.origin, partSize: 5 << 20, concurrency: 1,
      headers: { Authorization: 'Bearer ' + alice } })
    let done = 0
    await new Promise((resolve) => {
      up.addEventListener('part', (e) => { if (e.detail.done && ++done === 2) { up.pause(); resolve() } })
      up.start()
    })
    return { uploadId: up.session.uploadId }
  }, { size, seed, name, alice })
  await phone.context().close() // the phone is gone: nothing of it is left to the laptop but the API

  const laptop = await device()
  const seen = countPuts(laptop)
  const out = await laptop.evaluate(async ({ size, seed, name, alice, bob }) => {
    const { DirectUpload, fingerprintOf } = await import('/directup.js')
    const headers = { Authorization: 'Bearer ' + alice }
    const listed = await DirectUpload.list({ endpoint: location.origin, headers })
    const others = await DirectUpload.list({ endpoint: location.origin, headers: { Authorization: 'Bearer ' + bob } })
    const file = makeFile(name, size, seed)
    // Another file of the same name and size is told apart by its fingerprint.
    const mine = await fingerprintOf(file), lookalike = await fingerprintOf(makeFile(name, size, seed + 1))
    const up = new DirectUpload(file, { endpoint: location.origin, headers })
    let resumed = null
    const shownStored = []
    up.addEventListener('resumed', (e) => { resumed = e.detail })
    up.addEventListener('part', (e) => { if (e.detail.stored) shownStored.push(e.detail.partNumber) })
    const result = await up.start()
    const afterwards = await DirectUpload.list({ endpoint: location.origin, headers })
    return { listed, others, mine, lookalike, resumed, shownStored, result, uploadId: up.session.uploadId, afterwards }
  }, { size, seed, name, alice, bob })

  assert.equal(out.listed.length, 1)
  const u = out.listed[0]
  assert.equal(u.uploadId, first.uploadId)
  assert.equal(u.filename, name)
  assert.equal(u.size, size)
  assert.equal(u.partCount, 5)
  assert.equal(u.fingerprint, out.mine)
  assert.match(u.fingerprint, /^v1:[0-9a-f]{64}$/)
  assert.notEqual(out.lookalike, out.mine)
  assert.ok(u.token, 'a fresh token')
  assert.ok(u.parts.length >= 2, `${u.parts.length} parts stored`)
  assert.deepEqual(out.others, [], 'another caller sees nothing')

  assert.equal(out.uploadId, first.uploadId, 'the same upload continues')
  assert.equal(out.resumed.source, 'list')
  assert.deepEqual(out.shownStored, out.resumed.partNumbers, 'stored parts are shown done')
  assert.equal(seen.puts, 5 - out.resumed.stored, 'only the missing parts are sent')
  assert.equal(sha256(await stored(local.api, out.result.key)), expected(size, seed))
  assert.deepEqual(out.afterwards.filter((x) => x.uploadId === first.uploadId), [], 'a completed upload is no longer listed')
  await laptop.context().close()
})

test('resume anywhere: an anonymous API has no callers to list for (501 not_available), and uploads without asking', async () => {
  const p = await device(anon.api)
  const api = []
  p.on('request', (r) => { if (r.url().startsWith(anon.api + '/uploads')) api.push(r.method() + ' ' + new URL(r.url()).pathname) })
  const out = await p.evaluate(async () => {
    const { DirectUpload } = await import('/directup.js')
    let listing
    try { await DirectUpload.list({ endpoint: location.origin }) } catch (err) { listing = { status: err.status, code: err.code } }
    const result = await new DirectUpload(makeFile('anon.bin', 1000, 62), { endpoint: location.origin }).start()
    return { listing, result }
  })
  assert.deepEqual(out.listing, { status: 501, code: 'not_available' })
  assert.deepEqual(api.slice(1).map((a) => a.replace(/uploads\/[^/]+/, 'uploads/ID')), ['POST /uploads', 'POST /uploads/ID/complete'],
    'no listing before an anonymous upload')
})

test('client: progress carries speed and time left; pause keeps the progress shown', async () => {
  const p = await device(anon.api)
  await throttle(p, 4 * 1024 * 1024)
  const size = 12 * 1024 * 1024 + 17, seed = 63
  const out = await p.evaluate(async ({ size, seed }) => {
    const { DirectUpload } = await import('/directup.js')
    const up = new DirectUpload(makeFile('speed.bin', size, seed), { endpoint: location.origin, partSize: 5 << 20, concurrency: 2 })
    const events = []
    up.addEventListener('progress', (e) => events.push({ ...e.detail, state: up.state }))
    const run = up.start()
    await new Promise((r) => setTimeout(r, 1500))
    const before = up.progress.loaded
    up.pause()
    const paused = up.progress
    await run
    const mark = events.length
    const result = await up.resume()
    const resumed = events.slice(mark)
    return { result, events, before, paused, lowestAfter: Math.min(...resumed.map((e) => e.loaded)) }
  }, { size, seed })
  const timed = out.events.filter((e) => e.bytesPerSecond > 0 && Number.isFinite(e.secondsLeft))
  assert.ok(timed.length > 5, `${timed.length} of ${out.events.length} progress events carry a speed and time left`)
  const mid = timed[Math.floor(timed.length / 2)]
  assert.ok(mid.bytesPerSecond > 256 * 1024 && mid.bytesPerSecond < 64 << 20, `${mid.bytesPerSecond} B/s under a 4 MB/s link`)
  assert.ok(Math.abs(mid.secondsLeft - (mid.total - mid.loaded) / mid.bytesPerSecond) <= 1, 'time left follows from the speed')
  assert.ok(out.before > 0, 'something was sent before the pause')
  assert.ok(out.paused.loaded >= out.before, `paused at ${out.paused.loaded}, shown ${out.before} before`)
  assert.equal(out.paused.bytesPerSecond, 0)
  assert.equal(out.paused.secondsLeft, null)
  assert.ok(out.lowestAfter >= out.paused.loaded, 'the resumed run never shows less than the pause did')
  assert.equal(out.events.at(-1).loaded, size)
  assert.equal(sha256(await stored(anon.api, out.result.key)), expected(size, seed))
  await p.context().close()
})

test('client: a run failed by a network outage retries, fails, and continues with resume()', async () => {
  const p = await device(anon.api)
  const seen = countPuts(p)
  const size = 16 * 1024 * 1024 + 3, seed = 64
  await p.evaluate(({ size, seed }) => import('/directup.js').then(({ DirectUpload }) => {
    const up = window.up = new DirectUpload(makeFile('outage.bin', size, seed), { endpoint: location.origin, partSize: 5 << 20,
      concurrency: 1, retries: 2, retryDelay: 200 })
    window.log = { states: [], retrying: [], done: 0 }
    up.addEventListener('statechange', (e) => window.log.states.push(e.detail.state))
    up.addEventListener('retrying', (e) => window.log.retrying.push({ ...e.detail, error: e.detail.error.message }))
    up.addEventListener('part', (e) => { if (e.detail.done) window.log.done++ })
    window.run = up.start().then(() => 'completed', (err) => 'failed: ' + err.message)
  }), { size, seed })
  await p.waitForFunction(() => window.log.done >= 1)
  await p.context().setOffline(true)
  const failure = await p.evaluate(() => window.run)
  const storedBefore = await p.evaluate(() => window.log.done)
  const putsBefore = seen.puts
  await p.context().setOffline(false)
  const out = await p.evaluate(async () => {
    const result = await up.resume()
    return { result, log: window.log, state: up.state }
  })
  assert.match(failure, /^failed: part \d: network error/)
  assert.deepEqual(out.log.retrying.map((r) => r.attempt), [1, 2], 'each retry is told, with its attempt')
  for (const r of out.log.retrying) {
    assert.equal(r.retries, 2)
    assert.ok(r.delay > 0, 'and its wait')
  }
  assert.deepEqual(out.log.states, ['uploading', 'retrying', 'uploading', 'retrying', 'uploading', 'failed', 'uploading', 'completed'])
  assert.equal(out.state, 'completed')
  assert.equal(seen.puts - putsBefore, 4 - storedBefore, 'the parts stored before the outage are not sent again')
  assert.equal(sha256(await stored(anon.api, out.result.key)), expected(size, seed))
  await p.context().close()
})

// The demo page through an outage: speed and time left mid-upload, "retrying", "failed"
// with a Retry button, and the Retry continuing with the stored parts shown done.
test('demo page: speed, time left, retrying, failed with Retry, resumed', async () => {
  const p = await device(anon.api)
  await throttle(p, 8 * 1024 * 1024)
  // 10 parts: when the network goes, some are yet to start (those in flight may still arrive).
  const size = 45 * 1024 * 1024 + 777, seed = 65
  const video = fill(new Uint8Array(size), seed)
  video.set(Buffer.from('\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom', 'latin1'))
  await p.setInputFiles('#pick', { name: 'holiday video.mp4', mimeType: 'video/mp4', buffer: Buffer.from(video) })
  await p.waitForFunction(() => document.querySelectorAll('.parts > div.done').length >= 2 && /\/s/.test(document.querySelector('.speed').textContent))
    .catch(async (err) => { console.error(await p.locator('.file').innerHTML()); throw err })
  assert.match(await p.locator('.speed').textContent(), /^\d+(\.\d)? (MB|KB)\/s · (\d+ s|\d+ min( \d+ s)?) left$/)
  await p.screenshot({ path: join(artifacts, 'demo-outage-mid-upload.png'), fullPage: true })

  await throttle(p, 8 * 1024 * 1024, true)
  await p.locator('.state', { hasText: 'retrying' }).waitFor({ timeout: 20000 })
  assert.match(await p.locator('.state').textContent(), /^retrying \d of 5 in \d+(\.\d)? s$/)
  await p.screenshot({ path: join(artifacts, 'demo-retrying.png'), fullPage: true })
  await p.locator('.state', { hasText: 'failed' }).waitFor({ timeout: 60000 })
  const retry = p.locator('[data-act=retry]')
  assert.ok(await retry.isVisible(), 'a Retry button after the failure')
  const doneBefore = await p.locator('.parts > div.done').count()
  const barBefore = await p.locator('.bar > div').evaluate((el) => parseFloat(el.style.width))
  await p.screenshot({ path: join(artifacts, 'demo-failed.png'), fullPage: true })

  await throttle(p, 8 * 1024 * 1024)
  await retry.click()
  await p.locator('.state', { hasText: '%' }).waitFor()
  assert.ok(await p.locator('.parts > div.done').count() >= doneBefore, 'stored parts stay done')
  await p.screenshot({ path: join(artifacts, 'demo-resumed.png'), fullPage: true })
  await p.locator('.result a').waitFor({ timeout: 60000 })
  assert.ok(barBefore > 0)
  assert.equal(await p.locator('.parts > div.done').count(), 10)
  const key = await p.locator('.result code').textContent()
  assert.equal(sha256(await stored(anon.api, key)), sha256(video))
  await p.context().close()
})

// The demo page with a JWT: the caller's open uploads are listed, and picking the file
// again on this "device" continues one, its stored parts shown done at once.
test('demo page: the caller\'s open uploads listed and continued on another device', async () => {
  const alice = jwt('alice-demo')
  const size = 12 * 1024 * 1024 + 1, seed = 66
  const phone = await device()
  await phone.evaluate(async ({ size, seed, alice }) => {
    const { DirectUpload } = await import('/directup.js')
    const up = new DirectUpload(makeFile('from the phone.bin', size, seed), { endpoint: location.origin, partSize: 5 << 20, concurrency: 1,
      headers: { Authorization: 'Bearer ' + alice } })
    await new Promise((resolve) => {
      up.addEventListener('part', (e) => { if (e.detail.done) { up.pause(); resolve() } })
      up.start()
    })
  }, { size, seed, alice })
  await phone.context().close()

  const laptop = await device()
  await laptop.fill('#token', alice)
  await laptop.locator('#open li').first().waitFor()
  assert.match(await laptop.locator('#open li').first().textContent(), /from the phone\.bin.*12\.0 MB.*1 of 3 parts stored/)
  await laptop.screenshot({ path: join(artifacts, 'demo-open-uploads.png'), fullPage: true })
  await throttle(laptop, 4 * 1024 * 1024)
  await laptop.setInputFiles('#pick', { name: 'from the phone.bin', mimeType: 'application/octet-stream', buffer: Buffer.from(fill(new Uint8Array(size), seed)) })
  await laptop.locator('.parts > div.done').first().waitFor()
  await laptop.screenshot({ path: join(artifacts, 'demo-resumed-elsewhere.png'), fullPage: true })
  await laptop.locator('.result a').waitFor({ timeout: 60000 })
  const key = await laptop.locator('.result code').textContent()
  assert.equal(sha256(await stored(local.api, key)), expected(size, seed))
  await laptop.context().close()
})
