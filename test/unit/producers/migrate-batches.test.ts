/**
 * The producer's side of batched migrations, pure parts: how a listed page is cut into batches
 * (`batchesOf`: count and byte limits, deterministic), the batch job (`rewriteBatchFor`), the ids a
 * run's jobs carry (`slotOfRunJob` with batches), and `batchSize` refused by `runMigration` and by
 * `migrate-metadata --batch-size`.
 */
import { describe, expect, it } from 'vitest';
import { parseMigrateArgs } from '../../../producers/cli/migrate.js';
import { BATCH_KEY_BYTES, batchesOf, batchJobFor, operationJobFor, rewriteBatchFor, rewriteJobFor, runMigration, type MigrationDeps, type MigrationSpec, type RunOperation } from '../../../producers/migrate/migration.js';
import { runJobId, slotOfRunJob } from '../../../producers/migrate/run-jobs.js';
import { ValidationError } from '../../../shared/errors.js';
import { MAX_BATCH_PAYLOAD_BYTES, runBatchJobId, singleJobsOf, validateJob, type CopyBatchJob, type CopyJob } from '../../../shared/jobs/index.js';
import type { PendingPage } from '../../../shared/runs/index.js';
import { expectUsage } from './expect-usage.js';

const spec: MigrationSpec = { profile: 'default', bucket: 'media-bucket', set: { owner: 'team' }, headers: { 'cache-control': 'max-age=60' }, mimetypeFromExtension: true, acl: 'private' };

function page(n: number, key: (i: number) => string = (i) => `k/${i}`, pageNumber = 0): Pick<PendingPage, 'page' | 'items'> {
  return { page: pageNumber, items: Array.from({ length: n }, (_, i) => [i, key(i)] as [number, string]) };
}

/** Bytes the producer counts for one object of a batch. */
const objectBytes = (key: string) => Buffer.byteLength(JSON.stringify(key)) + 24;

