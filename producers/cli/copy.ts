/** `s3jobs copy <srcBucket>/<srcKey> <dstBucket>/<dstKey> --acl ACL [--from-profile P] [...]`, or `--from-file jobs.ndjson` */
import { CANNED_ACLS } from '../../shared/s3/validation.js';
import {
  compact,
  ENQUEUE_OPTIONS,
  enqueueOptionsFrom,
  GLOBAL_OPTIONS,
  globalsFrom,
  listFlag,
  parseCommandLine,
  parseMetadataPairs,
  parseObjectRef,
  parsePairs,
  stringFlag,
  validatePayload,
  type Parsed,
} from './args.js';
import type { CliCommand } from './context.js';
import { COPY_CHUNK_LINES, runCopyFromFile, type CopyFromFileRequest } from './copy-from-file.js';
import { enqueueCommand, type EnqueueRequest } from './enqueue.js';
import { UsageError } from './exit-codes.js';
import { commandHelp, wrapList } from './help.js';

const OPTIONS = {
  ...GLOBAL_OPTIONS,
  ...ENQUEUE_OPTIONS,
  acl: { type: 'string' },
  metadata: { type: 'string', multiple: true },
  mimetype: { type: 'string' },
  header: { type: 'string', multiple: true },
  'if-match': { type: 'string' },
  'storage-class': { type: 'string' },
  'source-version-id': { type: 'string' },
  'from-profile': { type: 'string' },
  'from-file': { type: 'string' },
} as const;

/** Flags about one object or one wait: with --from-file they go in each line, or make no sense. */
const PER_OBJECT_FLAGS: Record<string, string> = {
  'job-id': 'give each line its own "jobId"',
  'if-match': 'give each line its own "expectedSourceEtag"',
  'source-version-id': 'give the line\'s source as {"bucket", "key", "versionId"}',
  wait: 'check jobs with s3jobs status or s3jobs queue',
  'wait-timeout-ms': 'check jobs with s3jobs status or s3jobs queue',
};

/** Which flag or argument sets each payload field, for error messages. */
const FLAGS: Record<string, string> = {
  source: '<src>',
  'source.versionId': '--source-version-id',
  destination: '<dst>',
  acl: '--acl',
  metadata: '--metadata',
  mimetype: '--mimetype',
  headers: '--header',
  expectedSourceEtag: '--if-match',
  storageClass: '--storage-class',
  profile: '--profile',
  sourceProfile: '--from-profile',
  timeoutMs: '--timeout-ms',
};

export const ACL_CHOICES = `${CANNED_ACLS.object.join(', ')}, replicate-source`;

/** Pure: the command line into a validated copy job; UsageError naming the flag otherwise. */
export function parseCopyArgs(argv: readonly string[]): Parsed<EnqueueRequest> {
  const { values, positionals } = parseCommandLine('copy', argv, OPTIONS, { names: ['<src>', '<dst>'] });
  if (values.help === true) return { help: true };
  const source = parseObjectRef(positionals[0]!, '<src>');
  const destination = parseObjectRef(positionals[1]!, '<dst>');
  const acl = stringFlag(values, 'acl');
  if (acl === undefined) throw new UsageError('--acl', `is required: the canned ACL the copy gets; allowed: ${ACL_CHOICES}`);
  const versionId = stringFlag(values, 'source-version-id');
  const { options, wait } = enqueueOptionsFrom(values);
  const payload = validatePayload(
    compact({
      kind: 'copy',
      profile: stringFlag(values, 'profile') ?? 'default',
      sourceProfile: stringFlag(values, 'from-profile'),
      source: versionId === undefined ? source : { ...source, versionId },
      destination,
      acl,
      metadata: parseMetadataPairs(listFlag(values, 'metadata'), '--metadata'),
      mimetype: stringFlag(values, 'mimetype'),
      headers: parsePairs(listFlag(values, 'header'), '--header'),
      expectedSourceEtag: stringFlag(values, 'if-match'),
      storageClass: stringFlag(values, 'storage-class'),
      timeoutMs: options.timeoutMs,
    }),
    FLAGS,
  );
  return { help: false, payload, options, wait, globals: globalsFrom(values) };
}

