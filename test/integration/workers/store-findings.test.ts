/**
 * Workers' side of `s3jobs doctor`: the findings kept per endpoint in the real Redis, read at
 * start and re-read, with a damaged record ignored (and said), never guessed at.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { buildConfig } from '../../../shared/config/config.js';
import type { MetadataRewriteJobResult } from '../../../shared/jobs/index.js';
import { storeFindingsKey, type StoredFindings } from '../../../shared/s3/store-findings.js';
import { PROVIDER_PROFILES } from '../../../shared/s3/store-profile.js';
import { BucketCache } from '../../../workers/bucket-cache.js';
import { profileEndpoints, StoreFindingsCache } from '../../../workers/store-findings.js';
import { cleanupBuckets, freshBucket } from '../../support/buckets.js';
import { createRedis, redisUrl } from '../../support/redis.js';
import { s3Target } from '../../support/s3-env.js';
import { workerTestEnv } from './helpers.js';

const redis = createRedis();
const keys: string[] = [];

afterAll(async () => {
  if (keys.length > 0) await redis.del(...keys);
  await redis.quit();
  await cleanupBuckets();
});

function prefix(): string {
  return `{findings-${randomBytes(4).toString('hex')}}`;
}

async function save(p: string, endpoint: string, value: StoredFindings | string): Promise<void> {
  const key = storeFindingsKey(p, endpoint);
  keys.push(key);
  await redis.set(key, typeof value === 'string' ? value : JSON.stringify(value));
}

function record(endpoint: string, findings: StoredFindings['findings']): StoredFindings {
  return { version: 1, endpoint, bucket: 'b', at: '2026-12-03T22:00:00.000Z', findings, failed: [] };
}

function logSink(): { lines: { level: string; obj: object; msg: string }[]; warn(obj: object, msg: string): void; info(obj: object, msg: string): void } {
  const lines: { level: string; obj: object; msg: string }[] = [];
  return { lines, warn: (obj, msg) => lines.push({ level: 'warn', obj, msg }), info: (obj, msg) => lines.push({ level: 'info', obj, msg }) };
}

describe('store findings for workers', () => {
  it('one endpoint per store, whatever the profiles are called', () => {
    expect(
      profileEndpoints({
        a: { endpoint: 'http://127.0.0.1:7480', region: 'us-east-1' },
        b: { endpoint: 'http://127.0.0.1:7480/', region: 'us-east-1' },
        aws: { region: 'eu-west-1' },
      }),
    ).toEqual(['http://127.0.0.1:7480', 'https://s3.eu-west-1.amazonaws.com']);
  });

  it('reads what doctor saved, per endpoint; an endpoint never probed has none', async () => {
    const p = prefix();
    await save(p, 'http://ceph:7480', record('http://ceph:7480', { source: 'doctor:t', copyConditions: 'legacy', ownedBucketCreate: '200' }));
    const cache = new StoreFindingsCache({ redis, prefix: p, endpoints: ['http://ceph:7480', 'http://other:9000'] });
    await cache.refresh();
    expect(cache.get('http://ceph:7480')).toEqual({ source: 'doctor:t', copyConditions: 'legacy', ownedBucketCreate: '200' });
    expect(cache.forProfile({ endpoint: 'http://ceph:7480/', region: 'us-east-1' })).toMatchObject({ copyConditions: 'legacy' });
    expect(cache.get('http://other:9000')).toBeUndefined();
  });

  it('a re-read picks up a new doctor run and says so (onChange); the same record again changes nothing', async () => {
    const p = prefix();
    let changes = 0;
    const cache = new StoreFindingsCache({ redis, prefix: p, endpoints: ['http://s:1'], onChange: () => changes++ });
    await cache.refresh();
    expect(changes).toBe(0);
    await save(p, 'http://s:1', record('http://s:1', { source: 'doctor:1', copyConditions: 'none' }));
    await cache.refresh();
    expect(cache.get('http://s:1')?.copyConditions).toBe('none');
    expect(changes).toBe(1);
    await cache.refresh();
    expect(changes).toBe(1);
    await save(p, 'http://s:1', record('http://s:1', { source: 'doctor:2', copyConditions: 'standard' }));
    await cache.refresh();
    expect(cache.get('http://s:1')?.copyConditions).toBe('standard');
    expect(changes).toBe(2);
  });

  it('a damaged record is ignored with a warning naming the key, not guessed at', async () => {
    const p = prefix();
    await save(p, 'http://s:1', JSON.stringify({ ...record('http://s:1', {}), findings: { copyConditions: 'sometimes' } }));
    const log = logSink();
    const cache = new StoreFindingsCache({ redis, prefix: p, endpoints: ['http://s:1'], log });
    await cache.refresh();
    expect(cache.get('http://s:1')).toBeUndefined();
    expect(log.lines).toHaveLength(1);
    expect(log.lines[0]).toMatchObject({ level: 'warn', obj: { key: `${p}:store:http://s:1` } });
    expect(String((log.lines[0]!.obj as { err: Error }).err.message)).toMatch(/findings.copyConditions "sometimes"/);
  });

  it('the periodic refresh keeps going, and stops with stop()', async () => {
    const p = prefix();
    const cache = new StoreFindingsCache({ redis, prefix: p, endpoints: ['http://s:1'] });
    cache.start(50);
    await save(p, 'http://s:1', record('http://s:1', { source: 'doctor:x', multipartCompletionEtag: 'may-be-empty' }));
    const deadline = Date.now() + 10_000;
    while (cache.get('http://s:1') === undefined && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(cache.get('http://s:1')).toMatchObject({ multipartCompletionEtag: 'may-be-empty' });
    cache.stop();
    await redis.del(storeFindingsKey(p, 'http://s:1'));
    await new Promise((r) => setTimeout(r, 200));
    expect(cache.get('http://s:1')).toMatchObject({ multipartCompletionEtag: 'may-be-empty' });
  });
});

describe('the worker uses the findings', () => {
  it('BucketCache: a profile without a preset gets the findings; after a change, new clients get the new ones', async () => {
    const p = prefix();
    const config = buildConfig({ overrides: { redisUrl: redisUrl(), prefix: p, profiles: { store: { endpoint: 'http://store:7480', accessKey: 'a', secretKey: 's' }, ceph: { endpoint: 'http://store:7480', accessKey: 'a', secretKey: 's', provider: 'ceph' } } } });
    let buckets: BucketCache | undefined;
    const cache = new StoreFindingsCache({ redis, prefix: p, endpoints: profileEndpoints(config.profiles), onChange: () => buckets?.retire() });
    buckets = new BucketCache(config, undefined, undefined, cache);
    await cache.refresh();
    const before = buckets.bucketFor('store', 'media');
    expect(before.store).toMatchObject({ source: 'documented', copyConditions: 'unknown' });

    await save(p, 'http://store:7480', record('http://store:7480', { source: 'doctor:1', copyConditions: 'both', ownedBucketCreate: '409' }));
    await cache.refresh();
    const after = buckets.bucketFor('store', 'media');
    expect(after).not.toBe(before);
    expect(after.store).toMatchObject({ source: 'doctor:1 over documented', copyConditions: 'both', ownedBucketCreate: '409' });
    // Over a preset: the findings win where they say something, the preset keeps the rest.
    expect(buckets.bucketFor('ceph', 'media').store).toEqual({ ...PROVIDER_PROFILES.ceph, source: 'doctor:1 over provider:ceph', copyConditions: 'both', ownedBucketCreate: '409' });
    // Same findings re-read: the clients stay.
    await cache.refresh();
    expect(buckets.bucketFor('store', 'media')).toBe(after);
    await buckets.close();
  });

  it('a worker reads them before its first job: a rewrite is guarded as the findings say', async () => {
    const target = s3Target();
    const p = prefix();
    const endpoint = new URL(target.endpoint).origin;
    // A profile with no provider: without findings the guard would be "unverified".
    const env = await workerTestEnv({ overrides: { prefix: p, profiles: { bare: { endpoint: target.endpoint, accessKey: target.accessKey, secretKey: target.secretKey, region: target.region, forcePathStyle: true } } } });
    try {
      const bucket = await freshBucket('findings-worker');
      await bucket.put('doc.txt', 'hello', { mimetype: 'text/plain' });
      const support = target.kind === 's3rver' ? 'none' : (process.env.S3_TEST_PROVIDER ?? process.env.S3_TEST_STORE) === 'ceph' ? 'legacy' : 'standard';
      await save(p, endpoint, record(endpoint, { source: 'doctor:test', copyConditions: support }));
      await env.startWorker();
      const id = await env.add({ kind: 'metadata-rewrite', profile: 'bare', bucket: bucket.name, key: 'doc.txt', set: { note: 'x' }, acl: 'private' });
      const result = (await env.producer.waitFor(id, { timeoutMs: 15_000 })) as MetadataRewriteJobResult;
      expect(result).toMatchObject({ kind: 'metadata-rewrite', changed: true, guarded: support === 'none' ? false : true });
      expect(env.logs.some((l) => l.includes('store findings (s3jobs doctor) in use') && l.includes(endpoint))).toBe(true);
      await env.settle();
    } finally {
      await env.cleanup();
    }
  });
});