describe('batchesOf', () => {
  it('cuts a page into batches of batchSize objects, in listing order, slots from the page and index', () => {
    const batches = batchesOf(page(25, undefined, 3), 10);
    expect(batches.map((b) => b.length)).toEqual([10, 10, 5]);
    expect(batches.flat()).toEqual(Array.from({ length: 25 }, (_, i) => ({ key: `k/${i}`, slot: 3000 + i })));
    expect(batches.map((b) => b[0]!.slot)).toEqual([3000, 3010, 3020]);
  });

  it('keeps the slots of a filtered page (indices with gaps)', () => {
    const filtered = { page: 1, items: [[0, 'a'], [4, 'b'], [5, 'c'], [999, 'd']] as [number, string][] };
    expect(batchesOf(filtered, 3)).toEqual([
      [{ key: 'a', slot: 1000 }, { key: 'b', slot: 1004 }, { key: 'c', slot: 1005 }],
      [{ key: 'd', slot: 1999 }],
    ]);
  });

  it('batchSize 1 is one object per batch; a size above the page is the whole page; an empty page has none', () => {
    expect(batchesOf(page(3), 1).map((b) => b.length)).toEqual([1, 1, 1]);
    expect(batchesOf(page(1000), 1000)).toHaveLength(1);
    expect(batchesOf(page(7), 1000).map((b) => b.length)).toEqual([7]);
    expect(batchesOf(page(0), 100)).toEqual([]);
  });

  it('cuts by key bytes too: 1,000 keys of 1,024 bytes make batches under the limit that validate', () => {
    const longKeys = page(1000, (i) => `${String(i).padStart(4, '0')}/${'x'.repeat(1019)}`);
    expect(Buffer.byteLength(longKeys.items[0]![1])).toBe(1024);
    const batches = batchesOf(longKeys, 1000);
    const perBatch = Math.floor(BATCH_KEY_BYTES / objectBytes(longKeys.items[0]![1]));
    expect(perBatch).toBe(187);
    expect(batches.map((b) => b.length)).toEqual([187, 187, 187, 187, 187, 65]);
    expect(batches.flat().map((o) => o.key)).toEqual(longKeys.items.map(([, key]) => key));
    for (const batch of batches) {
      expect(batch.reduce((n, o) => n + objectBytes(o.key), 0)).toBeLessThanOrEqual(BATCH_KEY_BYTES);
      const job = rewriteBatchFor(spec, batch, 'mig-0123456789abcdef');
      expect(Buffer.byteLength(JSON.stringify(job))).toBeLessThanOrEqual(MAX_BATCH_PAYLOAD_BYTES);
      expect(validateJob(job)).toEqual(job);
    }
  });

  it('counts JSON bytes: keys that escape to twice their length, with the largest rest of a job, still fit', () => {
    // 1,024 quotes: 1,024 bytes of key, 2,050 bytes of JSON.
    const quoted = page(1000, (i) => `${String(i).padStart(4, '0')}${'"'.repeat(1020)}`);
    // The largest rest a single probe job lets through (headers near the 16 KB single-job limit).
    const heavy: MigrationSpec = { ...spec, headers: { 'cache-control': 'x'.repeat(14_000) }, set: { note: 'y'.repeat(1_900) } };
    expect(() => validateJob(rewriteJobFor(heavy, { key: 'probe' }, undefined, undefined))).not.toThrow();
    const batches = batchesOf(quoted, 1000);
    expect(batches.length).toBeGreaterThan(10);
    for (const batch of batches) expect(() => validateJob(rewriteBatchFor(heavy, batch, 'r'.repeat(100)))).not.toThrow();
  });

  it('never makes an empty batch, even for a key bigger than the byte limit would allow twice', () => {
    const batches = batchesOf(page(5, (i) => `${i}${'é'.repeat(511)}`), 1000);
    expect(batches.every((b) => b.length > 0)).toBe(true);
    expect(batches.flat()).toHaveLength(5);
  });

  it('is deterministic: the same page cut again gives the same batches, so the same job ids', () => {
    const keys = (i: number) => `${i % 3 === 0 ? 'long/'.repeat(150) : 'short/'}${i}`;
    const first = batchesOf(page(1000, keys, 12), 100);
    const again = batchesOf(structuredClone(page(1000, keys, 12)), 100);
    expect(again).toEqual(first);
    expect(again.map((b) => runBatchJobId('mig-1', b[0]!.slot))).toEqual(first.map((b) => runBatchJobId('mig-1', b[0]!.slot)));
    expect(new Set(first.map((b) => b[0]!.slot)).size).toBe(first.length);
  });

  it('a key the job schema refuses (a listing may return control characters) goes alone, so only it fails', () => {
    const items = page(10, (i) => (i === 4 ? 'bad\nkey' : `k/${i}`));
    const batches = batchesOf(items, 5);
    expect(batches.map((b) => b.map((o) => o.slot))).toEqual([[0, 1, 2, 3], [4], [5, 6, 7, 8, 9]]);
    const verdicts = batches.map((b) => {
      try {
        validateJob(rewriteBatchFor(spec, b, 'r1'));
        return 'valid';
      } catch {
        return 'refused';
      }
    });
    expect(verdicts).toEqual(['valid', 'refused', 'valid']);
  });
});

describe('rewriteBatchFor', () => {
  it('carries the spec\'s changes once for all its objects, and the run', () => {
    const objects = [{ key: 'a.css', slot: 0 }, { key: 'b', slot: 1 }];
    const job = rewriteBatchFor({ ...spec, remove: ['old'] }, objects, 'mig-1');
    expect(job).toEqual({
      kind: 'metadata-rewrite-batch',
      profile: 'default',
      runId: 'mig-1',
      bucket: 'media-bucket',
      objects,
      acl: 'private',
      set: { owner: 'team' },
      remove: ['old'],
      headers: { 'cache-control': 'max-age=60' },
      mimetypeFromExtension: true,
    });
    expect(validateJob(job)).toEqual(job);
    expect(rewriteBatchFor({ profile: 'p', bucket: 'media-bucket', set: { a: '1' }, acl: 'private' }, objects, 'r')).not.toHaveProperty('mimetypeFromExtension');
  });
});

