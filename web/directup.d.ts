// Types of directup.js, the browser client of the directup upload API. Checked with
// tsc --strict against test/types/sample.ts (scripts/test.sh).

/** What an upload is doing; every change is a 'statechange' event. */
export type UploadState = 'idle' | 'uploading' | 'retrying' | 'paused' | 'failed' | 'cancelled' | 'completed'

/** The headers every API call carries (Authorization, ...), or an async function giving them. */
export type HeadersOption = Record<string, string> | (() => Record<string, string> | Promise<Record<string, string>>)

export interface DirectUploadOptions {
  /** The API's base URL. */
  endpoint: string
  headers?: HeadersOption
  /** Parts sent at once (4). */
  concurrency?: number
  /** Attempts after the first of each part (5). */
  retries?: number
  /** ms before the first retry, doubled per attempt, with jitter (500). */
  retryDelay?: number
  /** s: part URLs expiring sooner are renewed before use (60). */
  refreshMargin?: number
  /** Bytes per part; the API chooses when absent. */
  partSize?: number
  /** More initiate fields (metadata, tagging, storageClass, acl, profile, ...). */
  request?: Record<string, unknown>
  /** base64 SSE-C key. */
  customerKey?: string
  /** Continue an upload of the same file saved by this browser, or found open with findOpen (true). */
  resume?: boolean
  /** Look for an open upload of this file among the caller's (GET /uploads); default: when headers are given. */
  findOpen?: boolean
  /** Check each part against the CRC-64 storage reports (true). */
  verify?: boolean
  /** Send the whole file's checksum with the complete (true). */
  checksum?: boolean
  /** s: the window bytesPerSecond is measured over (5). */
  speedWindow?: number
  /** Where sessions are saved for resume (localStorage); null for nowhere. */
  storage?: Pick<Storage, 'getItem' | 'setItem' | 'removeItem'> | null
}

/** The upload being run, as the initiate (or GET /uploads) named it. */
export interface UploadSession {
  uploadId: string
  token: string
  key: string
  bucket?: string
  partSize: number
  partCount: number
  size: number
  partBatch: number
  /** The whole-object checksum the complete carries: 'crc64ecma' (COS), 'crc64nvme' (S3), or '' for none. */
  checksumAlgorithm: string
}

/** A part stored in the bucket. */
export interface StoredPart {
  partNumber: number
  size: number
  etag: string
  checksum?: string
}

/** One of the caller's open uploads (GET /uploads), with a fresh upload token. */
export interface OpenUpload {
  uploadId: string
  key: string
  filename?: string
  size: number
  partSize: number
  partCount: number
  contentType: string
  profile?: string
  /** RFC 3339. */
  initiated: string
  /** RFC 3339: when the token ends. */
  expiresAt: string
  token: string
  /** As fingerprintOf gives it ("v1:" and 64 hex digits). */
  fingerprint?: string
  parts: StoredPart[]
}

/** The stored object, as the complete answers it. */
export interface Completed {
  bucket: string
  key: string
  location: string
  etag: string
  size: number
  /** COS: CRC-64/ECMA-182, decimal. */
  crc64?: string
  /** S3: the full-object CRC-64/NVME, base64. */
  crc64nvme?: string
}

export interface Progress {
  /** Bytes sent (stored parts whole, parts in flight as far as they went). */
  loaded: number
  total: number
  /** Over the last speedWindow seconds of this run; 0 when not sending, or too early to tell. */
  bytesPerSecond: number
  /** At bytesPerSecond; null when it is 0. */
  secondsLeft: number | null
}

export interface StateChangeDetail { state: UploadState }
export type InitiatedDetail = Omit<UploadSession, 'token'> & { token: undefined }
export interface ResumedDetail {
  /** 'saved': this browser's session; 'list': the caller's open upload, maybe started on another device. */
  source: 'saved' | 'list'
  /** How many parts storage holds already (each then comes as a 'part' event with stored: true). */
  stored: number
  partNumbers: number[]
  uploadId: string
  key: string
  partCount: number
  partSize: number
}
export interface PartDetail {
  partNumber: number
  loaded: number
  size: number
  done: boolean
  /** Stored before this run (after 'resumed'). */
  stored?: boolean
}
export interface RetryingDetail {
  partNumber: number
  /** The attempt that comes next, from 1. */
  attempt: number
  retries: number
  /** ms until it. */
  delay: number
  error: UploadError
}
export interface ErrorDetail { error: UploadError | Error }

