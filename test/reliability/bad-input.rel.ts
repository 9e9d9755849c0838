/**
 * Bad input, each refused with a clear error — and never a crashed worker.
 *
 * Every case is tried twice: through the producer API (refused in the caller's hands with a
 * ValidationError naming the field; nothing reaches Redis) and raw through BullMQ, bypassing the
 * producer, to a worker in a child process (dead-lettered after one attempt with the same message,
 * the process still running and still completing good jobs afterwards). Presigned URL expiry and
 * the CLI are checked at their own edges.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCodes, ValidationError } from '../../shared/errors.js';
import { MAX_PAYLOAD_BYTES } from '../../shared/jobs/index.js';
import { S3Bucket } from '../../shared/s3/index.js';
import { runProducerCommand, type CliIo } from '../../producers/cli/index.js';
import { cleanupBuckets, freshBucket } from '../support/buckets.js';
import { redisUrl } from '../support/redis.js';
import { PREFIX, PROFILE, runEnv, type RunEnv } from './support/harness.js';
import { report } from './support/report.js';

let env: RunEnv;
let bucket: string;
let good: Record<string, unknown>;
const rewrite = (extra: Record<string, unknown>) => ({ kind: 'metadata-rewrite', profile: PROFILE, bucket, key: 'k.txt', acl: 'private', set: { a: 'b' }, ...extra });
const copy = (extra: Record<string, unknown>) => ({ ...good, ...extra });

interface Case {
  name: string;
  payload: () => unknown;
  /** Field the error names (producer side). */
  field: RegExp;
  /** What the message says. */
  message: RegExp;
  /** Refused by the producer (default) — or only by the worker (an unknown profile is valid input there). */
  workerOnly?: { code: string; reason: string };
}

