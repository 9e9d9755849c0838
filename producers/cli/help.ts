/** Help text pieces every command's `--help` shares, and the top-level help. */
import { ENV_VARS } from '../../shared/config/env-vars.js';
import { DEFAULT_WAIT_TIMEOUT_MS } from './wait-timeout.js';
import { EXIT_CODES_HELP } from './exit-codes.js';

export const GLOBAL_FLAGS_HELP = `Global flags (every command):
  --redis-url URL   Redis to use (default: S3JOBS_REDIS_URL, REDIS_URL, then redis://127.0.0.1:6379)
  --queue NAME      queue name (default: S3JOBS_QUEUE or "s3jobs"; dead letters live in "<NAME>-dead")
  --prefix PREFIX   BullMQ key prefix (default: S3JOBS_PREFIX or "{s3jobs}")
  --json            machine-readable output: one JSON document on stdout
  -h, --help        this help`;

export const ENQUEUE_FLAGS_HELP = `Job flags (copy, rewrite-metadata, bucket):
  --profile NAME        connection profile the worker uses (endpoint, region, credentials live in the
                        worker's configuration, never in the job). Default "default"
  --job-id ID           idempotency key: enqueueing an id that exists returns the existing job
                        (1-200 of A-Z a-z 0-9 _ . @ / -, not only digits)
  --priority N          1 (highest) .. 2097152; default: none (first in, first out)
  --delay-ms N          run no sooner than N ms from now
  --attempts N          attempts in all for retryable failures, 1..100 (default S3JOBS_ATTEMPTS or 5)
  --timeout-ms N|none   per-job deadline; "none" runs without one (default: the worker's
                        S3JOBS_JOB_TIMEOUT_MS, lifted for large copies)
  --wait                wait for the job to finish and print its result; exit 1 if it fails
  --wait-timeout-ms N   give up waiting after N ms, exit 124 (default ${DEFAULT_WAIT_TIMEOUT_MS})`;

const ENV_FOR_PRODUCERS = ['REDIS_URL', 'S3JOBS_REDIS_URL', 'S3JOBS_QUEUE', 'S3JOBS_PREFIX', 'S3JOBS_ATTEMPTS', 'S3JOBS_CONFIG'] as const;

export const ENV_HELP = `Environment:
${ENV_FOR_PRODUCERS.map((name) => `  ${name.padEnd(18)}${ENV_VARS[name]}`).join('\n')}
  S3JOBS_DEBUG=1    print stack traces with errors
  (all settings: s3jobs config check --help)`;

/**
 * `items` joined by ", " and wrapped at `width` columns, continuation lines indented by `indent`
 * spaces (for a flag's description column).
 */
export function wrapList(items: readonly string[], indent: number, width = 100, firstColumn = indent): string {
  const lines: string[] = [];
  let line = '';
  let column = firstColumn;
  for (const [i, item] of items.entries()) {
    const piece = `${item}${i < items.length - 1 ? ',' : ''}`;
    if (line !== '' && column + 1 + piece.length > width) {
      lines.push(line);
      line = '';
      column = indent;
    }
    line += line === '' ? piece : ` ${piece}`;
    column += (line === piece ? 0 : 1) + piece.length;
  }
  lines.push(line);
  return lines.join(`\n${' '.repeat(indent)}`);
}

/** Assembles a command's help: what it does, usage, example(s), its flags, then the shared parts. */
export function commandHelp(parts: { usage: string; summary: string; examples: string[]; flags?: string; enqueue?: boolean; env?: boolean }): string {
  const sections = [
    `Usage: ${parts.usage}`,
    parts.summary,
    `Examples:\n${parts.examples.map((e) => `  ${e}`).join('\n')}`,
    ...(parts.flags === undefined ? [] : [parts.flags]),
    ...(parts.enqueue === true ? [ENQUEUE_FLAGS_HELP] : []),
    GLOBAL_FLAGS_HELP,
    ...(parts.env === false ? [] : [ENV_HELP]),
    EXIT_CODES_HELP,
  ];
  return `${sections.join('\n\n')}\n`;
}

export const TOP_LEVEL_HELP = `s3jobs: offload S3 work (copies, metadata rewrites, bucket create/delete) to workers through a
Redis job queue, and inspect or repair that queue.

Usage: s3jobs <command> [arguments] [flags]

Enqueue jobs (workers run them; add --wait to wait for the result):
  copy <srcBucket>/<srcKey> <dstBucket>/<dstKey> --acl ACL   server-side copy of one object
  rewrite-metadata <bucket>/<key> --acl ACL [--set k=v]      change an object's metadata in place
  tag <bucket>/<key> --tag k=v [--merge]                     set an object's tags (no copy)
  acl <bucket>/<key> <acl>                                   put a canned ACL on an object (no copy)
  bucket create <bucket> | bucket delete <bucket> [--empty]  create or delete a bucket
  sync <srcBucket>/<prefix> <dstBucket>/<prefix> --acl ACL   copy what is missing or changed
                          under a prefix (one copy job per object)

Schedules (kept in Redis; fire while a worker runs):
  schedule add <name> --every 1h | --cron "0 3 * * *" [--tz Z] copy|sync|rewrite-metadata|tag|acl ...
  schedule list | schedule remove <name>

Bulk runs (resumable; progress, counters and a CSV report per run):
  migrate-metadata --bucket B [--prefix P] --acl ACL [--set k=v] ...   change the metadata of
                          every object under a prefix (try --dry-run first)
  tag-run --bucket B (--prefix P | --manifest M) --tag k=v ...   tag every object (no copy)
  acl-run --bucket B (--prefix P | --manifest M) --acl ACL        put an ACL on every object
  copy-run --bucket B (--prefix P | --manifest M) --to D[/P] --acl ACL   copy every object
                          (all four: --manifest FILE|s3://B/K reads a CSV or an Inventory manifest)
  runs                    the runs, with state and counters
  run show|report|delete <runId>   one run in detail, its report brought up to date, or removed

Inspect:
  status <jobId>          where a job is: waiting, active, completed (with result), dead-lettered
  queue                   job counts per state, including dead-lettered

Dead letters (jobs that failed for good):
  dlq list | show <id> | retry <id>|--all [--patch JSON] | purge <id>|--all

Operate:
  config check            validate the configuration and print it with secrets masked
  doctor --bucket B       probe the store: what it does where stores differ, what s3jobs does
                          about it, whether its guarantees hold there (s3jobs doctor --help)
  worker                  run a worker process (s3jobs worker --help)
  dashboard               web UI over the queue, its dead letters and runs (s3jobs dashboard --help)

Run 's3jobs <command> --help' for a command's flags and examples.

Examples:
  export REDIS_URL=redis://127.0.0.1:6379
  s3jobs copy photos/2024/a.jpg backup/2024/a.jpg --acl private --wait
  s3jobs status copy-a-1 --json
  s3jobs dlq list

${GLOBAL_FLAGS_HELP}

${ENV_HELP}

${EXIT_CODES_HELP}
`;
