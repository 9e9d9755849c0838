/**
 * A run's spec in words, for the dry run, `run show` and the dashboard's run page: which objects it
 * covers and what it does to each. Pure.
 */
import { formatCount } from './progress.js';
import type { MigrationSpec } from './migration.js';

const pairs = (entries: Record<string, string>, sep: string): string[] => Object.entries(entries).map(([k, v]) => `${k}${sep}${v}`);

/** What the run does to each object: its changes, and the ACL where the run writes one. */
export function describeChanges(spec: Partial<MigrationSpec>): string {
  const op = spec.operation;
  if (op?.kind === 'acl') return `ACL ${op.acl}`;
  if (op?.kind === 'copy') {
    const options = [`ACL ${op.acl}`, ...(op.storageClass === undefined ? [] : [op.storageClass]), ...pairs(op.metadata ?? {}, '=').map((p) => `metadata ${p}`), ...(op.mimetype === undefined ? [] : [`Content-Type ${op.mimetype}`]), ...pairs(op.headers ?? {}, ': ')];
    return `copy to s3://${op.bucket}/${op.prefix} (${options.join(', ')})`;
  }
  if (op?.kind === 'tagging') return `${op.mode === 'merge' ? 'merge' : 'replace'} tags ${pairs(op.tags, '=').join(', ')}${op.remove === undefined ? '' : `; remove ${op.remove.join(', ')}`}`;
  const parts: string[] = [];
  for (const p of pairs(spec.set ?? {}, '=')) parts.push(`set ${p}`);
  for (const k of spec.remove ?? []) parts.push(`remove ${k}`);
  if (spec.mimetypeFromExtension === true) parts.push('Content-Type from the extension');
  parts.push(...pairs(spec.headers ?? {}, ': '));
  parts.push(`ACL ${spec.acl ?? '-'}`);
  return parts.join('; ');
}

/** Which objects the run covers: a prefix (and filter), or a manifest's rows. */
export function describeSelection(spec: Partial<MigrationSpec>): string {
  if (spec.manifest !== undefined) return `of s3://${spec.bucket ?? '?'} named in the manifest ${spec.manifest}`;
  const parts = [`s3://${spec.bucket ?? '?'}/${spec.prefix ?? ''}`];
  if (spec.filter?.glob !== undefined) parts.push(`keys matching ${spec.filter.glob}`);
  if (spec.filter?.minSize !== undefined) parts.push(`at least ${formatCount(spec.filter.minSize)} bytes`);
  if (spec.filter?.maxSize !== undefined) parts.push(`at most ${formatCount(spec.filter.maxSize)} bytes`);
  return parts.join(', ');
}

/** The command of each kind of run: a metadata rewrite's, or its operation's. */
export const RUN_COMMANDS = { metadata: 'migrate-metadata', tagging: 'tag-run', acl: 'acl-run', copy: 'copy-run' } as const;

/** The command that runs a spec (and resumes it). */
export function runCommandOf(spec: Partial<MigrationSpec> | undefined): string {
  return RUN_COMMANDS[spec?.operation?.kind ?? 'metadata'];
}

/** How to continue an interrupted or unfinished run, with the command that started it. */
export function resumeHint(runId: string, spec?: Partial<MigrationSpec> | undefined): string {
  return `s3jobs ${runCommandOf(spec)} --resume ${runId}`;
}
