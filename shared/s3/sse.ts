/**
 * Server-side encryption headers a copy must send again. S3 never carries a source's encryption
 * over to a copy: without headers the destination gets the destination bucket's default. So a
 * copy (or rewrite) that HEADed its source sends back what it read:
 * - SSE-S3: `x-amz-server-side-encryption: AES256`;
 * - SSE-KMS: `x-amz-server-side-encryption: aws:kms` with the key id (and the bucket-key flag);
 * - SSE-C: the store keeps no key, so the caller gives it: the source's customer key for reading
 *   (`x-amz-copy-source-server-side-encryption-customer-*`) and the destination's for writing
 *   (`x-amz-server-side-encryption-customer-*`), each with the key's MD5.
 *
 * A customer key is a secret: `SseCustomerKey` keeps it in a private field and prints as
 * `[SseCustomerKey]` in logs, JSON and errors. Pure: no I/O.
 */
import { createHash } from 'node:crypto';
import { ValidationError } from '../errors.js';

const ALGORITHM = 'AES256';

/** A 256-bit SSE-C key. Build with `SseCustomerKey.from(bytes | base64)`; never serialised. */
export class SseCustomerKey {
  readonly #base64: string;
  readonly #md5: string;

  private constructor(key: Uint8Array) {
    this.#base64 = Buffer.from(key).toString('base64');
    this.#md5 = createHash('md5').update(key).digest('base64');
  }

  /** From 32 raw bytes, or their base64. The error never repeats the key. */
  static from(key: Uint8Array | string | SseCustomerKey, field = 'sseCustomerKey'): SseCustomerKey {
    if (key instanceof SseCustomerKey) return key;
    let bytes: Uint8Array;
    if (typeof key === 'string') {
      if (!/^[A-Za-z0-9+/]+={0,2}$/.test(key)) throw new ValidationError(field, 'must be 32 bytes, or their base64 (44 characters); the string given is not base64');
      bytes = Buffer.from(key, 'base64');
    } else if (key instanceof Uint8Array) {
      bytes = key;
    } else {
      throw new ValidationError(field, 'must be 32 bytes (a Uint8Array/Buffer) or their base64');
    }
    if (bytes.length !== 32) throw new ValidationError(field, `must be a 256-bit key (32 bytes) for SSE-C's AES256; got ${bytes.length} bytes`);
    return new SseCustomerKey(bytes);
  }

  /** The three headers that name this key, under `prefix` (`x-amz-` or `x-amz-copy-source-`). */
  headers(prefix: 'x-amz-' | 'x-amz-copy-source-'): Record<string, string> {
    return {
      [`${prefix}server-side-encryption-customer-algorithm`]: ALGORITHM,
      [`${prefix}server-side-encryption-customer-key`]: this.#base64,
      [`${prefix}server-side-encryption-customer-key-md5`]: this.#md5,
    };
  }

  toJSON(): string {
    return '[SseCustomerKey]';
  }

  toString(): string {
    return '[SseCustomerKey]';
  }

  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return '[SseCustomerKey]';
  }
}

/** What callers may hand in as a customer key. */
export type SseCustomerKeyInput = SseCustomerKey | Uint8Array | string;

/** The optional key, validated; undefined when none was given. */
export function customerKey(value: SseCustomerKeyInput | undefined, field: string): SseCustomerKey | undefined {
  return value === undefined ? undefined : SseCustomerKey.from(value, field);
}

/**
 * The SSE-S3 / SSE-KMS headers to send on a write so the destination is encrypted as the source
 * (read from the source's HEAD headers). SSE-C is not among them: its key comes from the caller.
 */
export function sseHeadersFromSource(sourceHeaders: Record<string, string>): Record<string, string> {
  const mode = sourceHeaders['x-amz-server-side-encryption'];
  if (mode === undefined || mode === '') return {};
  const out: Record<string, string> = { 'x-amz-server-side-encryption': mode };
  if (mode.startsWith('aws:kms')) {
    const keyId = sourceHeaders['x-amz-server-side-encryption-aws-kms-key-id'];
    if (keyId !== undefined && keyId !== '') out['x-amz-server-side-encryption-aws-kms-key-id'] = keyId;
    const bucketKey = sourceHeaders['x-amz-server-side-encryption-bucket-key-enabled'];
    if (bucketKey !== undefined && bucketKey !== '') out['x-amz-server-side-encryption-bucket-key-enabled'] = bucketKey;
  }
  return out;
}

/** Whether a HEAD shows an SSE-C object (its reads and copies need the customer key). */
export function isSseC(headers: Record<string, string>): boolean {
  return headers['x-amz-server-side-encryption-customer-algorithm'] !== undefined;
}
