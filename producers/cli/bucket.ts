/** `s3jobs bucket create <bucket> [--location L] [--acl ACL]` / `s3jobs bucket delete <bucket> [--empty]` */
import { CANNED_ACLS } from '../../shared/s3/validation.js';
import {
  booleanFlag,
  compact,
  ENQUEUE_OPTIONS,
  enqueueOptionsFrom,
  GLOBAL_OPTIONS,
  globalsFrom,
  parseCommandLine,
  stringFlag,
  validatePayload,
  type Parsed,
} from './args.js';
import type { CliCommand } from './context.js';
import { enqueueCommand, type EnqueueRequest } from './enqueue.js';
import { UsageError } from './exit-codes.js';
import { commandHelp } from './help.js';

const OPTIONS = {
  ...GLOBAL_OPTIONS,
  ...ENQUEUE_OPTIONS,
  location: { type: 'string' },
  acl: { type: 'string' },
  empty: { type: 'boolean' },
} as const;

const FLAGS: Record<string, string> = {
  bucket: '<bucket>',
  location: '--location',
  acl: '--acl',
  empty: '--empty',
  profile: '--profile',
  timeoutMs: '--timeout-ms',
};

/** Pure: the command line into a validated bucket job; UsageError naming the flag otherwise. */
export function parseBucketArgs(argv: readonly string[]): Parsed<EnqueueRequest> {
  const { values, positionals } = parseCommandLine('bucket', argv, OPTIONS, { names: ['create|delete', '<bucket>'] });
  if (values.help === true) return { help: true };
  const action = positionals[0]!;
  const bucket = positionals[1]!;
  const profile = stringFlag(values, 'profile') ?? 'default';
  const { options, wait } = enqueueOptionsFrom(values);
  let payload: Record<string, unknown>;
  if (action === 'create') {
    if (booleanFlag(values, 'empty')) throw new UsageError('--empty', 'only applies to "bucket delete"');
    payload = { kind: 'bucket', action, profile, bucket, location: stringFlag(values, 'location'), acl: stringFlag(values, 'acl'), timeoutMs: options.timeoutMs };
  } else if (action === 'delete') {
    for (const flag of ['location', 'acl']) if (values[flag] !== undefined) throw new UsageError(`--${flag}`, 'only applies to "bucket create"');
    payload = { kind: 'bucket', action, profile, bucket, empty: booleanFlag(values, 'empty') ? true : undefined, timeoutMs: options.timeoutMs };
  } else {
    throw new UsageError('create|delete', `${JSON.stringify(action)} is not a bucket action; allowed: create, delete (see 's3jobs bucket --help')`);
  }
  return { help: false, payload: validatePayload(compact(payload), FLAGS), options, wait, globals: globalsFrom(values) };
}

const HELP = commandHelp({
  usage: 's3jobs bucket create <bucket> [--location REGION] [--acl ACL] [flags]\n       s3jobs bucket delete <bucket> [--empty] [flags]',
  summary: `Enqueues a job that creates or deletes a bucket. Creating a bucket you already own succeeds
("changed: false"). Deleting a bucket that holds objects fails unless --empty is given, which
first deletes every object, version and delete marker in it.`,
  examples: ['s3jobs bucket create logs-2024 --location eu-west-1 --acl private --wait', 's3jobs bucket delete scratch-2023 --empty --wait'],
  flags: `Bucket flags:
  --location REGION   create: LocationConstraint, e.g. eu-west-1 or EU (default: none, i.e. us-east-1)
  --acl ACL           create: canned ACL of the bucket: ${CANNED_ACLS.bucket.join(', ')}
  --empty             delete: delete every object (and version) first`,
  enqueue: true,
});

export const bucketCommand: CliCommand = enqueueCommand('bucket', 'enqueue a bucket create or delete', HELP, parseBucketArgs);
