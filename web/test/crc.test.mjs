// The client's CRC-64s without a browser: the published check values of both variants
// (CRC-64/XZ, which COS calls crc64ecma, and CRC-64/NVME, S3's crc64nvme), their forms as
// the stores write them, and the combination of parts' CRCs into the whole file's.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { CRC64S, crc64, crc64Combine } from '../directup.js'

const check = new TextEncoder().encode('123456789')

test('check values of "123456789"', () => {
  assert.equal(CRC64S.crc64ecma.of(check), 0x995dc9bbdf1939fan)
  assert.equal(CRC64S.crc64nvme.of(check), 0xae8b14860a799888n)
  assert.equal(crc64(check), '11051210869376104954') // COS's decimal x-cos-hash-crc64ecma
  assert.equal(CRC64S.crc64nvme.format(0xae8b14860a799888n), 'rosUhgp5mIg=') // S3's base64 of 8 bytes
  assert.equal(CRC64S.crc64nvme.format(1n), 'AAAAAAAAAAE=')
})

test('combining the parts\' CRCs gives the whole file\'s, for any split and in either algorithm', () => {
  const data = randomBytes(1 << 16)
  for (const name of ['crc64ecma', 'crc64nvme']) {
    const a = CRC64S[name]
    for (let i = 0; i < 50; i++) {
      const x = Math.floor(Math.random() * data.length), y = x + Math.floor(Math.random() * (data.length - x))
      const parts = [data.subarray(0, x), data.subarray(x, y), data.subarray(y)]
      let whole = 0n
      for (const p of parts) whole = crc64Combine(name, whole, a.of(p), p.length)
      assert.equal(whole, a.of(data), `${name} split at ${x}/${y}`)
    }
  }
})

test('a 10,000-part plan of 5 GiB parts combines quickly', () => {
  const a = CRC64S.crc64nvme
  const t = performance.now()
  let whole = 0n
  for (let i = 0; i < 10000; i++) whole = a.combine(whole, BigInt(i) * 0x9E3779B97F4A7C15n & ((1n << 64n) - 1n), 5 * 2 ** 30)
  const ms = performance.now() - t
  assert.ok(ms < 5000, `${ms} ms`)
  console.log(`combined 10,000 parts of 5 GiB in ${ms.toFixed(0)} ms`)
})
