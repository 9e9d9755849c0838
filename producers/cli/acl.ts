/** `s3jobs acl <bucket>/<key> ACL [--version-id V]`: a canned ACL on an object, without copying it. */
import { CANNED_ACLS } from '../../shared/s3/validation.js';
import { compact, ENQUEUE_OPTIONS, enqueueOptionsFrom, GLOBAL_OPTIONS, globalsFrom, parseCommandLine, parseObjectRef, stringFlag, validatePayload, type Parsed } from './args.js';
import type { CliCommand } from './context.js';
import { enqueueCommand, type EnqueueRequest } from './enqueue.js';
import { commandHelp, wrapList } from './help.js';

const OPTIONS = { ...GLOBAL_OPTIONS, ...ENQUEUE_OPTIONS, 'version-id': { type: 'string' } } as const;

const FLAGS: Record<string, string> = { bucket: '<bucket>/<key>', key: '<bucket>/<key>', acl: '<acl>', versionId: '--version-id', profile: '--profile', timeoutMs: '--timeout-ms' };

/** Pure: the command line into a validated acl job; UsageError naming the argument otherwise. */
export function parseAclArgs(argv: readonly string[]): Parsed<EnqueueRequest> {
  const { values, positionals } = parseCommandLine('acl', argv, OPTIONS, { names: ['<bucket>/<key>', '<acl>'] });
  if (values.help === true) return { help: true };
  const { bucket, key } = parseObjectRef(positionals[0]!, '<bucket>/<key>');
  const { options, wait } = enqueueOptionsFrom(values);
  const payload = validatePayload(
    compact({ kind: 'acl', profile: stringFlag(values, 'profile') ?? 'default', bucket, key, versionId: stringFlag(values, 'version-id'), acl: positionals[1], timeoutMs: options.timeoutMs }),
    FLAGS,
  );
  return { help: false, payload, options, wait, globals: globalsFrom(values) };
}

const HELP = commandHelp({
  usage: 's3jobs acl <bucket>/<key> <acl> [--version-id V] [flags]',
  summary: `Enqueues a job that puts a canned ACL on an object (PUT ?acl). The object is not copied: its
ETag, metadata, tags and storage class stay. Buckets whose ACLs are disabled (Object Ownership
"bucket owner enforced") refuse it; the job is then dead-lettered with S3's error.`,
  examples: ['s3jobs acl photos/a.jpg public-read', 's3jobs acl photos/a.jpg private --version-id 3HL4kqtJlcpXroDTDmJ.rmSpXd3dIbrHY --wait'],
  flags: `ACL flags:
  <acl>              one of ${wrapList([...CANNED_ACLS.object], 21)}
  --version-id V     that version of the object (default: the current one)`,
  enqueue: true,
});

export const aclCommand: CliCommand = enqueueCommand('acl', 'enqueue a canned ACL on an object (no copy)', HELP, parseAclArgs);
