/**
 * One copy between two stores with s3jobs' streamed copy (`streamCopy`, what a worker runs for a
 * copy job whose source profile is another store), alone in its process so that its CPU time and
 * peak RSS are the copy's. Prints one JSON line: seconds, result, and the process's own usage.
 *
 * Arguments come as JSON in S3JOBS_BENCH_COPY: { source: {endpoint, accessKey, secretKey, bucket, key},
 * destination: {…}, partSize, concurrency }.
 */
import { S3Bucket } from '../shared/s3/index.js';
import { streamCopy } from '../shared/s3/stream-copy.js';

interface Side {
  endpoint: string;
  accessKey: string;
  secretKey: string;
  bucket: string;
  key: string;
}

const spec = JSON.parse(process.env.S3JOBS_BENCH_COPY ?? '{}') as { source: Side; destination: Side; partSize: number; concurrency: number };
const client = (s: Side): S3Bucket => new S3Bucket({ name: s.bucket, endpoint: s.endpoint, accessKey: s.accessKey, secretKey: s.secretKey, region: 'us-east-1', forcePathStyle: true, timeout: null });
const source = client(spec.source);
const destination = client(spec.destination);
const head = await source.head(spec.source.key);
// CPU of the copy itself: Node's start-up and tsx's transpiling are left out (rclone's start-up is ~0.05 s).
const cpuBefore = process.cpuUsage();
const started = process.hrtime.bigint();
const result = await streamCopy(source, spec.source.key, destination, spec.destination.key, { acl: 'private', sourceInfo: head, partSize: spec.partSize, concurrency: spec.concurrency });
const seconds = Number(process.hrtime.bigint() - started) / 1e9;
const cpu = process.cpuUsage(cpuBefore);
const usage = process.resourceUsage();
await source.close();
await destination.close();
process.stdout.write(`${JSON.stringify({ seconds, result, userMs: cpu.user / 1000, systemMs: cpu.system / 1000, maxRssKiB: usage.maxRSS })}\n`);
