import { createHmac } from 'node:crypto';

/**
 * The SigV4 signing key: HMAC chain over date, region, service and `aws4_request`.
 *
 * It changes once a day per (secret, region, service), so it is cached: four HMACs per request
 * are most of a signer's cost. The cache is keyed by a hash-free composite that includes the
 * secret itself, held only in memory and never logged; it is bounded so a process signing for
 * many accounts does not grow without limit.
 */
const MAX_CACHED_KEYS = 64;
const cache = new Map<string, Buffer>();

function hmac(key: string | Buffer, data: string): Buffer {
  return createHmac('sha256', key).update(data, 'utf8').digest();
}

/** The key used last: a process signs with one key nearly always, and this check is four string compares. */
let last: { secretAccessKey: string; shortDate: string; region: string; service: string; key: Buffer } | undefined;

export function signingKey(secretAccessKey: string, shortDate: string, region: string, service: string): Buffer {
  if (last !== undefined && last.shortDate === shortDate && last.secretAccessKey === secretAccessKey && last.region === region && last.service === service) return last.key;
  const key = cachedSigningKey(secretAccessKey, shortDate, region, service);
  last = { secretAccessKey, shortDate, region, service, key };
  return key;
}

function cachedSigningKey(secretAccessKey: string, shortDate: string, region: string, service: string): Buffer {
  const cacheKey = `${shortDate}\n${region}\n${service}\n${secretAccessKey}`;
  const hit = cache.get(cacheKey);
  if (hit !== undefined) return hit;
  const key = hmac(hmac(hmac(hmac(`AWS4${secretAccessKey}`, shortDate), region), service), 'aws4_request');
  if (cache.size >= MAX_CACHED_KEYS) {
    const oldest = cache.keys().next().value;
    if (oldest !== undefined) cache.delete(oldest);
  }
  cache.set(cacheKey, key);
  return key;
}

export function hmacHex(key: Buffer, data: string): string {
  return createHmac('sha256', key).update(data, 'utf8').digest('hex');
}
