/** The producer API against real Redis: validation before Redis, bulk all-or-nothing, idempotent ids. */
import { Job } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCodes, ValidationError } from '../../../shared/errors.js';
import { S3JobsProducer } from '../../../producers/producer.js';
import { createRedis } from '../../support/redis.js';
import { copyPayload, PREFIX, producerQueues } from './helpers.js';

const queues = producerQueues();
const redis = createRedis();
const producers: S3JobsProducer[] = [];

function producer(): S3JobsProducer {
  const p = new S3JobsProducer({ connection: redis, queue: queues.name('api'), prefix: PREFIX });
  producers.push(p);
  return p;
}

async function total(p: S3JobsProducer): Promise<number> {
  return Object.values(await p.counts()).reduce((a, b) => a + b, 0);
}

/** Runs `fn`, expects a ValidationError naming `field`; returns it. */
async function invalid(fn: () => Promise<unknown>, field: string): Promise<ValidationError> {
  const err = await fn().then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ValidationError);
  expect((err as ValidationError).field).toBe(field);
  return err as ValidationError;
}

beforeAll(async () => {
  await redis.ping();
});

afterAll(async () => {
  for (const p of producers) await p.close();
  await queues.cleanup();
  await redis.quit();
});

describe('S3JobsProducer', () => {
  it('refuses a payload carrying a secret, naming the field, before anything reaches Redis', async () => {
    const p = producer();
    const err = await invalid(() => p.add({ ...copyPayload, secretKey: 'wJalrXUtnFEMI/K7MDENG' }), 'secretKey');
    expect(err.code).toBe(ErrorCodes.InvalidJob);
    expect(err.message).toMatch(/looks like a credential.*profile/);
    expect(err.message).not.toContain('wJalrXUtnFEMI');
    await invalid(() => p.copy({ ...copyPayload, source: { ...copyPayload.source, credentials: 'x' } } as never), 'source.credentials');
    expect(await total(p)).toBe(0);
  });

  it('addBulk enqueues nothing when one item is invalid, and names jobs[i].field', async () => {
    const p = producer();
    const err = await invalid(
      () =>
        p.addBulk([
          { payload: copyPayload, options: { jobId: 'bulk-a' } },
          { payload: { ...copyPayload, acl: 'world-writable' }, options: { jobId: 'bulk-b' } },
          { payload: { ...copyPayload, destination: { bucket: 'other-bucket', key: 'x' } } },
        ]),
      'jobs[1].acl',
    );
    expect(err.message).toMatch(/^jobs\[1\]\.acl: must be a canned ACL/);
    await invalid(() => p.addBulk([{ payload: copyPayload }, { payload: copyPayload, options: { priority: 0 } }]), 'jobs[1].priority');
    expect(await total(p)).toBe(0);
    expect(await Job.fromId(p.queue, 'bulk-a')).toBeUndefined();

    const ok = await p.addBulk([{ payload: copyPayload, options: { jobId: 'bulk-a' } }, { payload: { ...copyPayload, acl: 'public-read' } }]);
    expect(ok.map((j) => j.kind)).toEqual(['copy', 'copy']);
    expect(ok[0]!.jobId).toBe('bulk-a');
    expect((await p.counts()).waiting).toBe(2);
  });

  it('an existing jobId returns the existing job instead of a duplicate', async () => {
    const p = producer();
    const first = await p.copy(copyPayload, { jobId: 'copy-once' });
    const second = await p.copy({ ...copyPayload, acl: 'public-read' }, { jobId: 'copy-once' });
    expect(second.jobId).toBe(first.jobId);
    expect((await p.counts()).waiting).toBe(1);
    const job = await Job.fromId(p.queue, 'copy-once');
    expect(job?.data).toMatchObject({ acl: 'private' });
  });
});
