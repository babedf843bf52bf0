// directup.js — browser client for the directup upload API. No dependencies.
//
//   import { DirectUpload } from '/directup.js'
//   const up = new DirectUpload(file, { endpoint: 'https://api.example.com' })
//   up.addEventListener('progress', e => bar.value = e.detail.loaded / e.detail.total)
//   const result = await up.start()          // { bucket, key, location, etag, size, crc64 }
//   up.pause(); up.resume(); await up.cancel()
//   const open = await DirectUpload.list({ endpoint, headers })   // the caller's open uploads
//
// Parts go straight to storage through presigned URLs, several at a time, with retries
// and backoff; URLs are refreshed before they expire; an upload interrupted by a reload
// resumes (the session is kept in localStorage and the stored parts are listed); each part
// is checked against the CRC-64 storage reports for it, and the complete carries the whole
// file's checksum in the store's algorithm, combined from the parts' CRCs (no second pass
// over the file), which the store's own must match. The initiate carries the file's first
// bytes (the server refuses a file whose bytes contradict its type before any part is sent)
// and a fingerprint of it, so that an authenticated caller's upload started on one device is
// found (GET /uploads) and finished on another.

const DEFAULTS = {
  concurrency: 4,
  retries: 5,
  retryDelay: 500, // ms, doubled per attempt, with jitter
  refreshMargin: 60, // s: URLs expiring sooner are renewed before use
  resume: true,
  verify: true,
  checksum: true, // send the whole file's checksum with the complete (the store's must match)
  speedWindow: 5, // s: bytesPerSecond is measured over this much of the latest sending
}

// The initiate's head: the server's content rules read at least the first 3072 bytes.
const HEAD_BYTES = 4096
// The fingerprint hashes this much of each end of the file: enough to tell files of one
// name and size apart without reading a 5 GB video through.
const EDGE_BYTES = 64 << 10
const FINGERPRINT_VERSION = 'v1'
// Endpoints that answered GET /uploads with 501 (no callers to list for: AUTH_MODE=none):
// not asked again by this page.
const unlisted = new Set()

/** Error from the API or from storage; `code` and `field` come from the API's JSON errors. */
export class UploadError extends Error {
  constructor(message, { status = 0, code = '', field = '', retryable = false } = {}) {
    super(message)
    this.name = 'UploadError'
    Object.assign(this, { status, code, field, retryable })
  }
}

export class DirectUpload extends EventTarget {
  /**
   * The authenticated caller's open uploads (GET /uploads), each with a fresh upload token
   * and the parts stored so far. An API with no callers (AUTH_MODE=none) answers 501
   * not_available, thrown as an UploadError.
   */
  static async list({ endpoint, headers, signal } = {}) {
    if (!endpoint) throw new TypeError('DirectUpload.list: endpoint is required')
    const { uploads } = await request(endpoint.replace(/\/+$/, ''), 'GET', '/uploads', { headers, signal })
    return uploads || []
  }

  /**
   * @param {File|Blob} file
   * @param {object} options endpoint (API base URL, required); headers (object, or async
   *   function returning one, e.g. for Authorization); concurrency; retries; retryDelay;
   *   partSize; request (more initiate fields: metadata, tagging, storageClass, acl, ...);
   *   customerKey (base64 SSE-C key); resume; findOpen (look for an open upload of this file
   *   among the caller's, GET /uploads; default: when headers are given, as an anonymous
   *   caller has none); verify; checksum (false: complete without the whole file's
   *   checksum); speedWindow (s); storage (defaults to localStorage).
   */
  constructor(file, options) {
    super()
    if (!options || !options.endpoint) throw new TypeError('DirectUpload: options.endpoint is required')
    this.file = file
    this.options = { ...DEFAULTS, findOpen: Boolean(options.headers), ...options }
    this.endpoint = options.endpoint.replace(/\/+$/, '')
    this.state = 'idle'
    this.session = null // { uploadId, token, key, partSize, partCount, size, partBatch }
    this.parts = new Map() // partNumber -> { size, etag, loaded, url, headers, expiresAt, customerKeyHeader, crc64Header }
    this.inflight = new Map() // partNumber -> XMLHttpRequest
    this.storage = options.storage === undefined ? globalThis.localStorage : options.storage
    this.#meter = new Meter(this.options.speedWindow * 1000)
  }

