/** `copy --from-file`: a line into a copy job, the flags as defaults, errors naming line and field. */
import { describe, expect, it } from 'vitest';
import { parseCopyFromFileArgs } from '../../../producers/cli/copy.js';
import { parseCopyLine } from '../../../producers/cli/copy-from-file.js';
import { UsageError } from '../../../producers/cli/exit-codes.js';

const where = 'jobs.ndjson line 3';

function errorOf(fn: () => unknown): UsageError {
  try {
    fn();
  } catch (err) {
    if (err instanceof UsageError) return err;
    throw err;
  }
  throw new Error('no error');
}

describe('parseCopyLine', () => {
  it('reads bucket/key strings or objects, the line winning over the defaults, enqueue options apart', () => {
    const line = JSON.stringify({ source: 'photos/2024/a.jpg', destination: { bucket: 'backup', key: 'a.jpg' }, mimetype: 'image/jpeg', jobId: 'a-1', priority: 3 });
    const parsed = parseCopyLine(line, where, { acl: 'private', profile: 'default', mimetype: 'text/plain' }, { attempts: 2 });
    expect(parsed.payload).toEqual({ kind: 'copy', profile: 'default', acl: 'private', mimetype: 'image/jpeg', source: { bucket: 'photos', key: '2024/a.jpg' }, destination: { bucket: 'backup', key: 'a.jpg' } });
    expect(parsed.options).toEqual({ attempts: 2, jobId: 'a-1', priority: 3 });
  });

  it.each([
    ['{"source": "a-bucket/k"', /^jobs\.ndjson line 3: is not JSON \(/],
    ['["a-bucket/k"]', /^jobs\.ndjson line 3: is not a JSON object/],
    ['{"source": "a-bucket/k", "destination": "b-bucket/k"}', /^jobs\.ndjson line 3, acl: is required: give it in the line or as --acl$/],
    ['{"source": "a-bucket/k", "destination": "B_Bad/k", "acl": "private"}', /^jobs\.ndjson line 3, destination bucket: /],
    ['{"source": {"bucket": "a-bucket", "key": ""}, "destination": "b-bucket/k", "acl": "private"}', /^jobs\.ndjson line 3, source\.key: /],
    ['{"source": "a-bucket/k", "destination": "b-bucket/k", "acl": "world-writable"}', /^jobs\.ndjson line 3, acl: /],
    ['{"source": "a-bucket/k", "destination": "b-bucket/k", "acl": "private", "priority": 0}', /^jobs\.ndjson line 3, priority: "0" is not allowed; give an integer from 1 to 2097152$/],
    ['{"source": "a-bucket/k", "destination": "b-bucket/k", "acl": "private", "jobId": "12"}', /^jobs\.ndjson line 3, jobId: "12" is not allowed/],
    ['{"source": "a-bucket/k", "destination": "b-bucket/k", "acl": "private", "kind": "bucket"}', /^jobs\.ndjson line 3, kind: "bucket" is not allowed/],
    ['{"source": "a-bucket/k", "destination": "b-bucket/k", "acl": "private", "secretKey": "x"}', /^jobs\.ndjson line 3, secretKey: looks like a credential/],
    ['{"source": "a-bucket/k", "destination": "b-bucket/k", "acl": "private", "colour": "red"}', /^jobs\.ndjson line 3, /],
  ])('%s → %s', (line, message) => {
    const err = errorOf(() => parseCopyLine(line, where, { profile: 'default' }, {}));
    expect(err.message).toMatch(message);
    expect(err.field.startsWith(where)).toBe(true);
  });
});

describe('parseCopyFromFileArgs', () => {
  it('is undefined without --from-file (the one-object command line)', () => {
    expect(parseCopyFromFileArgs(['a-bucket/k', 'b-bucket/k', '--acl', 'private'])).toBeUndefined();
    expect(parseCopyFromFileArgs(['--from-file', 'x', '--help'])).toBeUndefined();
  });

  it('turns the copy and enqueue flags into defaults for every line', () => {
    const request = parseCopyFromFileArgs(['--from-file', '-', '--acl', 'private', '--metadata', 'owner=alice', '--timeout-ms', '60000', '--attempts', '3', '--queue', 'q1', '--json']);
    expect(request).toEqual({
      path: '-',
      defaults: { acl: 'private', profile: 'default', metadata: { owner: 'alice' }, timeoutMs: 60000 },
      options: { attempts: 3 },
      globals: { overrides: { redisUrl: undefined, queue: 'q1', prefix: undefined }, json: true },
    });
  });

  it.each([
    [['--from-file', 'jobs.ndjson', 'a-bucket/k'], /unexpected argument: with --from-file/],
    [['--from-file', 'jobs.ndjson', '--job-id', 'x'], /^--job-id: cannot be used with --from-file: give each line its own "jobId"$/],
    [['--from-file', 'jobs.ndjson', '--wait'], /^--wait: cannot be used with --from-file/],
    [['--from-file', 'jobs.ndjson', '--if-match', 'abc'], /^--if-match: cannot be used with --from-file/],
    [['--from-file=', '--acl', 'private'], /^--from-file: needs a file name, or - for stdin$/],
  ])('%j is a usage error', (argv, message) => {
    expect(errorOf(() => parseCopyFromFileArgs(argv)).message).toMatch(message);
  });
});
