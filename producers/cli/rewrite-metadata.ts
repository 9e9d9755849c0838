/** `s3jobs rewrite-metadata <bucket>/<key> --acl ACL [--set k=v ...] [--remove k ...] [--replace] [...]` */
import {
  booleanFlag,
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
import { CANNED_ACLS } from '../../shared/s3/validation.js';
import { ACL_CHOICES } from './copy.js';
import { enqueueCommand, type EnqueueRequest } from './enqueue.js';
import { UsageError } from './exit-codes.js';
import { commandHelp, wrapList } from './help.js';

const OPTIONS = {
  ...GLOBAL_OPTIONS,
  ...ENQUEUE_OPTIONS,
  acl: { type: 'string' },
  set: { type: 'string', multiple: true },
  remove: { type: 'string', multiple: true },
  replace: { type: 'boolean' },
  mimetype: { type: 'string' },
  header: { type: 'string', multiple: true },
  'if-match': { type: 'string' },
  'require-guard': { type: 'boolean' },
} as const;

const FLAGS: Record<string, string> = {
  bucket: '<bucket>/<key>',
  key: '<bucket>/<key>',
  acl: '--acl',
  set: '--set',
  remove: '--remove',
  replace: '--replace',
  mimetype: '--mimetype',
  headers: '--header',
  expectedEtag: '--if-match',
  requireGuard: '--require-guard',
  profile: '--profile',
  timeoutMs: '--timeout-ms',
};

/** Pure: the command line into a validated metadata-rewrite job; UsageError naming the flag otherwise. */
export function parseRewriteMetadataArgs(argv: readonly string[]): Parsed<EnqueueRequest> {
  const { values, positionals } = parseCommandLine('rewrite-metadata', argv, OPTIONS, { names: ['<bucket>/<key>'] });
  if (values.help === true) return { help: true };
  const { bucket, key } = parseObjectRef(positionals[0]!, '<bucket>/<key>');
  const acl = stringFlag(values, 'acl');
  if (acl === undefined)
    throw new UsageError('--acl', `is required: the rewrite is a copy onto itself, which resets the ACL; allowed: ${ACL_CHOICES} ("replicate-source" keeps the current one)`);
  const pairs = parseMetadataPairs(listFlag(values, 'set'), '--set');
  const remove = listFlag(values, 'remove');
  const replace = booleanFlag(values, 'replace');
  if (replace && remove.length > 0) throw new UsageError('--replace', 'cannot be combined with --remove: with --replace, the --set pairs are the whole new metadata');
  for (const name of remove) {
    if (name.trim() === '') throw new UsageError('--remove', 'needs a metadata name');
    // The worker's rewrite plan refuses this too, but only after the job is queued: refuse it here.
    const clash = Object.keys(pairs ?? {}).find((set) => set.toLowerCase() === name.toLowerCase());
    if (clash !== undefined) throw new UsageError('--remove', `"${name}" is also given to --set ("${clash}"); set it or remove it, not both`);
  }
  const { options, wait } = enqueueOptionsFrom(values);
  const payload = validatePayload(
    compact({
      kind: 'metadata-rewrite',
      profile: stringFlag(values, 'profile') ?? 'default',
      bucket,
      key,
      // --replace with no --set clears all user metadata.
      set: replace ? undefined : pairs,
      replace: replace ? (pairs ?? {}) : undefined,
      remove: remove.length === 0 ? undefined : remove,
      mimetype: stringFlag(values, 'mimetype'),
      headers: parsePairs(listFlag(values, 'header'), '--header'),
      acl,
      expectedEtag: stringFlag(values, 'if-match'),
      requireGuard: booleanFlag(values, 'require-guard') ? true : undefined,
      timeoutMs: options.timeoutMs,
    }),
    FLAGS,
  );
  return { help: false, payload, options, wait, globals: globalsFrom(values) };
}

const HELP = commandHelp({
  usage: 's3jobs rewrite-metadata <bucket>/<key> --acl ACL [--set NAME=VALUE ...] [--remove NAME ...] [--replace] [flags]',
  summary: `Enqueues a job that changes an object's user metadata (x-amz-meta-*) and/or system headers in
place, by copying the object onto itself. Other metadata and headers are kept; the storage class is
kept. A worker skips the copy when nothing would change (the result says "changed: false").`,
  examples: [
    's3jobs rewrite-metadata photos/a.jpg --acl replicate-source --set owner=bob --remove draft',
    's3jobs rewrite-metadata photos/a.jpg --acl private --replace --set owner=bob   # owner is then the only entry',
    "s3jobs rewrite-metadata site/index.html --acl public-read --mimetype 'text/html; charset=utf-8' --header cache-control=max-age=300 --wait",
  ],
  flags: `Rewrite flags:
  --acl ACL             required (the self-copy resets the ACL), one of
                        ${wrapList([...CANNED_ACLS.object, 'replicate-source'], 24)}
                        (replicate-source keeps the object's current ACL)
  --set NAME=VALUE      add or overwrite one metadata entry (repeat)
  --remove NAME         delete one metadata entry (repeat); absent names are ignored
  --replace             the --set pairs become the whole metadata (no --set: clear it all);
                        not combinable with --remove
  --mimetype TYPE       new Content-Type
  --header NAME=VALUE   set a system header (repeat): cache-control, content-disposition,
                        content-encoding, content-language, expires, ...; NAME= removes it
  --if-match ETAG       rewrite only if the object still has this ETag (else PreconditionFailed);
                        quoted or not
  --require-guard       refuse (dead-lettered S3JOBS_UNGUARDED) where the store is not known to
                        honour the ETag guard of the self-copy (see S3JOBS_PROFILE_<NAME>_PROVIDER);
                        the result's "guarded" says whether it held`,
  enqueue: true,
});

export const rewriteMetadataCommand: CliCommand = enqueueCommand('rewrite-metadata', "enqueue a change of an object's metadata", HELP, parseRewriteMetadataArgs);
