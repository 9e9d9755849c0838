/**
 * How `s3jobs doctor` shows its verdicts: a table for people, one JSON document for scripts. Pure.
 */
import type { ProbeResult } from '../../shared/s3/store-probe.js';
import { partCopyConditions, type StoreProfile } from '../../shared/s3/store-profile.js';

export interface DoctorReport {
  endpoint: string;
  bucket: string;
  profileName: string;
  at: string;
  results: ProbeResult[];
  /** The guarantees that do not hold there (empty: exit 0). */
  broken: string[];
  /** The profile workers will use for this endpoint (preset with the findings on top). */
  storeProfile: StoreProfile;
  /** Only what this run established (what is saved). */
  findings: Partial<StoreProfile>;
  scratch: { prefix: string; removed: number; left: number; bucket?: string | undefined; bucketDeleted?: boolean | undefined; error?: string | undefined };
  saved: { saved: true; key: string } | { saved: false; reason: string };
  interrupted: boolean;
}

/** The JSON document `--json` prints: the report as is, plus `ok`. */
export function reportJson(report: DoctorReport): Record<string, unknown> {
  return { ok: report.broken.length === 0 && !report.interrupted, ...report };
}

const VERDICT_TEXT: Record<ProbeResult['verdict'], string> = { ok: 'ok', warn: 'WARN', fail: 'FAIL', info: 'info', 'not checked': 'n/a' };

/** Splits `text` into lines of at most `width` characters, at spaces where it can. */
export function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/).filter((w) => w !== '')) {
    let rest = word;
    while (displayWidth(rest) > width) {
      if (line !== '') lines.push(line);
      line = '';
      let head = '';
      let used = 0;
      const chars = [...rest];
      let i = 0;
      for (; i < chars.length && used + charWidth(chars[i]!) <= width; i++) {
        head += chars[i]!;
        used += charWidth(chars[i]!);
      }
      lines.push(head);
      rest = chars.slice(i).join('');
    }
    if (rest === '') continue;
    if (line === '') line = rest;
    else if (displayWidth(line) + 1 + displayWidth(rest) <= width) line += ` ${rest}`;
    else {
      lines.push(line);
      line = rest;
    }
  }
  if (line !== '' || lines.length === 0) lines.push(line);
  return lines;
}

/**
 * Columns a character takes in a terminal: 2 for East Asian wide characters and emoji, else 1
 * (an approximation of Unicode's East Asian Width, enough to keep the table's columns straight).
 */
function charWidth(ch: string): number {
  const cp = ch.codePointAt(0) ?? 0;
  const wide =
    (cp >= 0x1100 && cp <= 0x115f) || (cp >= 0x2e80 && cp <= 0xa4cf) || (cp >= 0xac00 && cp <= 0xd7a3) || (cp >= 0xf900 && cp <= 0xfaff) || (cp >= 0xfe30 && cp <= 0xfe4f) || (cp >= 0xff00 && cp <= 0xff60) || (cp >= 0xffe0 && cp <= 0xffe6) || (cp >= 0x1f300 && cp <= 0x1faff) || (cp >= 0x20000 && cp <= 0x3fffd);
  return wide ? 2 : 1;
}

/** Terminal columns of `text`. */
export function displayWidth(text: string): number {
  let width = 0;
  for (const ch of text) width += charWidth(ch);
  return width;
}

function pad(text: string, width: number): string {
  return text + ' '.repeat(Math.max(0, width - displayWidth(text)));
}

const COLUMNS = [
  { title: 'VERDICT', width: 7 },
  { title: 'PROBE', width: 37 },
  { title: 'WHAT THE STORE DOES', width: 44 },
  { title: 'WHAT S3JOBS DOES', width: 44 },
] as const;

/** The results as a table, cells wrapped to fixed column widths. */
export function formatTable(results: readonly ProbeResult[]): string {
  const out: string[] = [];
  const row = (cells: readonly string[]): void => {
    const wrapped = cells.map((c, i) => wrap(c, COLUMNS[i]!.width));
    const height = Math.max(...wrapped.map((w) => w.length));
    for (let i = 0; i < height; i++) out.push(wrapped.map((w, c) => pad(w[i] ?? '', COLUMNS[c]!.width)).join('  ').trimEnd());
  };
  row(COLUMNS.map((c) => c.title));
  out.push(COLUMNS.map((c) => '-'.repeat(c.width)).join('  '));
  for (const r of results) row([VERDICT_TEXT[r.verdict], r.probe, r.store, r.s3jobs]);
  return `${out.join('\n')}\n`;
}

function profileLine(profile: StoreProfile): string {
  return `copyConditions=${profile.copyConditions} partCopyConditions=${partCopyConditions(profile)} multipartCompletionEtag=${profile.multipartCompletionEtag} ownedBucketCreate=${profile.ownedBucketCreate} replaceCopyTags=${profile.replaceCopyTags ?? 'unknown'} multipartCreateTags=${profile.multipartCreateTags ?? 'unknown'} (source: ${profile.source})`;
}

/** The whole human report: heading, table, the profile, cleanup, saving, and the conclusion. */
export function formatReport(report: DoctorReport): string {
  const lines = [`s3jobs doctor: ${report.endpoint}, bucket ${report.bucket} (profile "${report.profileName}"), ${report.at}`, '', formatTable(report.results)];
  lines.push(`Store profile workers use here: ${profileLine(report.storeProfile)}`);
  const s = report.scratch;
  const bucketNote = s.bucket === undefined ? '' : `; scratch bucket ${s.bucket} ${s.bucketDeleted === true ? 'deleted' : 'NOT deleted: delete it by hand'}`;
  if (s.error !== undefined && s.removed === 0 && report.results.some((r) => r.id === 'sigv4' && r.store.startsWith('no answer')))
    lines.push(`Scratch: the store did not answer, so nothing should be under ${s.prefix}; if it comes back and shows something there, remove it by hand`);
  else if (s.error !== undefined) lines.push(`Scratch: cleaning ${s.prefix} failed (${s.error}); remove it by hand${bucketNote}`);
  else if (s.left > 0) lines.push(`Scratch: removed ${s.removed} objects under ${s.prefix}, but ${s.left} are left: remove them by hand${bucketNote}`);
  else lines.push(`Scratch: removed ${s.removed} objects under ${s.prefix}; nothing left${bucketNote}`);
  lines.push(report.saved.saved ? `Findings saved in Redis at ${report.saved.key}; workers read them at start and every 5 minutes.` : `Findings not saved: ${report.saved.reason}.`);
  if (report.interrupted) lines.push('Interrupted: the probes that did not run are marked n/a.');
  else if (report.broken.length === 0) lines.push('Every s3jobs guarantee holds on this store.');
  else lines.push(`${report.broken.length === 1 ? 'This s3jobs guarantee does' : `These ${report.broken.length} s3jobs guarantees do`} not hold on this store: ${report.broken.join('; ')}.`);
  return `${lines.join('\n')}\n`;
}
