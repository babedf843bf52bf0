// A user's code against the installed package: tsc --strict must accept it, and the
// lines marked @ts-expect-error must stay errors (the declarations are not just `any`).
import { DirectUpload, UploadError, CRC64S, crc64, crc64Of, crc64Combine, fingerprintOf, headOf } from 'directup'
import type { Completed, OpenUpload, Progress, UploadState } from 'directup'

export async function upload(file: File, jwt: string): Promise<Completed | null> {
  const headers = async () => ({ Authorization: `Bearer ${jwt}` })
  const open: OpenUpload[] = await DirectUpload.list({ endpoint: 'https://api.example.com', headers })
  const mine = await fingerprintOf(file)
  const waiting = open.filter((u) => u.fingerprint === mine).map((u) => `${u.filename}: ${u.parts.length}/${u.partCount}`)
  console.log(waiting, await headOf(file))

  const up = new DirectUpload(file, { endpoint: 'https://api.example.com', headers, concurrency: 2, retries: 3, partSize: 8 << 20 })
  up.addEventListener('progress', (e) => {
    const p: Progress = e.detail
    const left: string = p.secondsLeft === null ? '…' : `${p.secondsLeft} s`
    console.log(p.loaded / p.total, p.bytesPerSecond, left)
  })
  up.addEventListener('retrying', (e) => console.log(e.detail.attempt, e.detail.retries, e.detail.delay, e.detail.error.code))
  up.addEventListener('resumed', (e) => console.log(e.detail.source === 'list', e.detail.partNumbers.length))
  up.addEventListener('part', (e) => console.log(e.detail.partNumber, e.detail.done, e.detail.stored ?? false))
  up.addEventListener('statechange', (e) => { const s: UploadState = e.detail.state; if (s === 'failed') void up.resume() })
  up.addEventListener('initiated', (e) => console.log(e.detail.uploadId, e.detail.partCount))
  up.addEventListener('complete', (e) => console.log(e.detail.key, e.detail.crc64))
  up.addEventListener('error', (e) => console.log(e.detail.error.message))
  // @ts-expect-error: progress has no such field
  up.addEventListener('progress', (e) => e.detail.speed)
  // @ts-expect-error: the endpoint is required
  new DirectUpload(file, {})
  try {
    return await up.start()
  } catch (err) {
    if (err instanceof UploadError && err.code === 'content_mismatch') console.log(err.field, err.status, err.retryable)
    throw err
  } finally {
    up.pause()
    await up.cancel()
  }
}

export async function checksums(blob: Blob): Promise<string> {
  const a = CRC64S.crc64nvme.of(new Uint8Array([1, 2]))
  const b: bigint = await CRC64S.crc64ecma.ofBlob(blob)
  return crc64(new Uint8Array(3)) + (await crc64Of(blob)) + CRC64S.crc64nvme.format(crc64Combine('crc64nvme', a, b, blob.size))
}