/** The events of a DirectUpload and their detail. */
export interface DirectUploadEventMap {
  statechange: CustomEvent<StateChangeDetail>
  initiated: CustomEvent<InitiatedDetail>
  resumed: CustomEvent<ResumedDetail>
  part: CustomEvent<PartDetail>
  progress: CustomEvent<Progress>
  retrying: CustomEvent<RetryingDetail>
  complete: CustomEvent<Completed>
  error: CustomEvent<ErrorDetail>
}

/** Error from the API or from storage; code and field come from the API's JSON errors. */
export class UploadError extends Error {
  constructor(message: string, init?: { status?: number; code?: string; field?: string; retryable?: boolean })
  /** HTTP status; 0 when none came (network). */
  status: number
  /** The API's error code (content_mismatch, not_available, ...), or the client's (stopped, integrity, etag_hidden, sse_c_unsupported). */
  code: string
  field: string
  retryable: boolean
}

export class DirectUpload extends EventTarget {
  /** The authenticated caller's open uploads; an API with no callers (AUTH_MODE=none) throws 501 not_available. */
  static list(options: { endpoint: string; headers?: HeadersOption; signal?: AbortSignal }): Promise<OpenUpload[]>

  constructor(file: File | Blob, options: DirectUploadOptions)
  readonly file: File | Blob
  /** As given, over the defaults. */
  readonly options: Readonly<DirectUploadOptions>
  readonly endpoint: string
  readonly state: UploadState
  readonly session: UploadSession | null
  readonly parts: Map<number, { size: number; loaded: number; etag?: string }>
  readonly inflight: Map<number, XMLHttpRequest>
  readonly progress: Progress
  readonly sessionKey: string

  /** Starts, or continues an upload of this file; the object, or null when paused or cancelled. */
  start(): Promise<Completed | null>
  pause(): void
  /** Continues after pause() or a failed run. */
  resume(): Promise<Completed | null>
  cancel(): Promise<void>

  addEventListener<K extends keyof DirectUploadEventMap>(type: K, listener: (this: DirectUpload, ev: DirectUploadEventMap[K]) => unknown,
    options?: boolean | AddEventListenerOptions): void
  addEventListener(type: string, listener: EventListenerOrEventListenerObject | null, options?: boolean | AddEventListenerOptions): void
  removeEventListener<K extends keyof DirectUploadEventMap>(type: K, listener: (this: DirectUpload, ev: DirectUploadEventMap[K]) => unknown,
    options?: boolean | EventListenerOptions): void
  removeEventListener(type: string, listener: EventListenerOrEventListenerObject | null, options?: boolean | EventListenerOptions): void
}

/** A CRC-64 as a store keeps it; values are BigInts. */
export interface CRC64 {
  readonly name: 'crc64ecma' | 'crc64nvme'
  of(bytes: Uint8Array): bigint
  ofBlob(blob: Blob): Promise<bigint>
  /** The CRC of A then B from their CRCs and B's length. */
  combine(crcA: bigint, crcB: bigint, lenB: number): bigint
  /** As the store writes it: decimal (crc64ecma), base64 of 8 bytes big-endian (crc64nvme). */
  format(crc: bigint): string
}

export const CRC64S: { readonly crc64ecma: CRC64; readonly crc64nvme: CRC64 }

/** CRC-64/ECMA-182 of bytes, decimal (COS's form). */
export function crc64(bytes: Uint8Array): string
export function crc64Of(blob: Blob): Promise<string>
export function crc64Combine(algorithm: 'crc64ecma' | 'crc64nvme', crcA: bigint, crcB: bigint, lenB: number): bigint
/** The initiate's head: the first 4096 bytes (all of a smaller file), base64. */
export function headOf(file: Blob): Promise<string>
/** "v1:" and the hex SHA-256 of the name, size, first and last 64 KiB; "" without crypto.subtle. */
export function fingerprintOf(file: File | Blob): Promise<string>