describe('run job ids with batches', () => {
  it.each<[string, string, number | undefined]>([
    ['run', 'run-b5', 5],
    ['run', 'run-b0', 0],
    ['run', 'run-5', 5],
    ['run', 'run-b-5', undefined], // run "run-b"'s object 5, not a batch of "run"
    ['run-b', 'run-b-5', 5],
    ['run', 'run-bb5', undefined],
    ['run', 'run-b', undefined],
    ['run', 'run-b5x', undefined],
    ['run', 'run-B5', undefined],
    ['run', 'run-b5-1', undefined], // run "run-b5"'s object 1
    ['run', 'run-1-b5', undefined], // run "run-1"'s batch
    ['run', 'other-b5', undefined],
    ['run', `run-b${'9'.repeat(16)}`, undefined],
  ])('run %s, job %s → slot %s', (runId, jobId, slot) => {
    expect(slotOfRunJob(runId, jobId)).toBe(slot);
  });

  it('a batch id and an object id round-trip to their slot and never collide', () => {
    expect(slotOfRunJob('r.x_1', runBatchJobId('r.x_1', 7001))).toBe(7001);
    expect(runBatchJobId('r.x_1', 7001)).not.toBe(runJobId('r.x_1', 7001));
  });
});

describe('batchSize is checked before anything is touched', () => {
  // Any use of the dependencies fails the test: a refused option must not list, enqueue or create a run.
  const untouchable = new Proxy({}, {
    get: () => {
      throw new Error('dependency used');
    },
  });
  const deps = { bucket: untouchable, queue: untouchable, store: untouchable } as unknown as MigrationDeps;

  it.each([0, -1, 1.5, 1001, Number.NaN])('runMigration batchSize %s → ValidationError naming batchSize', async (batchSize) => {
    const failure = await runMigration(deps, spec, { batchSize }).catch((err: unknown) => err);
    expect(failure).toBeInstanceOf(ValidationError);
    expect(failure).toMatchObject({ field: 'batchSize', retryable: false });
    expect((failure as Error).message).toMatch(/^batchSize: must be an integer from 1 to 1000 \(objects per job\); got /);
  });

  it('a spec that makes an invalid batch is refused before anything is touched', async () => {
    const failure = await runMigration(deps, { ...spec, set: { 'bad name': 'x' } }, { batchSize: 10 }).catch((err: unknown) => err);
    expect(failure).toBeInstanceOf(ValidationError);
  });
});

describe('s3jobs migrate-metadata --batch-size', () => {
  const base = ['--bucket', 'media', '--acl', 'private', '--set', 'a=b'];
  const batchSize = (argv: string[]) => {
    const parsed = parseMigrateArgs(argv);
    if (parsed.help) throw new Error('expected a request');
    return parsed.request.batchSize;
  };

  it('is left to the run when not given (its own on a resume, else 1); takes 1 to 1000', () => {
    expect(batchSize(base)).toBeUndefined();
    expect(batchSize([...base, '--batch-size', '1'])).toBe(1);
    expect(batchSize([...base, '--batch-size', '100'])).toBe(100);
    expect(batchSize([...base, '--batch-size=1_000'])).toBe(1000);
  });

  it.each(['0', '-3', '1001', '1.5', 'ten', '', '1e3'])('--batch-size %j → usage error naming --batch-size', (value) => {
    expectUsage(() => parseMigrateArgs([...base, `--batch-size=${value}`]), '--batch-size', /is not allowed; give an integer from 1 to 1000$/);
  });

  it('--batch-size needs a value', () => {
    expectUsage(() => parseMigrateArgs([...base, '--batch-size']), '--batch-size', /needs a value/);
    expectUsage(() => parseMigrateArgs([...base, '--batch-size', '-3']), '--batch-size', /needs a value; for a value starting with "-" write --batch-size=VALUE/);
  });
});