const bigString = (n: number) => 'x'.repeat(n);
const CASES: Case[] = [
  // bucket names
  { name: 'bucket name too long (64)', payload: () => rewrite({ bucket: 'a'.repeat(64) }), field: /^bucket$/, message: /64 characters long; bucket names are 3-63/ },
  { name: 'bucket name too short', payload: () => rewrite({ bucket: 'ab' }), field: /^bucket$/, message: /2 characters long/ },
  { name: 'bucket name upper case', payload: () => rewrite({ bucket: 'MyBucket' }), field: /^bucket$/, message: /contains "M"/ },
  { name: 'bucket name with a control character', payload: () => rewrite({ bucket: 'buck\net' }), field: /^bucket$/, message: /contains "\\n"/ },
  { name: 'bucket name shaped like an IP address', payload: () => rewrite({ bucket: '192.168.1.1' }), field: /^bucket$/, message: /formatted as an IP address/ },
  { name: 'bucket name with a reserved prefix', payload: () => rewrite({ bucket: 'xn--bucket' }), field: /^bucket$/, message: /prefix S3 reserves/ },
  { name: 'copy destination bucket invalid', payload: () => copy({ destination: { bucket: 'bad_bucket', key: 'k' } }), field: /^destination\.bucket$/, message: /contains "_"/ },
  // keys
  { name: 'key of 1025 bytes', payload: () => rewrite({ key: 'k'.repeat(1025) }), field: /^key$/, message: /1025 bytes of UTF-8; S3 allows at most 1024/ },
  { name: 'key of 513 two-byte characters (1026 bytes)', payload: () => rewrite({ key: 'é'.repeat(513) }), field: /^key$/, message: /1026 bytes/ },
  { name: 'empty key', payload: () => rewrite({ key: '' }), field: /^key$/, message: /must not be empty/ },
  { name: 'key with NUL', payload: () => rewrite({ key: 'a\u0000b' }), field: /^key$/, message: /control character U\+0000 at index 1/ },
  { name: 'key with a newline', payload: () => rewrite({ key: 'a\nb' }), field: /^key$/, message: /control character U\+000A/ },
  { name: 'key with DEL', payload: () => rewrite({ key: 'a\u007f' }), field: /^key$/, message: /U\+007F/ },
  { name: 'key with a lone surrogate', payload: () => rewrite({ key: 'a\ud800b' }), field: /^key$/, message: /unpaired UTF-16 surrogate/ },
  { name: 'copy source key with a control character', payload: () => copy({ source: { bucket, key: 'x\ty' } }), field: /^source\.key$/, message: /U\+0009/ },
  // metadata
  { name: 'metadata over 2 KB', payload: () => rewrite({ set: { big: bigString(2100) } }), field: /^set$/, message: /is 2103 bytes .* S3 allows at most 2048/ },
  { name: 'metadata over 2 KB in many entries', payload: () => rewrite({ set: Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`m${i}`, bigString(60)])) }), field: /^set$/, message: /S3 allows at most 2048/ },
  { name: 'metadata value with a control character', payload: () => rewrite({ set: { a: 'x\u0001y' } }), field: /^set\.a$/, message: /control character U\+0001/ },
  { name: 'metadata value with a C1 control', payload: () => copy({ metadata: { a: 'x\u0085' } }), field: /^metadata\.a$/, message: /U\+0085/ },
  { name: 'metadata value not encodable (lone surrogate)', payload: () => rewrite({ set: { a: '\udc00' } }), field: /^set\.a$/, message: /unpaired UTF-16 surrogate/ },
  { name: 'metadata name with a space', payload: () => rewrite({ set: { 'bad name': 'v' } }), field: /^set\.bad name$/, message: /not a valid metadata name/ },
  { name: 'metadata name with the x-amz-meta- prefix', payload: () => rewrite({ set: { 'x-amz-meta-a': 'v' } }), field: /^set\.x-amz-meta-a$/, message: /without the "x-amz-meta-" prefix/ },
  { name: 'metadata names equal but for case', payload: () => rewrite({ set: { Tag: '1', tag: '2' } }), field: /^set$/, message: /differ only by case/ },
  { name: 'metadata value not a string', payload: () => rewrite({ set: { a: 1 } }), field: /^set\.a$/, message: /expected string/ },
  // ACLs
  { name: 'unknown ACL', payload: () => rewrite({ acl: 'public' }), field: /^acl$/, message: /must be a canned ACL \(private, public-read/ },
  { name: 'ACL in the wrong case', payload: () => copy({ acl: 'PRIVATE' }), field: /^acl$/, message: /must be a canned ACL/ },
  { name: 'object-only ACL on a bucket', payload: () => ({ kind: 'bucket', action: 'create', profile: PROFILE, bucket: 'fine-bucket', acl: 'aws-exec-read' }), field: /^acl$/, message: /private.*public-read/ },
  { name: 'missing ACL', payload: () => ({ kind: 'copy', profile: PROFILE, source: { bucket, key: 'k.txt' }, destination: { bucket, key: 'c' } }), field: /^acl$/, message: /canned ACL/ },
  // kinds and shapes
  { name: 'unknown job kind', payload: () => ({ kind: 'move', profile: PROFILE }), field: /^kind$/, message: /"move" is not a job kind; allowed: copy, metadata-rewrite, metadata-rewrite-batch, bucket/ },
  { name: 'no kind', payload: () => ({ profile: PROFILE }), field: /^kind$/, message: /undefined is not a job kind/ },
  { name: 'payload is a number', payload: () => 42, field: /^job$/, message: /must be an object with a "kind" field/ },
  { name: 'payload is null', payload: () => null, field: /^job$/, message: /must be an object/ },
  { name: 'payload is an array', payload: () => [good], field: /^job$/, message: /must be an object/ },
  { name: 'payload is a string', payload: () => JSON.stringify(good), field: /^job$/, message: /must be an object/ },
  { name: 'unknown field', payload: () => copy({ destinaton: { bucket, key: 'x' } }), field: /^job$/, message: /[Uu]nrecognized key.*destinaton/ },
  { name: 'wrong type (source as a string)', payload: () => copy({ source: `${bucket}/k.txt` }), field: /^source$/, message: /expected object/ },
  { name: 'replace combined with set', payload: () => rewrite({ replace: { a: '1' } }), field: /^replace$/, message: /cannot be combined with set or remove/ },
  { name: 'a name both set and removed', payload: () => rewrite({ remove: ['A'] }), field: /^remove$/, message: /both set and removed/ },
  { name: 'negative timeout', payload: () => copy({ timeoutMs: -1 }), field: /^timeoutMs$/, message: /./ },
  { name: 'timeout beyond 7 days', payload: () => copy({ timeoutMs: 8 * 24 * 3600 * 1000 }), field: /^timeoutMs$/, message: /./ },
  { name: 'a credential in the payload', payload: () => copy({ secretKey: 'in-the-payload' }), field: /^secretKey$/, message: /looks like a credential; job payloads are stored in Redis/ },
  { name: 'a credential nested in the payload', payload: () => copy({ headers: { authorization: 'AWS4-HMAC-SHA256 …' } }), field: /^headers\.authorization$/, message: /looks like a credential/ },
  // sizes
  { name: `payload over ${MAX_PAYLOAD_BYTES} bytes`, payload: () => copy({ headers: { 'cache-control': bigString(MAX_PAYLOAD_BYTES) } }), field: /^job$/, message: new RegExp(`payloads are limited to ${MAX_PAYLOAD_BYTES} bytes`) },
  { name: 'payload of 1 MB', payload: () => copy({ mimetype: bigString(1024 * 1024) }), field: /^job$/, message: /is 10\d{5} bytes; payloads are limited/ },
  // profiles
  { name: 'profile name with invalid characters', payload: () => copy({ profile: 'no such profile!' }), field: /^profile$/, message: /must be a profile name/ },
  {
    name: 'unknown connection profile',
    payload: () => copy({ profile: 'nobody' }),
    field: /^profile$/,
    message: /profile "nobody" is not configured on this worker; known profiles: (rel, decoy|decoy, rel)/,
    workerOnly: { code: ErrorCodes.UnknownProfile, reason: 'permanent' },
  },
];

