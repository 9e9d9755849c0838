/** `s3jobs copy <srcBucket>/<srcKey> <dstBucket>/<dstKey> --acl ACL [--from-profile P] [...]` */
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
} as const;

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
  usage: 's3jobs copy <srcBucket>/<srcKey> <dstBucket>/<dstKey> --acl ACL [flags]',
  summary: `Enqueues a job that copies one object inside S3 (no download): a worker copies it with the
credentials of --profile, multipart for large objects. The key is everything after the first "/"
and may contain more slashes. Prints the job id; with --wait, the result (ETag, bytes, duration).

With --from-profile naming another store or other credentials than --profile (a backup to another
provider or account), the worker streams the object through itself: GET with --from-profile, PUT
with --profile, in parts of S3JOBS_STREAM_PART_BYTES, verified with Content-MD5 and, where the
source's ETag is its MD5, end to end. Same endpoint and credentials: the server-side copy as above.`,
  examples: [
    's3jobs copy photos/2024/a.jpg backup/2024/a.jpg --acl private',
    's3jobs copy photos/a.jpg photos/b.jpg --acl replicate-source --metadata owner=alice --mimetype image/jpeg --wait',
    's3jobs copy src/report.csv dst/report.csv --acl private --if-match 9b2cf535f27731c974343645a3985328 --job-id report-2024-05',
    's3jobs copy --from-profile onprem media/video.mp4 --profile backup media-backup/video.mp4 --acl private --wait',
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
                          (replicate-source is refused then: grants name the source store's accounts)`,
  enqueue: true,
});

export const copyCommand: CliCommand = enqueueCommand('copy', 'enqueue a server-side copy of one object', HELP, parseCopyArgs);