describe('copy runs in batches', () => {
  const copySpec: MigrationSpec = { profile: 'default', bucket: 'src-bucket', prefix: 'in/', operation: { kind: 'copy', bucket: 'dst-bucket', prefix: 'backup/', acl: 'private', storageClass: 'STANDARD_IA' } };

  it('a copy-batch carries each object\'s version; each object stands for the copy job a run without batches would enqueue', () => {
    const items: PendingPage['items'] = [[0, 'in/a.txt'], [1, 'in/b.txt', { versionId: 'v-1' }], [2, 'elsewhere/c.txt']];
    const [objects] = batchesOf({ page: 2, items }, 10);
    expect(objects).toEqual([{ key: 'in/a.txt', slot: 2000 }, { key: 'in/b.txt', slot: 2001, versionId: 'v-1' }, { key: 'elsewhere/c.txt', slot: 2002 }]);
    const batch = batchJobFor(copySpec, objects!, 'run-1');
    expect(batch).toEqual({
      kind: 'copy-batch',
      profile: 'default',
      runId: 'run-1',
      source: { bucket: 'src-bucket', prefix: 'in/' },
      destination: { bucket: 'dst-bucket', prefix: 'backup/' },
      acl: 'private',
      storageClass: 'STANDARD_IA',
      objects,
    });
    expect(validateJob(batch)).toEqual(batch);
    const singles = singleJobsOf(batch as CopyBatchJob);
    expect(singles.map((s) => s.job)).toEqual(items.map(([index, key, extra]) => operationJobFor(copySpec, copySpec.operation!, key, extra?.versionId, 'run-1', 2000 + index)));
    expect(singles.map((s) => (s.job as CopyJob).destination.key)).toEqual(['backup/a.txt', 'backup/b.txt', 'backup/elsewhere/c.txt']);
  });

  it('counts a version id\'s bytes: 1,000 long keys with long version ids still make batches that validate', () => {
    const items: PendingPage['items'] = Array.from({ length: 1000 }, (_, i) => [i, `${String(i).padStart(4, '0')}/${'x'.repeat(1019)}`, { versionId: 'v'.repeat(1024) }]);
    const batches = batchesOf({ page: 0, items }, 1000);
    expect(batches.length).toBeGreaterThan(5);
    for (const objects of batches) expect(validateJob(batchJobFor(copySpec, objects, 'r'.repeat(100))).kind).toBe('copy-batch');
  });

  it('tagging and acl runs batch too: each object stands for the job a run without batches would enqueue, version included', () => {
    const items: PendingPage['items'] = [[0, 'a.txt'], [1, 'b.txt', { versionId: 'v-1' }]];
    const [objects] = batchesOf({ page: 0, items }, 10);
    const operations: RunOperation[] = [{ kind: 'tagging', tags: { team: 'web' }, mode: 'merge', remove: ['old'] }, { kind: 'acl', acl: 'public-read' }];
    for (const operation of operations) {
      const runSpec: MigrationSpec = { profile: 'default', bucket: 'media', operation };
      const batch = batchJobFor(runSpec, objects!, 'run-2');
      expect(batch.kind).toBe(`${operation.kind}-batch`);
      expect(validateJob(batch)).toEqual(batch);
      expect(singleJobsOf(batch).map((s) => s.job)).toEqual(items.map(([index, key, extra]) => operationJobFor(runSpec, operation, key, extra?.versionId, 'run-2', index)));
    }
  });

  it('a tagging batch keeps the single job\'s rules: remove only with merge, never a key both set and removed', () => {
    const base = { kind: 'tagging-batch', profile: 'default', runId: 'r', bucket: 'media', objects: [{ key: 'a', slot: 0 }], tags: { a: '1' } };
    expect(() => validateJob({ ...base, remove: ['b'] })).toThrow(/remove: remove applies to mode "merge" only/);
    expect(() => validateJob({ ...base, mode: 'merge', remove: ['a'] })).toThrow(/remove: a tag key is both set and removed/);
    expect(() => validateJob({ ...base, objects: [{ key: 'a', slot: 0 }, { key: 'b', slot: 0 }] })).toThrow(/two objects have the same slot/);
  });
});