  // One controller per start(): pause and cancel abort it, and everything that run does
  // (API calls, part PUTs, retry sleeps) stops with it, so no worker of an old run wakes
  // up inside a new one.
  #controller = null
  // The initiate in flight, which cancel() waits for so it can abort what it created.
  #opening = null
  // Bytes put on the wire lately, for the speed and the time left.
  #meter
  // Parts sleeping before another attempt: the state is "retrying" while there are any.
  #waiting = 0
  // A run failed: what it sent may be stored without this page knowing (an answer lost to
  // the network), so the next run asks storage first.
  #failed = false

  get progress() {
    let loaded = 0
    for (const p of this.parts.values()) loaded += p.etag ? p.size : p.loaded
    const total = this.file.size
    const bytesPerSecond = this.#running() ? this.#meter.rate() : 0
    const secondsLeft = bytesPerSecond > 0 ? Math.ceil((total - loaded) / bytesPerSecond) : null
    return { loaded, total, bytesPerSecond, secondsLeft }
  }

  get sessionKey() {
    const f = this.file
    return `directup:${this.endpoint}:${f.name}:${f.size}:${f.lastModified || 0}`
  }

  #emit(type, detail) {
    this.dispatchEvent(new CustomEvent(type, { detail }))
  }

  #setState(state) {
    this.state = state
    this.#emit('statechange', { state })
  }

  #running() {
    return this.state === 'uploading' || this.state === 'retrying'
  }

  #api(method, path, body, signal) {
    return request(this.endpoint, method, path, { headers: this.options.headers, token: this.session?.token, body, signal })
  }

  #save() {
    if (!this.options.resume || !this.storage) return
    this.storage.setItem(this.sessionKey, JSON.stringify(this.session))
  }

  #forget() {
    if (this.storage) this.storage.removeItem(this.sessionKey)
  }

  /**
   * Starts the upload — or continues one of this file: saved by this browser, or open
   * among the caller's uploads (started on another device) — and resolves with the
   * completed object. Resolves null when paused or cancelled.
   */
  async start() {
    if (this.#running()) throw new UploadError('already uploading')
    if (this.state === 'cancelled' || this.state === 'completed') throw new UploadError(`the upload is ${this.state}`)
    const controller = new AbortController()
    this.#controller = controller
    const { signal } = controller
    this.#meter.reset()
    this.#setState('uploading')
    try {
      if (!this.session) {
        this.#opening = this.#open(signal)
        try { await this.#opening } finally { this.#opening = null }
      } else if (this.#failed) {
        await this.#sync(signal)
      }
      this.#failed = false
      if (signal.aborted) return null
      return await this.#run(signal)
    } catch (err) {
      if (signal.aborted) return null // paused or cancelled: not a failure
      this.#failed = true
      this.#setState('failed')
      this.#emit('error', { error: err })
      throw err
    }
  }

  async #open(signal) {
    if (await this.#resumeSaved(signal)) return
    const fingerprint = await fingerprintOf(this.file)
    if (await this.#resumeListed(fingerprint, signal)) return
    await this.#initiate(fingerprint)
  }

  // #resumeSaved continues the upload this browser saved for the file, if storage still
  // has it.
  async #resumeSaved(signal) {
    const saved = this.options.resume && this.storage && this.storage.getItem(this.sessionKey)
    if (!saved) return false
    this.session = JSON.parse(saved)
    try {
      this.#plan()
      const stored = await this.#sync(signal)
      this.#announce('saved', stored)
      return true
    } catch (err) {
      if (err.retryable || signal.aborted) throw err
      this.session = null // expired, completed or aborted elsewhere: start anew
      this.parts.clear()
      this.#forget()
      return false
    }
  }

  // #resumeListed continues the caller's open upload of this file (same name, size and
  // fingerprint), wherever it was started. The list's token is fresh; its parts are stored.
  async #resumeListed(fingerprint, signal) {
    if (!this.options.resume || !this.options.findOpen || !fingerprint || unlisted.has(this.endpoint)) return false
    let uploads
    try {
      uploads = await DirectUpload.list({ endpoint: this.endpoint, headers: this.options.headers, signal })
    } catch (err) {
      if (signal.aborted) throw err
      if (err.status === 501) unlisted.add(this.endpoint)
      return false // nothing to continue is no reason not to upload
    }
    const f = this.file
    const match = uploads.filter((u) => u.filename === (f.name || 'blob') && u.size === f.size && u.fingerprint === fingerprint)
      .sort((a, b) => Date.parse(b.initiated) - Date.parse(a.initiated))[0]
    if (!match) return false
    this.session = { uploadId: match.uploadId, token: match.token, key: match.key, bucket: match.bucket, partSize: match.partSize,
      partCount: match.partCount, size: match.size, partBatch: match.partBatch || 100, checksumAlgorithm: match.checksumAlgorithm || '' }
    this.#plan()
    this.#save()
    this.#announce('list', this.#mark(match.parts || []))
    return true
  }

  async #initiate(fingerprint) {
    const size = this.file.size
    const req = {
      filename: this.file.name || 'blob',
      contentType: this.file.type || 'application/octet-stream',
      size,
      head: await headOf(this.file),
      ...(fingerprint ? { fingerprint } : {}),
      ...(this.options.partSize ? { partSize: this.options.partSize } : {}),
      ...(this.options.customerKey ? { encryption: { type: 'SSE-C', customerKey: this.options.customerKey } } : {}),
      ...(this.options.request || {}),
    }
    // Not aborted by pause or cancel: the answer names the upload, and only with it can a
    // cancelled upload be aborted in storage (cancel() waits for it).
    // Every part's URL in one small answer (the compact form: a template, runs of part
    // numbers, and the signatures).
    const up = await this.#api('POST', '/uploads?parts=compact', req)
    this.session = { uploadId: up.uploadId, token: up.token, key: up.key, bucket: up.bucket, partSize: up.partSize,
      partCount: up.partCount, size, partBatch: up.partBatch || 100, checksumAlgorithm: up.checksumAlgorithm || '' }
    this.#plan()
    this.#store(up)
    if (this.state === 'cancelled') return // cancel() aborts it; nothing to resume
    this.#save()
    this.#emit('initiated', { ...this.session, token: undefined })
  }

  // #sync asks storage which parts it holds and marks them sent; the part numbers.
  async #sync(signal) {
    const { parts, partBatch } = await this.#api('GET', `/uploads/${encodeURIComponent(this.session.uploadId)}/parts`, undefined, signal)
    if (partBatch) this.session.partBatch = partBatch
    return this.#mark(parts)
  }

  // #mark takes stored parts as sent (those of the planned size); their numbers.
  #mark(stored) {
    const numbers = []
    for (const p of stored) {
      const part = this.parts.get(p.partNumber)
      if (part && part.size === p.size) {
        part.etag = p.etag
        part.loaded = part.size
        numbers.push(p.partNumber)
      }
    }
    return numbers
  }

  // #announce tells that an upload continues, then shows each stored part as done, so a
  // page drawing parts needs nothing more than its 'part' handler.
  #announce(source, stored) {
    this.#emit('resumed', { source, stored: stored.length, partNumbers: stored, uploadId: this.session.uploadId,
      key: this.session.key, partCount: this.session.partCount, partSize: this.session.partSize })
    for (const n of stored) {
      const { size } = this.parts.get(n)
      this.#emit('part', { partNumber: n, loaded: size, size, done: true, stored: true })
    }
  }

  #plan() {
    const { partSize, partCount, size } = this.session
    for (let n = 1; n <= partCount; n++) {
      if (!this.parts.has(n)) this.parts.set(n, { size: n < partCount ? partSize : size - (partCount - 1) * partSize, loaded: 0 })
    }
  }

  // #store takes part URLs from an answer, in the compact form or the full one.
  #store(answer) {
    const exp = Date.parse(answer.expiresAt)
    const c = answer.compactParts
    if (c) {
      // Runs of part numbers; the i-th part's signature is the i-th slice of signatures. Each
      // URL is built when its part is sent (#url).
      const w = c.signatureLength
      let i = 0
      for (const run of c.parts) {
        for (let n = run.from; n < run.from + run.count; n++, i++) {
          Object.assign(this.parts.get(n), { url: null, template: c.url, signature: c.signatures.slice(i * w, (i + 1) * w),
            headers: c.headers || {}, expiresAt: exp, customerKeyHeader: c.customerKeyHeader, crc64Header: c.crc64Header })
        }
      }
      return
    }
    for (const u of answer.parts || []) {
      Object.assign(this.parts.get(u.partNumber), { url: u.url, signature: null, headers: u.headers || {}, expiresAt: exp,
        customerKeyHeader: u.customerKeyHeader, crc64Header: u.crc64Header })
    }
  }

  // #urls makes sure the given parts have URLs that will not expire soon: one request, in
  // the compact form, for all that need one.
  async #urls(numbers, signal) {
    const margin = this.options.refreshMargin * 1000
    const need = numbers.filter((n) => { const p = this.parts.get(n); return !(p.url || p.signature) || p.expiresAt - Date.now() < margin })
    if (!need.length) return
    // The SSE-C key goes along: stores whose URLs sign it (S3) need it again.
    const body = { partNumbers: need, ...(this.options.customerKey ? { customerKey: this.options.customerKey } : {}) }
    this.#store(await this.#api('POST', `/uploads/${encodeURIComponent(this.session.uploadId)}/parts?parts=compact`, body, signal))
  }

  async #run(signal) {
    const pending = [...this.parts.entries()].filter(([, p]) => !p.etag).map(([n]) => n)
    this.#progress()
    let failure = null
    const worker = async () => {
      while (pending.length && !failure && !signal.aborted) {
        const n = pending.shift()
        try {
          await this.#putWithRetries(n, signal)
        } catch (err) {
          if (signal.aborted) { pending.unshift(n); return }
          failure = err
        }
      }
    }
    // Fetch the URLs the workers need in one call rather than one each.
    await this.#urls(pending, signal)
    await Promise.all(Array.from({ length: Math.min(this.options.concurrency, pending.length) }, worker))
    if (signal.aborted) return null
    if (failure) throw failure
    const body = await this.#completion()
    // Not aborted by a late pause: a complete cut off halfway may still have assembled the object.
    const result = await this.#api('POST', `/uploads/${encodeURIComponent(this.session.uploadId)}/complete`, body)
    this.#forget()
    this.#setState('completed')
    this.#emit('complete', result)
    return result
  }

  // #completion is the complete's body: every part (with its own CRC where the store takes
  // it: S3) and the whole file's checksum, the parts' CRCs combined in part order. Parts sent
  // by an earlier page (a resumed upload) are read once for theirs.
  async #completion() {
    const algo = this.options.checksum && CRC64S[this.session.checksumAlgorithm]
    const parts = []
    let whole = 0n
    for (const [partNumber, p] of [...this.parts.entries()].sort((a, b) => a[0] - b[0])) {
      const part = { partNumber, etag: p.etag }
      if (algo) {
        if (p.crc === undefined) p.crc = await algo.ofBlob(this.#blob(partNumber, p))
        if (algo.name === 'crc64nvme') part.checksum = algo.format(p.crc)
        whole = algo.combine(whole, p.crc, p.size)
      }
      parts.push(part)
    }
    return algo ? { parts, checksum: { [algo.name]: algo.format(whole) } } : { parts }
  }

  #blob(n, part) {
    const start = (n - 1) * this.session.partSize
    return this.file.slice(start, start + part.size)
  }

  async #putWithRetries(n, signal) {
    const part = this.parts.get(n)
    for (let attempt = 0; ; attempt++) {
      try {
        await this.#urls([n], signal)
        part.etag = await this.#put(n, part, signal)
        part.loaded = part.size
        this.#emit('part', { partNumber: n, loaded: part.size, size: part.size, done: true })
        this.#progress()
        return
      } catch (err) {
        if (signal.aborted) throw err // paused: what the bar shows stays until the part is sent again
        part.loaded = 0
        this.#progress()
        if (!err.retryable || attempt >= this.options.retries) throw err
        if (err.status === 403) part.url = part.signature = null // maybe expired: sign again
        const delay = this.options.retryDelay * 2 ** attempt
        await this.#backoff(n, attempt + 1, delay / 2 + Math.random() * delay / 2, err, signal)
      }
    }
  }

  // #backoff waits before a part's next attempt, in the "retrying" state while any part
  // waits, and tells which attempt comes and when.
  async #backoff(partNumber, attempt, delay, error, signal) {
    this.#waiting++
    if (this.state === 'uploading') this.#setState('retrying')
    this.#emit('retrying', { partNumber, attempt, retries: this.options.retries, delay: Math.round(delay), error })
    try {
      await sleep(delay, signal)
    } finally {
      if (--this.#waiting === 0 && this.state === 'retrying') this.#setState('uploading')
    }
  }

  // #url is a part's URL: as answered, or its template with the number and signature put in
  // (functions as replacements: a "$" in them is not a pattern).
  #url(n, part) {
    return part.url || part.template.replace('{partNumber}', () => n).replace('{signature}', () => part.signature)
  }

  #put(n, part, signal) {
    if (signal.aborted) return Promise.reject(stopped())
    const blob = this.#blob(n, part)
    return new Promise((resolve, reject) => {
      const xhr = new XMLHttpRequest()
      const onAbort = () => xhr.abort()
      const settle = (f, v) => { signal.removeEventListener('abort', onAbort); this.inflight.delete(n); f(v) }
      signal.addEventListener('abort', onAbort)
      this.inflight.set(n, xhr)
      xhr.open('PUT', this.#url(n, part))
      for (const [k, v] of Object.entries(part.headers)) xhr.setRequestHeader(k, v)
      if (this.options.customerKey) {
        if (!part.customerKeyHeader) {
          settle(reject, new UploadError('the server named no header for the SSE-C key (customerKeyHeader)', { code: 'sse_c_unsupported' }))
          return
        }
        xhr.setRequestHeader(part.customerKeyHeader, this.options.customerKey)
      }
      let sent = 0
      xhr.upload.onprogress = (e) => {
        this.#meter.add(e.loaded - sent)
        sent = e.loaded
        // A part sent again after a pause shows no less than before it.
        part.loaded = Math.max(part.loaded, e.loaded)
        this.#emit('part', { partNumber: n, loaded: e.loaded, size: part.size, done: false })
        this.#progress()
      }
      xhr.onabort = () => settle(reject, stopped())
      xhr.onerror = () => settle(reject, new UploadError(`part ${n}: network error`, { retryable: true }))
      xhr.onload = async () => {
        if (xhr.status < 200 || xhr.status >= 300) {
          settle(reject, new UploadError(`part ${n}: storage answered ${xhr.status}`, { status: xhr.status, retryable: xhr.status >= 500 || xhr.status === 403 || xhr.status === 429 }))
          return
        }
        const etag = xhr.getResponseHeader('ETag')
        if (!etag) {
          settle(reject, new UploadError('storage answered without a readable ETag: the bucket\'s CORS rule must expose it (ExposeHeader ETag)', { code: 'etag_hidden' }))
          return
        }
        // The store names its checksum header per part (COS: CRC-64); stores without one skip the check.
        // The part's CRC in the store's algorithm is kept for the whole file's checksum.
        const reported = part.crc64Header && xhr.getResponseHeader(part.crc64Header)
        const algo = this.options.checksum && CRC64S[this.session.checksumAlgorithm]
        const hasher = algo || CRC64S.crc64ecma // COS reports crc64ecma
        if ((this.options.verify && reported) || algo) {
          const mine = await hasher.ofBlob(blob)
          if (this.options.verify && reported && hasher.name === 'crc64ecma' && mine.toString() !== reported) {
            settle(reject, new UploadError(`part ${n}: storage holds CRC-64 ${reported}, the file has ${mine}`, { code: 'integrity', retryable: true }))
            return
          }
          if (algo) part.crc = mine
        }
        settle(resolve, etag)
      }
      xhr.send(blob)
    })
  }

  #progress() {
    this.#emit('progress', this.progress)
  }

  /** Stops sending; parts in flight are sent again on resume. The progress stays as shown. */
  pause() {
    if (!this.#running()) return
    this.#setState('paused')
    this.#controller?.abort()
    this.#progress()
  }

  /**
   * Continues a paused upload, or one whose run failed (network gone, storage errors after
   * the retries) from what storage holds: the same file, not picked again.
   */
  resume() {
    if (this.state !== 'paused' && this.state !== 'failed') return Promise.resolve(null)
    return this.start()
  }

  /** Stops and aborts the upload: storage discards its parts. */
  async cancel() {
    const was = this.state
    if (was === 'cancelled') return
    this.#setState('cancelled')
    this.#controller?.abort()
    this.#forget()
    if (this.#opening) await this.#opening.catch(() => {}) // an initiate in flight: learn what it created
    if (this.session && was !== 'completed') {
      try {
        await this.#api('DELETE', `/uploads/${encodeURIComponent(this.session.uploadId)}`)
      } finally {
        this.#forget()
      }
    }
  }
}

/**
 * request calls the API: headers are an object or an async function returning one; token
 * is the upload token of follow-up calls. API errors become UploadErrors with the answer's
 * code and field.
 */
async function request(endpoint, method, path, { headers, token, body, signal } = {}) {
  const h = { ...(typeof headers === 'function' ? await headers() : headers || {}) }
  if (token) h['X-Upload-Token'] = token
  if (body !== undefined) h['Content-Type'] = 'application/json'
  let res
  try {
    res = await fetch(endpoint + path, { method, headers: h, signal, body: body === undefined ? undefined : JSON.stringify(body) })
  } catch (err) {
    if (signal?.aborted) throw stopped()
    throw new UploadError(`could not reach the upload API: ${err.message}`, { retryable: true })
  }
  if (res.status === 204) return null
  const data = await res.json().catch(() => ({}))
  if (!res.ok) {
    const e = data.error || {}
    throw new UploadError(e.message || `the upload API answered ${res.status}`, {
      status: res.status, code: e.code, field: e.field, retryable: res.status >= 500 || res.status === 429,
    })
  }
  return data
}

/** headOf is the initiate's head: the file's first 4096 bytes (all of a smaller file), base64. */
export async function headOf(file) {
  const bytes = await bytesOf(file.slice(0, HEAD_BYTES))
  let s = ''
  for (const b of bytes) s += String.fromCharCode(b)
  return btoa(s)
}

/**
 * fingerprintOf tells a file apart from others of its name and size without reading it
 * all: "v1:" and the hex SHA-256 of its name, size, first and last 64 KiB. "" where the
 * page has no crypto.subtle (an insecure origin): such a page finds no upload to continue.
 */
export async function fingerprintOf(file) {
  if (!globalThis.crypto?.subtle) return ''
  const size = file.size
  const head = file.slice(0, Math.min(size, EDGE_BYTES))
  const tail = file.slice(Math.max(EDGE_BYTES, size - EDGE_BYTES), size) // no byte hashed twice
  const label = new TextEncoder().encode(`${file.name || 'blob'}\0${size}\0`)
  const digest = await crypto.subtle.digest('SHA-256', await bytesOf(new Blob([label, head, tail])))
  return `${FINGERPRINT_VERSION}:` + [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, '0')).join('')
}

