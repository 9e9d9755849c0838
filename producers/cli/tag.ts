/** `s3jobs tag <bucket>/<key> --tag KEY=VALUE ... [--merge] [--remove KEY ...] [--version-id V]` */
import { ValidationError } from '../../shared/errors.js';
import { tagsFromPairs } from '../../shared/s3/tagging.js';
import { booleanFlag, compact, ENQUEUE_OPTIONS, enqueueOptionsFrom, GLOBAL_OPTIONS, globalsFrom, listFlag, parseCommandLine, parseObjectRef, stringFlag, validatePayload, type Parsed } from './args.js';
import type { CliCommand } from './context.js';
import { enqueueCommand, type EnqueueRequest } from './enqueue.js';
import { UsageError } from './exit-codes.js';
import { commandHelp } from './help.js';

const OPTIONS = {
  ...GLOBAL_OPTIONS,
  ...ENQUEUE_OPTIONS,
  tag: { type: 'string', multiple: true },
  merge: { type: 'boolean' },
  remove: { type: 'string', multiple: true },
  clear: { type: 'boolean' },
  'version-id': { type: 'string' },
} as const;

const FLAGS: Record<string, string> = {
  bucket: '<bucket>/<key>',
  key: '<bucket>/<key>',
  tags: '--tag',
  remove: '--remove',
  versionId: '--version-id',
  profile: '--profile',
  timeoutMs: '--timeout-ms',
};

/** `--tag` pairs into tags, the error naming the flag. */
export function parseTagFlags(pairs: readonly string[]): Record<string, string> {
  try {
    return tagsFromPairs(pairs, '--tag');
  } catch (err) {
    if (err instanceof ValidationError) throw new UsageError('--tag', err.message.slice(err.field.length + 2));
    throw err;
  }
}

/** Pure: the command line into a validated tagging job; UsageError naming the flag otherwise. */
export function parseTagArgs(argv: readonly string[]): Parsed<EnqueueRequest> {
  const { values, positionals } = parseCommandLine('tag', argv, OPTIONS, { names: ['<bucket>/<key>'] });
  if (values.help === true) return { help: true };
  const { bucket, key } = parseObjectRef(positionals[0]!, '<bucket>/<key>');
  const pairs = listFlag(values, 'tag');
  const merge = booleanFlag(values, 'merge');
  const remove = listFlag(values, 'remove');
  const clear = booleanFlag(values, 'clear');
  if (clear && (pairs.length > 0 || merge || remove.length > 0)) throw new UsageError('--clear', 'removes every tag: it takes no --tag, --merge or --remove');
  if (!clear && pairs.length === 0 && remove.length === 0) throw new UsageError('--tag', 'give at least one --tag KEY=VALUE (or --remove KEY with --merge, or --clear to remove every tag)');
  if (remove.length > 0 && !merge) throw new UsageError('--remove', 'applies with --merge (without it, the --tag pairs are the whole new tag set)');
  const { options, wait } = enqueueOptionsFrom(values);
  const payload = validatePayload(
    compact({
      kind: 'tagging',
      profile: stringFlag(values, 'profile') ?? 'default',
      bucket,
      key,
      versionId: stringFlag(values, 'version-id'),
      mode: merge ? 'merge' : undefined,
      tags: parseTagFlags(pairs),
      remove: remove.length === 0 ? undefined : remove,
      timeoutMs: options.timeoutMs,
    }),
    FLAGS,
  );
  return { help: false, payload, options, wait, globals: globalsFrom(values) };
}

const HELP = commandHelp({
  usage: 's3jobs tag <bucket>/<key> (--tag KEY=VALUE ... [--merge [--remove KEY ...]] | --clear) [--version-id V] [flags]',
  summary: `Enqueues a job that sets an object's tags (S3 object tagging), without copying the object: its
ETag, metadata and ACL stay. By default the --tag pairs become the whole tag set; with --merge they
are set over the object's current tags (and --remove takes keys out). S3's limits are checked now:
at most 10 tags per object, keys of 1-128 and values of 0-256 characters (letters, digits, spaces and
+ - = . _ : / @), each key once. A merge that would pass 10 tags is dead-lettered by the worker.`,
  examples: [
    's3jobs tag photos/a.jpg --tag team=media --tag stage=final',
    's3jobs tag photos/a.jpg --merge --tag reviewed=yes --remove draft --wait',
    's3jobs tag photos/a.jpg --clear',
    's3jobs tag photos/a.jpg --tag stage=old --version-id 3HL4kqtJlcpXroDTDmJ.rmSpXd3dIbrHY',
  ],
  flags: `Tag flags:
  --tag KEY=VALUE    one tag (repeat, at most 10; KEY= gives an empty value)
  --merge            keep the object's other tags (default: the --tag pairs replace them all)
  --remove KEY       with --merge: take this tag off (repeat)
  --clear            remove every tag
  --version-id V     tag that version of the object (default: the current one)`,
  enqueue: true,
});

export const tagCommand: CliCommand = enqueueCommand('tag', "enqueue a change of an object's tags (no copy)", HELP, parseTagArgs);
