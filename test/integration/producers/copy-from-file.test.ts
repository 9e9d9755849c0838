/**
 * `s3jobs copy --from-file` through the real executable against real Redis: many jobs from one
 * process, from a file or stdin, chunk by chunk, and a bad line stopping the run before its chunk.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Queue } from 'bullmq';
import { afterAll, describe, expect, it } from 'vitest';
import { COPY_CHUNK_LINES } from '../../../producers/cli/copy-from-file.js';
import { createRedis, redisUrl } from '../../support/redis.js';
import { PREFIX, producerQueues, runCli, type CliRun } from './helpers.js';

const queues = producerQueues();
const dir = mkdtempSync(join(tmpdir(), 's3jobs-from-file-'));
const redis = createRedis();
const SHIM = fileURLToPath(new URL('../../../bin/s3jobs.js', import.meta.url));

afterAll(async () => {
  await queues.cleanup();
  await redis.quit();
  rmSync(dir, { recursive: true, force: true });
});

function lines(count: number, line: (i: number) => object = (i) => ({ source: `src-bucket/photos/${i}.jpg`, destination: `dst-bucket/photos/${i}.jpg`, jobId: `from-file-${i}` })): string {
  return Array.from({ length: count }, (_, i) => JSON.stringify(line(i + 1))).join('\n') + '\n';
}

async function jobCount(queue: string): Promise<number> {
  const q = new Queue(queue, { connection: redis, prefix: PREFIX });
  try {
    const counts = await q.getJobCounts('waiting', 'prioritized', 'delayed');
    return Object.values(counts).reduce((a, b) => a + b, 0);
  } finally {
    await q.close();
  }
}

/** The CLI with `input` on stdin. */
function runCliWithStdin(args: string[], input: string, env: Record<string, string>): Promise<CliRun> {
  const inherited = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('S3JOBS_')));
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [SHIM, ...args], { env: { ...inherited, REDIS_URL: redisUrl(), ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('error', reject);
    child.on('exit', (code) => resolve({ code: code ?? -1, stdout, stderr }));
    child.stdin.end(input);
  });
}

describe('s3jobs copy --from-file', () => {
  it('enqueues every line of a file in chunks, with the flags as defaults and each line its own id', async () => {
    const queue = queues.name('ff');
    const total = COPY_CHUNK_LINES * 2 + 37;
    const file = join(dir, 'jobs.ndjson');
    writeFileSync(file, lines(total));
    const run = await runCli(['copy', '--from-file', file, '--acl', 'private', '--metadata', 'owner=alice', '--json'], { S3JOBS_QUEUE: queue });
    expect(run.code, run.stderr).toBe(0);
    const out = JSON.parse(run.stdout) as { queue: string; enqueued: number; jobIds: string[] };
    expect(out).toMatchObject({ kind: 'copy', queue, enqueued: total });
    expect(out.jobIds[0]).toBe('from-file-1');
    expect(new Set(out.jobIds).size).toBe(total);
    expect(await jobCount(queue)).toBe(total);
    const job = await new Queue(queue, { connection: redis, prefix: PREFIX }).getJob(`from-file-${total}`);
    expect(job?.data).toMatchObject({ kind: 'copy', acl: 'private', metadata: { owner: 'alice' }, source: { bucket: 'src-bucket', key: `photos/${total}.jpg` } });

    // The same file again: the ids exist, nothing is duplicated.
    const again = await runCli(['copy', '--from-file', file, '--acl', 'private', '--metadata', 'owner=alice'], { S3JOBS_QUEUE: queue });
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toBe(`Enqueued ${total} copy jobs on queue ${queue} from ${file}.\n`);
    expect(await jobCount(queue)).toBe(total);
  });

  it('reads stdin with -', async () => {
    const queue = queues.name('ff-stdin');
    const run = await runCliWithStdin(['copy', '--from-file', '-', '--acl', 'public-read'], lines(3, (i) => ({ source: { bucket: 'src-bucket', key: `k${i}` }, destination: `dst-bucket/k${i}` })), { S3JOBS_QUEUE: queue });
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toBe(`Enqueued 3 copy jobs on queue ${queue} from stdin.\n`);
    expect(await jobCount(queue)).toBe(3);
  });

  it('a bad line stops the run before its chunk: earlier chunks stay, the message names line and field, exit 2', async () => {
    const queue = queues.name('ff-bad');
    const badLine = COPY_CHUNK_LINES + 200;
    const file = join(dir, 'bad.ndjson');
    writeFileSync(file, lines(COPY_CHUNK_LINES * 2, (i) => ({ source: `src-bucket/k${i}`, destination: i === badLine ? 'Not_A_Bucket/k' : `dst-bucket/k${i}` })));
    const run = await runCli(['copy', '--from-file', file, '--acl', 'private'], { S3JOBS_QUEUE: queue });
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(new RegExp(`^s3jobs copy: ${file.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')} line ${badLine}, destination bucket: .*\\(${COPY_CHUNK_LINES} jobs from lines 1-${COPY_CHUNK_LINES} were enqueued before it; nothing after line ${COPY_CHUNK_LINES}\\)\n$`));
    expect(await jobCount(queue)).toBe(COPY_CHUNK_LINES);
  });

  it('a bad first chunk enqueues nothing and needs no Redis; a missing file is named', async () => {
    const file = join(dir, 'first-bad.ndjson');
    writeFileSync(file, `${lines(2)}{"source": "src-bucket/k"}\n`);
    const run = await runCli(['copy', '--from-file', file, '--acl', 'private'], { REDIS_URL: 'redis://127.0.0.1:1' });
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/ line 3, destination: .*\(nothing was enqueued\)\n$/);

    const missing = await runCli(['copy', '--from-file', join(dir, 'nope.ndjson'), '--acl', 'private']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/^s3jobs copy: --from-file: cannot read ".*nope\.ndjson" \(ENOENT\)/);
  });
});
