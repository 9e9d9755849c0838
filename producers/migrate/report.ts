/**
 * A run's CSV completion report on disk, fed from the run store's outcome stream.
 *
 * Invariant: every object of the run appears in the report exactly once, even when a producer is
 * killed at any point. Rows are appended in stream order and deleted from Redis only after the
 * append, so a kill in between leaves rows that are both in the file and still at the head of the
 * stream. The first drain after opening a report recognises them — the file then ends with the
 * first rows of the stream — and deletes them without writing them again. One object has one row
 * (the store's bitmap), so a row found both at the end of the file and at the head of the stream
 * can only be such a repeat.
 *
 * A row marked `revises` (an object dead-lettered, then completed by a retry from the dead-letter
 * queue) replaces the object's dead-lettered row: the file is rewritten without that row (to a
 * temporary file, renamed over it) and the batch appended, so the object keeps one row. Revisions
 * are rare (an operator's retries), so the whole file is read for them.
 *
 * One writer at a time: callers hold the run's lease.
 */
import { closeSync, existsSync, ftruncateSync, fstatSync, openSync, readFileSync, readSync, renameSync, writeFileSync, appendFileSync } from 'node:fs';
import { REPORT_HEADER, REPORT_HEADER_V1, type RunStore } from '../../shared/runs/index.js';
import { csvLine } from './manifest-source.js';

/** Rows read from the stream per drain round (one append, one XDEL). */
export const DRAIN_BATCH = 1000;

/**
 * How many of `rows` (the head of the stream) the file already ends with, as whole lines. Pure:
 * `tail` is the end of the file, at least as long as all of `rows` with their newlines.
 */
export function rowsAlreadyWritten(tail: Buffer, rows: readonly string[]): number {
  const joined = Buffer.from(rows.map((r) => `${r}\n`).join(''));
  const ends: number[] = [];
  let offset = 0;
  for (const row of rows) {
    offset += Buffer.byteLength(row) + 1;
    ends.push(offset);
  }
  for (let k = rows.length; k >= 1; k--) {
    const length = ends[k - 1]!;
    if (length > tail.length) continue;
    // The k rows must be whole lines: preceded by a newline, or be the whole file's tail start.
    const start = tail.length - length;
    if (!tail.subarray(start).equals(joined.subarray(0, length))) continue;
    if (start === 0 || tail[start - 1] === 0x0a) return k;
  }
  return 0;
}

/** End of the CSV record starting at `start` (the index of its newline, or the text's length). Pure. */
export function csvRecordEnd(text: string, start: number): number {
  let quoted = false;
  for (let i = start; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22) quoted = !quoted; // a doubled quote toggles twice
    else if (c === 0x0a && !quoted) return i;
  }
  return text.length;
}

/** The start of a row up to its status, `bucket,key,` (as csvField wrote them), or undefined. Pure. */
export function rowObjectPrefix(row: string): string | undefined {
  let fields = 0;
  let quoted = false;
  for (let i = 0; i < row.length; i++) {
    const c = row.charCodeAt(i);
    if (c === 0x22) quoted = !quoted;
    else if (c === 0x2c && !quoted && ++fields === 2) return row.slice(0, i + 1);
  }
  return undefined;
}

/**
 * A row without its last field (version_id): what goes into a report begun before that column
 * (REPORT_HEADER_V1), so that a run resumed by a newer s3jobs keeps one column count. Pure.
 */
export function withoutLastField(row: string): string {
  let quoted = false;
  let last = -1;
  for (let i = 0; i < row.length; i++) {
    const c = row.charCodeAt(i);
    if (c === 0x22) quoted = !quoted;
    else if (c === 0x2c && !quoted) last = i;
  }
  return last < 0 ? row : row.slice(0, last);
}

/** The version_id field of a report row (its ninth; '' in rows written before that column). Pure. */
export function rowVersionId(row: string): string {
  return csvLine(row)[8] ?? '';
}

/**
 * Pure: the report `text` with the dead-lettered row of every revised object removed, then `rows`
 * appended — where a revision's dead-lettered row is earlier in `rows` itself, that one is dropped
 * instead. An object is its bucket, key and version (a manifest may name two versions of a key).
 * The header (first line) is kept.
 */
