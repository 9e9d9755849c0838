/** `--require-guard` on the commands that enqueue rewrites: carried in the job payload (and the migration's spec). Pure. */
import { describe, expect, it } from 'vitest';
import { parseMigrateArgs } from '../../../producers/cli/migrate.js';
import { parseRewriteMetadataArgs } from '../../../producers/cli/rewrite-metadata.js';
import { rewriteBatchFor, rewriteJobFor } from '../../../producers/migrate/migration.js';

describe('--require-guard', () => {
  it('rewrite-metadata: requireGuard true in the payload; absent without the flag', () => {
    const argv = ['photos/a.jpg', '--acl', 'private', '--set', 'owner=bob'];
    const with_ = parseRewriteMetadataArgs([...argv, '--require-guard']);
    const without = parseRewriteMetadataArgs(argv);
    if (with_.help || without.help) throw new Error('expected requests');
    expect(with_.payload).toMatchObject({ kind: 'metadata-rewrite', requireGuard: true });
    expect(without.payload).not.toHaveProperty('requireGuard');
  });

  it('migrate-metadata: in the spec (so in every job, single or batch); a spec without it keeps its run id', () => {
    const argv = ['--bucket', 'media', '--acl', 'private', '--set', 'owner=team'];
    const with_ = parseMigrateArgs([...argv, '--require-guard']);
    const without = parseMigrateArgs(argv);
    if (with_.help || without.help) throw new Error('expected requests');
    const spec = with_.request.spec!;
    expect(spec.requireGuard).toBe(true);
    expect(without.request.spec).not.toHaveProperty('requireGuard');
    expect(rewriteJobFor(spec, { key: 'a' }, 'r1', 0)).toMatchObject({ requireGuard: true });
    expect(rewriteBatchFor(spec, [{ key: 'a', slot: 0 }], 'r1')).toMatchObject({ requireGuard: true });
    expect(rewriteJobFor(without.request.spec!, { key: 'a' }, 'r1', 0)).not.toHaveProperty('requireGuard');
  });
});
