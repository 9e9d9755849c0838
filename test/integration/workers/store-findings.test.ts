/**
 * Workers' side of `s3jobs doctor`: the findings kept per endpoint in the real Redis, read at
 * start and re-read, with a damaged record ignored (and said), never guessed at.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { storeFindingsKey, type StoredFindings } from '../../../shared/s3/store-findings.js';
import { profileEndpoints, StoreFindingsCache } from '../../../workers/store-findings.js';
import { createRedis } from '../../support/redis.js';

const redis = createRedis();
const keys: string[] = [];

afterAll(async () => {
  if (keys.length > 0) await redis.del(...keys);
  await redis.quit();
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