const HELP = commandHelp({
  usage: 's3jobs copy <srcBucket>/<srcKey> <dstBucket>/<dstKey> --acl ACL [flags]\n       s3jobs copy --from-file jobs.ndjson|- [--acl ACL] [flags]',
  summary: `Enqueues a job that copies one object inside S3 (no download): a worker copies it with the
credentials of --profile, multipart for large objects. The key is everything after the first "/"
and may contain more slashes. Prints the job id; with --wait, the result (ETag, bytes, duration).

With --from-profile naming another store or other credentials than --profile (a backup to another
provider or account), the worker streams the object through itself: GET with --from-profile, PUT
with --profile, in parts of S3JOBS_STREAM_PART_BYTES, verified with Content-MD5 and, where the
source's ETag is its MD5, end to end. Same endpoint and credentials: the server-side copy as above.

With --from-file, enqueues one copy per line of a file (- reads stdin), each line one JSON object:
  {"source": "photos/a.jpg", "destination": "backup/a.jpg", "acl": "private", "jobId": "a-1"}
source and destination as "bucket/key" or {"bucket", "key"[, "versionId"]}; any copy field
(metadata, mimetype, headers, expectedSourceEtag, storageClass, profile, sourceProfile, timeoutMs)
and jobId, priority, delayMs, attempts. The flags are defaults for what a line leaves out. Lines
are checked as they are read (an error names the line and field) and enqueued ${COPY_CHUNK_LINES} at a time,
each chunk whole or not at all; a bad line stops the run before its chunk (earlier ones stay).`,
  examples: [
    's3jobs copy photos/2024/a.jpg backup/2024/a.jpg --acl private',
    's3jobs copy photos/a.jpg photos/b.jpg --acl replicate-source --metadata owner=alice --mimetype image/jpeg --wait',
    's3jobs copy src/report.csv dst/report.csv --acl private --if-match 9b2cf535f27731c974343645a3985328 --job-id report-2024-05',
    's3jobs copy --from-profile onprem media/video.mp4 --profile backup media-backup/video.mp4 --acl private --wait',
    "jq -c '{source: (\"photos/\" + .), destination: (\"backup/\" + .)}' keys.json | s3jobs copy --from-file - --acl private",
  ],
  flags: `Copy flags:
  --acl ACL               required: the copy's canned ACL, one of
                          ${wrapList([...CANNED_ACLS.object, 'replicate-source'], 26)}
                          (replicate-source reads the source's ACL and writes it on the copy)
  --metadata NAME=VALUE   user metadata of the copy (repeat per entry); without any, the source's
                          metadata is kept
  --mimetype TYPE         Content-Type of the copy (default: the source's)
  --header NAME=VALUE     system header of the copy (repeat): content-type, cache-control,
                          content-disposition, content-encoding, content-language, expires,
                          x-amz-website-redirect-location, x-amz-storage-class; NAME= removes it
  --if-match ETAG         copy only if the source still has this ETag (else the job fails with
                          PreconditionFailed and is not retried)
  --storage-class CLASS   STANDARD, STANDARD_IA, GLACIER, ... (default: STANDARD)
  --source-version-id ID  copy this version of the source
  --from-profile NAME     connection profile the source is read with (default: --profile); another
                          store than --profile's streams the copy through the worker
                          (replicate-source is refused then: grants name the source store's accounts)
  --from-file FILE|-      enqueue one copy per line of FILE (- for stdin), see above`,
  enqueue: true,
});

/**
 * Pure: `copy --from-file FILE|-` into what to read and the defaults the flags give every line;
 * undefined without --from-file.
 */
export function parseCopyFromFileArgs(argv: readonly string[]): CopyFromFileRequest | undefined {
  const { values, positionals } = parseCommandLine('copy', argv, OPTIONS, { names: ['<src>', '<dst>'], min: 0 });
  const path = stringFlag(values, 'from-file');
  if (path === undefined || values.help === true) return undefined;
  if (path === '') throw new UsageError('--from-file', 'needs a file name, or - for stdin');
  if (positionals.length > 0) throw new UsageError(JSON.stringify(positionals[0]), "unexpected argument: with --from-file the objects come from the file's lines");
  for (const [flag, instead] of Object.entries(PER_OBJECT_FLAGS)) if (values[flag] !== undefined) throw new UsageError(`--${flag}`, `cannot be used with --from-file: ${instead}`);
  const { options } = enqueueOptionsFrom(values);
  // A --timeout-ms is the payload's default deadline: a line's own timeoutMs overrides it.
  const { timeoutMs, ...rest } = options;
  const defaults = compact({
    acl: stringFlag(values, 'acl'),
    profile: stringFlag(values, 'profile') ?? 'default',
    sourceProfile: stringFlag(values, 'from-profile'),
    metadata: parseMetadataPairs(listFlag(values, 'metadata'), '--metadata'),
    mimetype: stringFlag(values, 'mimetype'),
    headers: parsePairs(listFlag(values, 'header'), '--header'),
    storageClass: stringFlag(values, 'storage-class'),
    timeoutMs,
  });
  return { path, defaults, options: rest, globals: globalsFrom(values) };
}

const enqueueOne = enqueueCommand('copy', 'enqueue a server-side copy of one object', HELP, parseCopyArgs);

export const copyCommand: CliCommand = {
  ...enqueueOne,
  summary: 'enqueue a server-side copy of one object (or one per line: --from-file)',
  async run(argv, io) {
    const fromFile = parseCopyFromFileArgs(argv);
    return fromFile === undefined ? enqueueOne.run(argv, io) : runCopyFromFile(fromFile, io);
  },
};