// bytesOf reads a small Blob through its stream (not arrayBuffer(), which pages may not
// trust for large parts).
async function bytesOf(blob) {
  const out = new Uint8Array(blob.size)
  const reader = blob.stream().getReader()
  for (let at = 0; ;) {
    const { done, value } = await reader.read()
    if (done) return out
    out.set(value, at)
    at += value.length
  }
}

/**
 * Meter measures the sending speed over a moving window: bytes put on the wire, by when.
 * The window starts again with each run, so a pause is not averaged in.
 */
class Meter {
  constructor(windowMs) {
    this.windowMs = windowMs
    this.reset()
  }

  reset() {
    this.samples = [] // [ms, bytes]
    this.since = performance.now()
  }

  add(bytes) {
    const now = performance.now()
    this.samples.push([now, bytes])
    while (this.samples.length && this.samples[0][0] < now - this.windowMs) this.samples.shift()
  }

  /** rate is bytes per second over the window, 0 until a quarter second of it has passed. */
  rate() {
    const now = performance.now()
    const from = Math.max(this.since, now - this.windowMs)
    if (now - from < 250) return 0
    let bytes = 0
    for (const [t, b] of this.samples) if (t >= from) bytes += b
    return Math.round(bytes / ((now - from) / 1000))
  }
}