beforeAll(async () => {
  const b = await freshBucket('rel-bad');
  bucket = b.name;
  await b.put('k.txt', 'payload');
  good = { kind: 'copy', profile: PROFILE, source: { bucket, key: 'k.txt' }, destination: { bucket, key: 'copied.txt' }, acl: 'private' };
  env = await runEnv({ name: 'rel-bad', overrides: { retry: { attempts: 3 } } });
});
afterAll(async () => {
  await env?.cleanup();
  await cleanupBuckets();
});

describe('bad input', () => {
  it(`${CASES.filter((c) => c.workerOnly === undefined).length} kinds of bad payload are refused by the producer with a ValidationError naming the field; nothing reaches Redis`, async () => {
    const problems: string[] = [];
    for (const c of CASES.filter((x) => x.workerOnly === undefined)) {
      try {
        await env.producer.add(c.payload());
        problems.push(`${c.name}: accepted`);
      } catch (err) {
        if (!(err instanceof ValidationError)) problems.push(`${c.name}: ${String(err)} is not a ValidationError`);
        else {
          if (err.code !== ErrorCodes.InvalidJob) problems.push(`${c.name}: code ${err.code}`);
          if (err.retryable) problems.push(`${c.name}: retryable`);
          if (!c.field.test(err.field)) problems.push(`${c.name}: field "${err.field}" (want ${c.field})`);
          if (!c.message.test(err.message)) problems.push(`${c.name}: message "${err.message.slice(0, 200)}" (want ${c.message})`);
        }
      }
    }
    expect(problems).toEqual([]);
    // Bulk: one bad item refuses the whole batch, naming its index.
    await expect(env.producer.addBulk([{ payload: good }, { payload: rewrite({ key: '' }) }])).rejects.toMatchObject({ name: 'ValidationError', field: 'jobs[1].key' });
    // Enqueue options are checked the same way.
    for (const [options, field] of [
      [{ jobId: 'a:b' }, 'jobId'],
      [{ jobId: '123' }, 'jobId'],
      [{ priority: 0 }, 'priority'],
      [{ attempts: 101 }, 'attempts'],
      [{ delayMs: -5 }, 'delayMs'],
    ] as const)
      await expect(env.producer.add(good, options), JSON.stringify(options)).rejects.toMatchObject({ name: 'ValidationError', field });
    expect(await env.counts()).toMatchObject({ waiting: 0, delayed: 0, prioritized: 0, dead: 0 });
  });

  it('the same payloads added raw (bypassing the producer) are dead-lettered after one attempt with the same message; the worker process keeps running and completes good jobs', async () => {
    const worker = await env.startChild();
    const ids = new Map<string, Case>();
    // Each under the name a BullMQ client would give it: its kind, or "bogus" when it has none.
    const nameOf = (payload: unknown): string => {
      const kind = payload !== null && typeof payload === 'object' ? (payload as { kind?: unknown }).kind : undefined;
      return typeof kind === 'string' ? kind : 'bogus';
    };
    for (const [i, c] of CASES.entries()) {
      const payload = c.payload();
      ids.set(await env.addRaw(nameOf(payload), payload, `bad-${i}`), c);
    }
    // The payload's kind decides what runs: a name that is no kind at all does not matter (the job
    // runs as its payload says), a name that is another kind is a contradiction and is refused.
    const otherName = await env.addRaw('not-a-kind', { ...good, destination: { bucket, key: 'by-payload-kind.txt' } }, 'other-name');
    const mismatch = await env.addRaw('metadata-rewrite', good, 'bad-mismatch');
    const goodId = (await env.addBulk([{ payload: good, options: { jobId: 'good-after-bad' } }]))[0]!;

    const { completed, deadLettered } = await env.settle({ timeoutMs: 60_000 });
    expect([...completed.keys()].sort()).toEqual([goodId, otherName].sort());
    const problems: string[] = [];
    for (const [id, c] of ids) {
      const record = deadLettered.get(id);
      if (record === undefined) {
        problems.push(`${c.name}: not dead-lettered`);
        continue;
      }
      const want = c.workerOnly ?? { code: ErrorCodes.InvalidJob, reason: 'invalid' };
      if (record.error.code !== want.code || record.reason !== want.reason) problems.push(`${c.name}: ${record.reason} ${record.error.code}`);
      if (record.attemptsMade !== 1) problems.push(`${c.name}: ${record.attemptsMade} attempts`);
      if (!c.message.test(record.error.message)) problems.push(`${c.name}: message "${record.error.message.slice(0, 200)}"`);
    }
    expect(problems).toEqual([]);
    expect(deadLettered.get(mismatch)?.error.message).toBe('kind: is "copy" but this job was queued as "metadata-rewrite"');
    // Still alive, no crash, no unhandled error on stderr.
    expect(worker.stderr.join('')).toBe('');
    expect(await Promise.race([worker.exited.then(() => 'exited'), new Promise((r) => setTimeout(() => r('running'), 200))])).toBe('running');
    expect(worker.entries().filter((e) => (e.level as number) >= 60)).toEqual([]);
    report('bad-input', { producerRefusals: CASES.length - 1, rawDeadLettered: ids.size + 1, workerCrashes: 0 });
  });

  it('presigned URL expiry beyond 7 days, in the past or not a time is refused; 7 days exactly is accepted', () => {
    const now = Date.UTC(2026, 0, 1);
    const b = new S3Bucket({ name: 'any-bucket', accessKey: 'AKIDEXAMPLE', secretKey: 'not-used-for-anything', endpoint: 'http://127.0.0.1:1' }, { now: () => now });
    const refused: [unknown, RegExp][] = [
      [604_801, /too far ahead .* at most 604800 s \(7 days\)/],
      [new Date(now + 8 * 86_400_000), /too far ahead/],
      [{ seconds: 10 * 86_400 }, /too far ahead/],
      [new Date(now - 1_000), /is in the past/],
      [Math.floor(now / 1000) - 60, /is in the past/],
      [0, /is in the past/],
      [-5, /must not be negative/],
      [1.5, /must be whole seconds/],
      [Number.NaN, /finite number/],
      [new Date(Number.NaN), /valid Date/],
      ['3600', /must be seconds/],
    ];
    for (const [expire, message] of refused) {
      let error: unknown;
      try {
        b.makeUrlAuthed('k', { expire: expire as never });
      } catch (err) {
        error = err;
      }
      expect(error, String(expire)).toBeInstanceOf(ValidationError);
      expect((error as ValidationError).field, String(expire)).toMatch(/^expire/);
      expect((error as ValidationError).message, String(expire)).toMatch(message);
    }
    expect(b.makeUrlAuthed('k', { expire: 604_800 })).toContain('X-Amz-Expires=604800');
    expect(() => b.makeUrlAuthed('a\u0000b')).toThrow(/control character/);
  });

  it('the CLI refuses bad input with exit code 2 and one line naming the flag, before touching Redis', async () => {
    const run = async (argv: string[]) => {
      let out = '';
      let err = '';
      const io: CliIo = { stdout: (t) => void (out += t), stderr: (t) => void (err += t), env: { S3JOBS_REDIS_URL: redisUrl(), S3JOBS_QUEUE: env.queue, S3JOBS_PREFIX: PREFIX } };
      const code = await runProducerCommand(argv[0]!, argv.slice(1), io);
      return { code, out, err };
    };
    const cases: [string[], RegExp][] = [
      [['copy', `${bucket}/k.txt`, `${bucket}/c`, '--acl', 'bogus'], /--acl/],
      [['copy', 'Bad_Bucket/k.txt', `${bucket}/c`, '--acl', 'private'], /bucket/i],
      [['copy', `${bucket}/k.txt`, `${bucket}/c`, '--acl', 'private', '--metadata', `big=${bigString(3000)}`], /--metadata|2048/],
      [['rewrite-metadata', `${bucket}/k.txt`, '--acl', 'private', '--set', 'a=\u0001'], /control character/],
    ];
    for (const [argv, message] of cases) {
      const { code, err } = await run(argv);
      expect(code, argv.join(' ')).toBe(2);
      expect(err, argv.join(' ')).toMatch(message);
      expect(err.trim().split('\n').length, argv.join(' ')).toBeLessThanOrEqual(3);
    }
    expect(await env.counts()).toMatchObject({ waiting: 0, delayed: 0 });
  });
});
