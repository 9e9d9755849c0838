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
 * One writer at a time: callers hold the run's lease.
 */
import { closeSync, existsSync, ftruncateSync, fstatSync, openSync, readSync, writeFileSync, appendFileSync } from 'node:fs';
import { REPORT_HEADER, type RunStore } from '../../shared/runs/index.js';

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

export class ReportFile {
  readonly path: string;
  /** Whether the next drain still has to look for rows a killed writer appended but did not delete. */
  #checkTail = true;

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
    } finally {
      closeSync(fd);
    }
    return { report, found: true };
  }

  /** Moves every row waiting in Redis into the file; returns how many were written. */
  async drain(store: RunStore, runId: string): Promise<number> {
    let written = 0;
    for (;;) {
      const { ids, rows } = await store.readOutcomes(runId, DRAIN_BATCH);
      if (rows.length === 0) return written;
      let skip = 0;
      if (this.#checkTail) {
        skip = rowsAlreadyWritten(this.#tail(rows), rows);
        this.#checkTail = false;
      }
      if (skip < rows.length) appendFileSync(this.path, rows.slice(skip).map((r) => `${r}\n`).join(''));
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