/** The error of work that pause or cancel stopped. */
function stopped() {
  return new UploadError('stopped', { code: 'stopped' })
}

/** Waits ms, or rejects as soon as signal aborts. */
function sleep(ms, signal) {
  return new Promise((resolve, reject) => {
    if (signal.aborted) { reject(stopped()); return }
    const timer = setTimeout(() => { signal.removeEventListener('abort', onAbort); resolve() }, ms)
    const onAbort = () => { clearTimeout(timer); reject(stopped()) }
    signal.addEventListener('abort', onAbort, { once: true })
  })
}

// CRC-64s as the stores keep them: CRC-64/ECMA-182 as COS reports it (x-cos-hash-crc64ecma;
// Go's crc64.ECMA: the CRC-64/XZ form) and CRC-64/NVME (S3's x-amz-checksum-crc64nvme): both
// reflected, initial and final value all ones. Bytes are folded in with 32-bit halves (fast);
// finished values are BigInts.
function makeTable(polyHi, polyLo) {
  const hiT = new Uint32Array(256), loT = new Uint32Array(256)
  for (let i = 0; i < 256; i++) {
    let hi = 0, lo = i
    for (let k = 0; k < 8; k++) {
      const bit = lo & 1
      lo = ((lo >>> 1) | ((hi & 1) << 31)) >>> 0
      hi = hi >>> 1
      if (bit) { hi = (hi ^ polyHi) >>> 0; lo = (lo ^ polyLo) >>> 0 }
    }
    hiT[i] = hi
    loT[i] = lo
  }
  return [hiT, loT]
}

