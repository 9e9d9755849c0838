/**
 * `s3jobs copy --from-file jobs.ndjson` (or `-` for stdin): many copy jobs from one process, one
 * JSON object a line. Each line is validated as it is read (a bad one is named by its line number
 * and field); valid lines are enqueued in chunks of COPY_CHUNK_LINES with one `addBulk` each, which
 * BullMQ adds in one transaction: a chunk is enqueued whole or not at all. A bad line stops the run
 * before its chunk is enqueued; the chunks before it stay enqueued (the message says how many).
 *
 * A line: `{"source": "bucket/key", "destination": "bucket/key", "acl": "private", ...}` — source
 * and destination as `bucket/key` strings or `{bucket, key}` objects, any field of a copy job
 * (metadata, mimetype, headers, expectedSourceEtag, storageClass, profile, sourceProfile,
 * timeoutMs) and the enqueue options jobId, priority, delayMs, attempts. The command line's copy
 * flags (--acl, --profile, --metadata, ...) are defaults for the fields a line leaves out.
 */
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { ValidationError } from '../../shared/errors.js';
import { validateJob, type JobPayload } from '../../shared/jobs/index.js';
import type { EnqueueOptions } from '../producer.js';
import { compact, enqueueOptionsFrom, parseObjectRef, type GlobalOptions } from './args.js';
import { loadCliConfig, printJson, withProducer } from './context.js';
import { ExitCode, UsageError } from './exit-codes.js';
import type { CliIo } from './io.js';

/** Lines per `addBulk`: the unit that is enqueued whole or not at all. */
export const COPY_CHUNK_LINES = 500;

/** Enqueue options a line may carry, and the flag whose checks they share. */
const LINE_OPTIONS: Record<string, string> = { jobId: 'job-id', priority: 'priority', delayMs: 'delay-ms', attempts: 'attempts' };

export interface CopyLine {
  payload: JobPayload;
  options: EnqueueOptions;
}

/**
 * One line into a validated copy job. `defaults` are the payload fields the command line set
 * (a line's own fields win). Throws a UsageError naming `where` (`jobs.ndjson line 3`) and the
 * field. Pure.
 */
export function parseCopyLine(text: string, where: string, defaults: Record<string, unknown>, defaultOptions: EnqueueOptions): CopyLine {
  let line: unknown;
  try {
    line = JSON.parse(text);
  } catch (err) {
    throw new UsageError(where, `is not JSON (${err instanceof Error ? err.message : String(err)}); each line is one JSON object`);
  }
  if (typeof line !== 'object' || line === null || Array.isArray(line)) throw new UsageError(where, 'is not a JSON object; each line is one object like {"source": "bucket/key", "destination": "bucket/key", "acl": "private"}');
  const fields: Record<string, unknown> = { ...line };
  if (fields.kind !== undefined && fields.kind !== 'copy') throw new UsageError(`${where}, kind`, `${JSON.stringify(fields.kind)} is not allowed; copy --from-file enqueues copy jobs only (leave kind out)`);
  delete fields.kind;

  // Enqueue options: checked as the flags of the same name are (same ranges, same messages).
  const flagValues: Record<string, string | boolean> = {};
  for (const [field, flag] of Object.entries(LINE_OPTIONS)) {
    if (fields[field] === undefined) continue;
    const value = fields[field];
    if (typeof value !== 'string' && typeof value !== 'number') throw new UsageError(`${where}, ${field}`, `must be a ${field === 'jobId' ? 'string' : 'number'}, not ${JSON.stringify(value)}`);
    flagValues[flag] = String(value);
    delete fields[field];
  }
  let options: EnqueueOptions;
  try {
    options = { ...defaultOptions, ...enqueueOptionsFrom(flagValues).options };
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    const field = Object.entries(LINE_OPTIONS).find(([, flag]) => err.field === `--${flag}`)?.[0] ?? err.field;
    throw new UsageError(`${where}, ${field}`, err.message.slice(err.field.length + 2));
  }

  // "bucket/key" strings: errors name `jobs.ndjson line 3, source bucket`.
  for (const side of ['source', 'destination'] as const) {
    if (typeof fields[side] === 'string') fields[side] = parseObjectRef(fields[side], `${where}, ${side}`);
  }
  const merged: Record<string, unknown> = compact({ kind: 'copy', ...defaults, ...fields });
  if (merged.acl === undefined) throw new UsageError(`${where}, acl`, 'is required: give it in the line or as --acl');
  try {
    return { payload: validateJob(merged, 'copy'), options };
  } catch (err) {
    // Named as the field is in the line: `jobs.ndjson line 3, destination.bucket`.
    if (err instanceof ValidationError) throw new UsageError(`${where}, ${err.field}`, err.message.slice(err.field.length + 2));
    throw err;
  }
}

