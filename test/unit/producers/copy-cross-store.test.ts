/** `s3jobs copy --from-profile` and the copy job's sourceProfile: the command line and the schema. */
import { describe, expect, it } from 'vitest';
import { parseCopyArgs } from '../../../producers/cli/copy.js';
import { validateJob } from '../../../shared/jobs/index.js';
import { expectUsage } from './expect-usage.js';

describe('copy between stores', () => {
  it('--from-profile sets sourceProfile, --profile the destination profile (flags between the positionals)', () => {
    const parsed = parseCopyArgs(['--from-profile', 'onprem', 'src/videos/a.mp4', '--profile', 'backup', 'dst/a.mp4', '--acl', 'private']);
    if (parsed.help) throw new Error('expected a request');
    expect(parsed.payload).toEqual({
      kind: 'copy',
      profile: 'backup',
      sourceProfile: 'onprem',
      source: { bucket: 'src', key: 'videos/a.mp4' },
      destination: { bucket: 'dst', key: 'a.mp4' },
      acl: 'private',
    });
  });

  it('a bad source profile name is refused naming --from-profile', () => {
    expectUsage(() => parseCopyArgs(['--from-profile', 'on prem', 'src/a', 'dst/a', '--acl', 'private']), '--from-profile', /profile name of 1-64 letters/);
  });

  it('the schema refuses a malformed sourceProfile, naming the field', () => {
    const job = { kind: 'copy', profile: 'backup', sourceProfile: '', source: { bucket: 'src', key: 'a' }, destination: { bucket: 'dst', key: 'a' }, acl: 'private' };
    expect(() => validateJob(job)).toThrow(/^sourceProfile: must be a profile name/);
    expect(validateJob({ ...job, sourceProfile: 'onprem' })).toMatchObject({ sourceProfile: 'onprem' });
  });
});