const MASK64 = (1n << 64n) - 1n

class CRC64 {
  constructor(name, polyHi, polyLo) {
    this.name = name
    this.poly = (BigInt(polyHi) << 32n) | BigInt(polyLo)
    ;[this.hiT, this.loT] = makeTable(polyHi, polyLo)
    this.shifts = new Map() // length -> operator appending that many zero bytes
    this.x2n = [1n << 62n] // x^(2^k) mod p, reflected: bit 63 is x^0
    for (let k = 1; k < 64; k++) this.x2n.push(this.#mulmod(this.x2n[k - 1], this.x2n[k - 1]))
  }

  // update folds bytes into a running state (two 32-bit halves, before the final xor).
  update([hi, lo], bytes) {
    const { hiT, loT } = this
    for (let i = 0; i < bytes.length; i++) {
      const idx = (lo ^ bytes[i]) & 0xff
      lo = ((lo >>> 8) | ((hi & 0xff) << 24)) ^ loT[idx]
      hi = (hi >>> 8) ^ hiT[idx]
    }
    return [hi, lo]
  }

  final([hi, lo]) { return (BigInt(~hi >>> 0) << 32n) | BigInt(~lo >>> 0) }

  of(bytes) { return this.final(this.update([0xFFFFFFFF, 0xFFFFFFFF], bytes)) }

  /** ofBlob streams a Blob through the CRC, a chunk at a time: a part is never held whole. */
  async ofBlob(blob) {
    const reader = blob.stream().getReader()
    let state = [0xFFFFFFFF, 0xFFFFFFFF]
    for (;;) {
      const { done, value } = await reader.read()
      if (done) return this.final(state)
      state = this.update(state, value)
    }
  }

  #mulmod(a, b) {
    let p = 0n
    for (let m = 1n << 63n; m; m >>= 1n) {
      if (a & m) {
        p ^= b
        if (!(a & (m - 1n))) break
      }
      b = b & 1n ? (b >> 1n) ^ this.poly : b >> 1n
    }
    return p
  }