export function applyRevisions(text: string, rows: readonly { row: string; revises: boolean }[]): string {
  const isDeadRowOf = (revision: string, prefix: string, record: string): boolean =>
    record.startsWith(`${prefix}dead-lettered,`) && rowVersionId(record) === rowVersionId(revision);
  const pending: { prefix: string; revision: string }[] = [];
  const batch = [...rows];
  for (let i = 0; i < batch.length; i++) {
    if (!batch[i]!.revises) continue;
    const revision = batch[i]!.row;
    const prefix = rowObjectPrefix(revision);
    if (prefix === undefined) continue;
    const earlier = batch.findIndex((r, j) => j < i && !r.revises && isDeadRowOf(revision, prefix, r.row));
    if (earlier >= 0) {
      batch.splice(earlier, 1);
      i--;
    } else pending.push({ prefix, revision });
  }
  let out = '';
  let pos = 0;
  const headerEnd = text.indexOf('\n');
  if (headerEnd >= 0) {
    out = text.slice(0, headerEnd + 1);
    pos = headerEnd + 1;
  }
  while (pos < text.length) {
    const end = csvRecordEnd(text, pos);
    const record = text.slice(pos, end);
    const match = pending.findIndex((p) => isDeadRowOf(p.revision, p.prefix, record));
    if (match >= 0) pending.splice(match, 1);
    else out += `${record}\n`;
    pos = end + 1;
  }
  return out + batch.map((r) => `${r.row}\n`).join('');
}

export class ReportFile {
  readonly path: string;
  /** Whether the next drain still has to look for rows a killed writer appended but did not delete. */
  #checkTail = true;
  /** The file was begun with REPORT_HEADER_V1 (no version_id column): rows are written without it. */
  #v1 = false;

  private constructor(path: string) {
    this.path = path;
  }

  /**
   * Opens the report of a run: `fresh` (a run just created) starts it over with the header line;
   * otherwise it is continued — created with its header when missing, and a torn last line (a
   * writer killed mid-append) cut off (its rows are still in the stream). `found` is false when
   * a report that should have existed was not there (its earlier rows are elsewhere).
   */
  static open(path: string, fresh: boolean): { report: ReportFile; found: boolean } {
    const report = new ReportFile(path);
    if (fresh || !existsSync(path)) {
      writeFileSync(path, `${REPORT_HEADER}\n`);
      report.#checkTail = false;
      return { report, found: fresh };
    }
    const fd = openSync(path, 'r+');
    try {
      const size = fstatSync(fd).size;
      if (size === 0) {
        writeFileSync(fd, `${REPORT_HEADER}\n`);
        return { report, found: true };
      }
      // Cut back to the last newline (the header always ends with one).
      const chunk = Buffer.alloc(Math.min(size, 64 * 1024));
      let end = size;
      while (end > 0) {
        const start = Math.max(0, end - chunk.length);
        const read = readSync(fd, chunk, 0, end - start, start);
        const nl = chunk.subarray(0, read).lastIndexOf(0x0a);
        if (nl >= 0) {
          end = start + nl + 1;
          break;
        }
        end = start;
      }
      if (end < size) ftruncateSync(fd, end);
      if (end === 0) writeFileSync(fd, `${REPORT_HEADER}\n`);
      else {
        const head = Buffer.alloc(Math.min(end, REPORT_HEADER_V1.length + 1));
        readSync(fd, head, 0, head.length, 0);
        report.#v1 = head.toString('utf8') === `${REPORT_HEADER_V1}\n`;
      }
    } finally {
      closeSync(fd);
    }
    return { report, found: true };
  }

  /** Moves every row waiting in Redis into the file; returns how many were written. */
  async drain(store: RunStore, runId: string): Promise<number> {
    let written = 0;
    for (;;) {
      const read = await store.readOutcomes(runId, DRAIN_BATCH);
      const { ids, revises } = read;
      const rows = this.#v1 ? read.rows.map(withoutLastField) : read.rows;
      if (rows.length === 0) return written;
      let skip = 0;
      if (this.#checkTail) {
        skip = rowsAlreadyWritten(this.#tail(rows), rows);
        this.#checkTail = false;
      }
      if (revises.slice(skip).some(Boolean)) {
        const text = applyRevisions(readFileSync(this.path, 'utf8'), rows.slice(skip).map((row, i) => ({ row, revises: revises[skip + i] === true })));
        writeFileSync(`${this.path}.tmp`, text);
        renameSync(`${this.path}.tmp`, this.path);
      } else if (skip < rows.length) appendFileSync(this.path, rows.slice(skip).map((r) => `${r}\n`).join(''));
      await store.ackOutcomes(runId, ids);
      written += rows.length - skip;
    }
  }

  /** The end of the file, as long as `rows` would be written (plus the newline before them). */
  #tail(rows: readonly string[]): Buffer {
    const want = rows.reduce((n, r) => n + Buffer.byteLength(r) + 1, 0) + 1;
    const fd = openSync(this.path, 'r');
    try {
      const size = fstatSync(fd).size;
      const length = Math.min(size, want);
      const buffer = Buffer.alloc(length);
      readSync(fd, buffer, 0, length, size - length);
      return buffer;
    } finally {
      closeSync(fd);
    }
  }
}