/** The lines of `path` (or stdin for `-`), numbered from 1; blank lines are skipped. */
async function* numberedLines(input: Readable): AsyncGenerator<{ text: string; number: number }> {
  let number = 0;
  for await (const text of createInterface({ input, crlfDelay: Infinity })) {
    number += 1;
    if (text.trim() !== '') yield { text, number };
  }
}

async function openInput(path: string, stdin: Readable): Promise<Readable> {
  if (path === '-') return stdin;
  try {
    await (await open(path, 'r')).close();
  } catch (err) {
    throw new UsageError('--from-file', `cannot read ${JSON.stringify(path)} (${(err as { code?: string }).code ?? (err as Error).message}); give a file of one JSON object a line, or - for stdin`);
  }
  return createReadStream(path);
}

export interface CopyFromFileRequest {
  path: string;
  defaults: Record<string, unknown>;
  options: EnqueueOptions;
  globals: GlobalOptions;
}

/**
 * Reads, validates and enqueues chunk by chunk. Redis is connected once the first chunk is valid
 * (a file that is bad from its first line never needs Redis).
 */
export async function runCopyFromFile(request: CopyFromFileRequest, io: CliIo, stdin: Readable = process.stdin): Promise<number> {
  const config = loadCliConfig(request.globals, io);
  const name = request.path === '-' ? 'stdin' : request.path;
  const lines = numberedLines(await openInput(request.path, stdin))[Symbol.asyncIterator]();
  let enqueued = 0;
  /** The last line of the last chunk read, and of the last chunk enqueued. */
  let lastRead = 0;
  let lastEnqueued = 0;
  const jobIds: string[] = [];

  /** The next chunk, validated; empty at the end of the input. */
  const nextChunk = async (): Promise<CopyLine[]> => {
    const chunk: CopyLine[] = [];
    while (chunk.length < COPY_CHUNK_LINES) {
      const next = await lines.next();
      if (next.done === true) break;
      try {
        chunk.push(parseCopyLine(next.value.text, `${name} line ${next.value.number}`, request.defaults, request.options));
      } catch (err) {
        if (!(err instanceof UsageError)) throw err;
        const before = enqueued === 0 ? 'nothing was enqueued' : `${enqueued} jobs from lines 1-${lastEnqueued} were enqueued before it; nothing after line ${lastEnqueued}`;
        throw new UsageError(err.field, `${err.message.slice(err.field.length + 2)} (${before})`);
      }
      lastRead = next.value.number;
    }
    return chunk;
  };

  let chunk = await nextChunk();
  if (chunk.length === 0) throw new UsageError('--from-file', `${name} holds no job (one JSON object a line)`);
  const queue = await withProducer(config, async (producer) => {
    while (chunk.length > 0) {
      const added = await producer.addBulk(chunk);
      enqueued += added.length;
      lastEnqueued = lastRead;
      if (request.globals.json) jobIds.push(...added.map((job) => job.jobId));
      chunk = await nextChunk();
    }
    return producer.queueName;
  });
  if (request.globals.json) printJson(io, { kind: 'copy', queue, enqueued, jobIds });
  else io.stdout(`Enqueued ${enqueued} copy jobs on queue ${queue} from ${name}.\n`);
  return ExitCode.Ok;
}