  #shift(len) {
    let op = this.shifts.get(len)
    if (op === undefined) {
      op = 1n << 63n
      for (let n = BigInt(len), k = 3; n; n >>= 1n, k++) if (n & 1n) op = this.#mulmod(this.x2n[k & 63], op)
      this.shifts.set(len, op)
    }
    return op
  }

  /** combine is the CRC of A then B from their CRCs and B's length (zlib's crc32_combine). */
  combine(crcA, crcB, lenB) { return (this.#mulmod(this.#shift(lenB), crcA) ^ crcB) & MASK64 }

  /** format writes a CRC as its store does: decimal (crc64ecma), base64 of 8 bytes big-endian (crc64nvme). */
  format(crc) {
    if (this.name !== 'crc64nvme') return crc.toString()
    let s = ''
    for (let i = 7; i >= 0; i--) s += String.fromCharCode(Number((crc >> BigInt(8 * i)) & 0xFFn))
    return btoa(s)
  }
}

/** The CRC-64s by the name the API gives them (the initiate answer's checksumAlgorithm). */
export const CRC64S = {
  crc64ecma: new CRC64('crc64ecma', 0xC96C5795, 0xD7870F42),
  crc64nvme: new CRC64('crc64nvme', 0x9A6C9329, 0xAC4BC9B5),
}

/** crc64 returns the CRC-64/ECMA-182 of bytes as a decimal string (COS's form). */
export function crc64(bytes) {
  return CRC64S.crc64ecma.of(bytes).toString()
}

/** crc64Of streams a Blob through CRC-64/ECMA-182; the decimal string. */
export async function crc64Of(blob) {
  return (await CRC64S.crc64ecma.ofBlob(blob)).toString()
}

/** crc64Combine joins the CRCs (BigInts) of consecutive pieces: algorithm, CRC of A, CRC of B, B's length. */
export function crc64Combine(algorithm, crcA, crcB, lenB) {
  return CRC64S[algorithm].combine(crcA, crcB, lenB)
}
