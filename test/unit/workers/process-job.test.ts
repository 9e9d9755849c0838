import { WaitingError, type Job } from 'bullmq';
import { describe, expect, it, vi } from 'vitest';
import { buildConfig } from '../../../shared/config/config.js';
import { ErrorCodes, S3JobsError } from '../../../shared/errors.js';
import { createLogger, type Logger } from '../../../shared/log/logger.js';
import type { S3Bucket } from '../../../shared/s3/index.js';
import type { BucketCache } from '../../../workers/bucket-cache.js';
import { createJobProcessor } from '../../../workers/process-job.js';
import { LockLost, ShutdownRequested } from '../../../workers/shutdown.js';

const config = buildConfig({
  overrides: {
    redisUrl: 'redis://127.0.0.1:1',
    queue: 'q',
    profiles: { p: { endpoint: 'http://127.0.0.1:1', accessKey: 'AK', secretKey: 'SECRETSECRET', region: 'us-east-1', forcePathStyle: true } },
  },
});

const HEAD = { size: 1024, etag: '"abc"', contentType: 'image/jpeg', lastModified: new Date(0), metadata: {} };

/** A bucket whose HEAD answers at once (`hang: false`) or only fails when its signal fires. */
function stubBuckets(hang: boolean): BucketCache {
  const bucket = {
    head: (_key: string, options: { signal?: AbortSignal }) =>
      hang
        ? new Promise((_, reject) => options.signal?.addEventListener('abort', () => reject(new S3JobsError(ErrorCodes.Aborted, 'HEAD k was aborted by the caller', { retryable: true }))))
        : Promise.resolve(HEAD),
    copy: () => Promise.resolve({ etag: '"abc"', versionId: undefined, multipart: false, lastModified: undefined, size: 1024 }),
  };
  return { bucketFor: () => bucket as unknown as S3Bucket } as unknown as BucketCache;
}

function logged(level: string): { logger: Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const logger = createLogger({ level }, { write: (s: string) => void lines.push(JSON.parse(s) as Record<string, unknown>) }).child({ queue: 'q' });
  return { logger, lines };
}

function copyJob(id: string): Job & { moveToWait: ReturnType<typeof vi.fn> } {
  return {
    id,
    name: 'copy',
    attemptsMade: 0,
    opts: { attempts: 3 },
    data: { kind: 'copy', profile: 'p', source: { bucket: 'src', key: 'a.jpg' }, destination: { bucket: 'dst', key: 'a.jpg' }, acl: 'private' },
    moveToWait: vi.fn(async () => 0),
  } as unknown as Job & { moveToWait: ReturnType<typeof vi.fn> };
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('createJobProcessor', () => {
  it('a lost lock stops the running job and requeues it without using an attempt', async () => {
    const { logger, lines } = logged('info');
    const shutdown = new AbortController();
    const processor = createJobProcessor({ config, logger, buckets: stubBuckets(true), shutdownSignal: shutdown.signal, multipart: {} });
    const job = copyJob('j1');
    const running = processor.process(job, 'tok', new AbortController().signal);
    await tick();
    expect(processor.running()).toBe(1);
    expect(processor.abortJob('j1', new LockLost('j1'))).toBe(true);
    await expect(running).rejects.toBeInstanceOf(WaitingError);
    expect(job.moveToWait).toHaveBeenCalledWith('tok');
    expect(lines.find((l) => l.msg === 'job requeued without using an attempt')).toMatchObject({ jobId: 'j1', attempt: 1, kind: 'copy', queue: 'q', reason: 'lost the lock of job j1' });
    expect(processor.running()).toBe(0);
    expect(processor.abortJob('j1', new LockLost('j1'))).toBe(false);
  });

  it('a shutdown ranks before a lost lock as the reason; both requeue', async () => {
    const { logger, lines } = logged('info');
    const shutdown = new AbortController();
    const processor = createJobProcessor({ config, logger, buckets: stubBuckets(true), shutdownSignal: shutdown.signal, multipart: {} });
    const job = copyJob('j2');
    const running = processor.process(job, 'tok', new AbortController().signal);
    await tick();
    processor.abortJob('j2', new LockLost('j2'));
    shutdown.abort(new ShutdownRequested());
    await expect(running).rejects.toBeInstanceOf(WaitingError);
    expect(lines.find((l) => l.msg === 'job requeued without using an attempt')?.reason).toBe('worker shutting down: grace period over, job requeued');
  });

  it("BullMQ's cancellation fails the attempt instead of requeuing it", async () => {
    const { logger } = logged('silent');
    const processor = createJobProcessor({ config, logger, buckets: stubBuckets(true), shutdownSignal: new AbortController().signal, multipart: {} });
    const job = copyJob('j3');
    const cancel = new AbortController();
    const running = processor.process(job, 'tok', cancel.signal);
    await tick();
    cancel.abort(new Error('cancelled'));
    await expect(running).rejects.not.toBeInstanceOf(WaitingError);
    expect(job.moveToWait).not.toHaveBeenCalled();
  });

  it('logs the completion line at info with the job scope, and builds no child logger when nothing is logged', async () => {
    const info = logged('info');
    const processor = createJobProcessor({ config, logger: info.logger, buckets: stubBuckets(false), shutdownSignal: new AbortController().signal, multipart: {} });
    await expect(processor.process(copyJob('j4'), 'tok', new AbortController().signal)).resolves.toMatchObject({ kind: 'copy', bytes: 1024 });
    const done = info.lines.find((l) => l.msg === 'job completed');
    expect(done).toMatchObject({ level: 30, queue: 'q', jobId: 'j4', attempt: 1, kind: 'copy', etag: '"abc"', bytes: 1024, changed: true });
    expect(JSON.stringify(info.lines)).not.toContain('SECRETSECRET');

    const quiet = logged('warn');
    const child = vi.spyOn(quiet.logger, 'child');
    const processor2 = createJobProcessor({ config, logger: quiet.logger, buckets: stubBuckets(false), shutdownSignal: new AbortController().signal, multipart: {} });
    await processor2.process(copyJob('j5'), 'tok', new AbortController().signal);
    expect(child).not.toHaveBeenCalled();
    expect(quiet.lines).toEqual([]);
  });

  it('an invalid payload is refused before any S3 call, logged with the job scope', async () => {
    const { logger, lines } = logged('info');
    const buckets = stubBuckets(false);
    const bucketFor = vi.spyOn(buckets, 'bucketFor');
    const processor = createJobProcessor({ config, logger, buckets, shutdownSignal: new AbortController().signal, multipart: {} });
    const job = copyJob('j6');
    (job as { data: unknown }).data = { kind: 'copy', profile: 'p', source: { bucket: 'src', key: 'a.jpg' }, destination: { bucket: 'dst', key: 'a.jpg' }, acl: 'private', secretKey: 'x' };
    await expect(processor.process(job, 'tok', new AbortController().signal)).rejects.toMatchObject({ name: 'UnrecoverableError' });
    expect(bucketFor).not.toHaveBeenCalled();
    expect(lines.find((l) => l.level === 40)).toMatchObject({ jobId: 'j6', attempt: 1, kind: 'copy' });
    expect(processor.running()).toBe(0);
  });
});
