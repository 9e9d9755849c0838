/** `s3jobs sync <srcBucket>[/<prefix>] <dstBucket>[/<prefix>] --acl ACL [--from-profile P] [--delete] [--dry-run] [...]` */
import { ValidationError } from '../../shared/errors.js';
import type { JobPayload } from '../../shared/jobs/index.js';
import { assertBucketName, CANNED_ACLS } from '../../shared/s3/validation.js';
import {
  booleanFlag,
  compact,
  DEFAULT_WAIT_TIMEOUT_MS,
  ENQUEUE_OPTIONS,
  enqueueOptionsFrom,
  GLOBAL_OPTIONS,
  globalsFrom,
  listFlag,
  parseCommandLine,
  parseMetadataPairs,
  stringFlag,
  validatePayload,
  type Parsed,
  type ParsedValues,
} from './args.js';
import type { CliCommand } from './context.js';
import { ACL_CHOICES } from './copy.js';
import { enqueueCommand, type EnqueueRequest } from './enqueue.js';
import { UsageError } from './exit-codes.js';
import { commandHelp, wrapList } from './help.js';

/** The sync's own flags (schedules reuse them). */
export const SYNC_OPTIONS = {
  acl: { type: 'string' },
  metadata: { type: 'string', multiple: true },
  mimetype: { type: 'string' },
  'as-run': { type: 'boolean' },
  'from-profile': { type: 'string' },
  delete: { type: 'boolean' },
  'dry-run': { type: 'boolean' },
} as const;

const OPTIONS = { ...GLOBAL_OPTIONS, ...ENQUEUE_OPTIONS, ...SYNC_OPTIONS } as const;

const FLAGS: Record<string, string> = {
  source: '<src>',
  destination: '<dst>',
  acl: '--acl',
  metadata: '--metadata',
  mimetype: '--mimetype',
  profile: '--profile',
  sourceProfile: '--from-profile',
  timeoutMs: '--timeout-ms',
};

/**
 * `bucket` or `bucket/prefix` into its parts: everything after the first "/" is the prefix, kept
 * as written (`photos/2024/` and `photos/2024` differ: the second also matches `2024-old/…`).
 */
export function parseLocation(raw: string, argument: string): { bucket: string; prefix: string } {
  const slash = raw.indexOf('/');
  const bucket = slash < 0 ? raw : raw.slice(0, slash);
  const prefix = slash < 0 ? '' : raw.slice(slash + 1);
  try {
    assertBucketName(bucket, 'bucket');
  } catch (err) {
    if (err instanceof ValidationError) throw new UsageError(`${argument} bucket`, `${err.message.slice(err.field.length + 2)} (write <bucket> or <bucket>/<prefix>)`);
    throw err;
  }
  return { bucket, prefix };
}

/** The sync payload from parsed flags and the two locations; validated, errors naming the flag. */
export function syncPayloadFrom(values: ParsedValues, src: string, dst: string, timeoutMs: number | null | undefined): JobPayload {
  const acl = stringFlag(values, 'acl');
  if (acl === undefined) throw new UsageError('--acl', `is required: the canned ACL every copy gets; allowed: ${ACL_CHOICES}`);
  return validatePayload(
    compact({
      kind: 'sync',
      profile: stringFlag(values, 'profile') ?? 'default',
      sourceProfile: stringFlag(values, 'from-profile'),
      source: parseLocation(src, '<src>'),
      destination: parseLocation(dst, '<dst>'),
      acl,
      metadata: parseMetadataPairs(listFlag(values, 'metadata'), '--metadata'),
      mimetype: stringFlag(values, 'mimetype'),
      asRun: booleanFlag(values, 'as-run') ? true : undefined,
      delete: booleanFlag(values, 'delete') ? true : undefined,
      dryRun: booleanFlag(values, 'dry-run') ? true : undefined,
      timeoutMs,
    }),
    FLAGS,
  );
}

/** Pure: the command line into a validated sync job; UsageError naming the flag otherwise. */
export function parseSyncArgs(argv: readonly string[]): Parsed<EnqueueRequest> {
  const { values, positionals } = parseCommandLine('sync', argv, OPTIONS, { names: ['<src>', '<dst>'] });
  if (values.help === true) return { help: true };
  const { options, wait } = enqueueOptionsFrom(values);
  const payload = syncPayloadFrom(values, positionals[0]!, positionals[1]!, options.timeoutMs);
  // A dry run's listing is its result: wait for it (the default wait) unless --wait says otherwise.
  const dryRun = booleanFlag(values, 'dry-run');
  return { help: false, payload, options, wait: wait ?? (dryRun ? { timeoutMs: DEFAULT_WAIT_TIMEOUT_MS } : undefined), globals: globalsFrom(values) };
}

export const SYNC_FLAGS_HELP = `Sync flags:
  --acl ACL               required: the canned ACL of every copy, one of
                          ${wrapList([...CANNED_ACLS.object, 'replicate-source'], 26)}
  --metadata NAME=VALUE   user metadata of every copy (repeat per entry); default: the source's
  --mimetype TYPE         Content-Type of every copy (default: the source's)
  --as-run                report the fan-out as a run "sync-<job id>": progress, counts and a
                          report of every copy through the run commands
  --from-profile NAME     profile the source is listed and read with (default: --profile); another
                          store streams each copy through the worker, and objects are compared by
                          size and the source ETag each copy records (s3jobs-source-etag metadata)
  --delete                also delete destination objects under the prefix that the source no
                          longer has (off by default; try --dry-run first)
  --dry-run               list what would be copied and deleted (the first 100 of each, and the
                          counts); copy and delete nothing. Waits for the result`;

const HELP = commandHelp({
  usage: 's3jobs sync <srcBucket>[/<prefix>] <dstBucket>[/<prefix>] --acl ACL [flags]',
  summary: `Enqueues one sync job. A worker lists both prefixes and enqueues one copy job per source
object that is missing at the destination or differs in size or ETag; objects only at the
destination are left alone, and a sync that finds nothing different enqueues nothing. Keys keep
their part below the prefix: src/in/a/b.jpg -> dst/out/a/b.jpg for "src/in/" "dst/out/".
The prefix is matched as written ("in" also matches "inbox/"; write "in/" for a folder).

ETags are compared as S3 lists them. The ETag of an object uploaded in several parts depends on
its part sizes and its copy gets another one, so such objects are copied again by every sync.
A copy that failed for good is not tried again by later syncs while the dead-letter queue keeps
it (s3jobs dlq retry it, or purge it to let the next sync try).

With --wait, waits for the listing and prints what was found (examined, toCopy, enqueued,
unchanged); the copies run on as their own jobs. To sync on a schedule: s3jobs schedule add.`,
  examples: [
    's3jobs sync photos/2024/ photos-backup/2024/ --acl private',
    's3jobs sync assets assets-eu --acl public-read --wait',
    's3jobs sync logs/app/ archive/app/ --acl bucket-owner-full-control --as-run --profile archive',
    's3jobs sync --from-profile onprem media/ --profile backup media-backup/ --acl private --delete --dry-run',
  ],
  flags: SYNC_FLAGS_HELP,
  enqueue: true,
});

export const syncCommand: CliCommand = enqueueCommand('sync', 'enqueue a prefix sync (one copy job per missing or changed object)', HELP, parseSyncArgs);
