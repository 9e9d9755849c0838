/**
 * A run's completion report in the form S3 Batch Operations writes (Report_CSV_20180820): no
 * header, one row per task — Bucket, Key, VersionId, TaskStatus (`succeeded` / `failed`),
 * ErrorCode, HTTPStatusCode, ResultMessage — in the column order of the documented ReportSchema.
 * (AWS's own example rows put the HTTP status before the error code; tools reading these reports
 * should go by the schema.) It is derived from the run's own CSV report, streamed record by
 * record, so a report of millions of rows is never held in memory.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { csvField, REPORT_HEADER, REPORT_HEADER_V1 } from '../../shared/runs/index.js';
import { csvLine } from './manifest-source.js';

export const BATCH_OPS_SCHEMA = 'Bucket, Key, VersionId, TaskStatus, ErrorCode, HTTPStatusCode, ResultMessage';

/** HTTP statuses of the error codes a run reports most (S3's, and ours for rows never attempted). */
const STATUS_OF: Record<string, number> = {
  NoSuchKey: 404,
  NotFound: 404,
  NoSuchBucket: 404,
  NoSuchVersion: 404,
  AccessDenied: 403,
  PreconditionFailed: 412,
  InvalidArgument: 400,
  InvalidTag: 400,
  InvalidManifestRow: 400,
  S3JOBS_INVALID_INPUT: 400,
  S3JOBS_INVALID_JOB: 400,
  SlowDown: 503,
  ServiceUnavailable: 503,
  InternalError: 500,
};

export interface BatchOpsTotals {
  succeeded: number;
  failed: number;
}

/**
 * Pure: one row of our report (bucket, key, status, changed, error_code, message, attempts,
 * new_etag, version_id) as a Batch Operations row. `completed` is `succeeded`; dead-lettered,
 * failed and cancelled tasks are `failed`. A completed row's message (a copy's destination) follows
 * "Successful". Rows of reports written before the version_id column have no version.
 */
export function batchOpsRow(fields: readonly string[]): { row: string; succeeded: boolean } {
  const [bucket = '', key = '', status = '', changed = '', errorCode = '', message = '', , etag = '', versionId = ''] = fields;
  const succeeded = status === 'completed';
  const code = succeeded ? '' : status === 'cancelled' && errorCode === '' ? 'Cancelled' : errorCode;
  const http = succeeded ? 200 : STATUS_OF[code];
  const result = succeeded
    ? ['Successful' + (changed === 'false' ? ' (already as wanted: nothing written)' : ''), message, etag === '' ? '' : `ETag ${etag}`].filter((part) => part !== '').join('; ')
    : message || status;
  const row = [bucket, key, versionId, succeeded ? 'succeeded' : 'failed', code, http === undefined ? '' : String(http), result].map(csvField).join(',');
  return { row, succeeded };
}

/** Streams the run's report at `from` into a Batch Operations report at `to`; returns the totals. */
export async function writeBatchOpsReport(from: string, to: string): Promise<BatchOpsTotals> {
  const lines = createInterface({ input: createReadStream(from, 'utf8'), crlfDelay: Infinity });
  const out = createWriteStream(to);
  const totals: BatchOpsTotals = { succeeded: 0, failed: 0 };
  let record = '';
  let first = true;
  try {
    for await (const line of lines) {
      // A quoted field may hold newlines: a record ends where its quotes balance.
      record = record === '' ? line : `${record}\n${line}`;
      if ((record.match(/"/g)?.length ?? 0) % 2 === 1) continue;
      const text = record;
      record = '';
      if (first) {
        first = false;
        if (text === REPORT_HEADER || text === REPORT_HEADER_V1) continue;
      }
      if (text === '') continue;
      const { row, succeeded } = batchOpsRow(csvLine(text));
      if (succeeded) totals.succeeded++;
      else totals.failed++;
      if (!out.write(`${row}\n`)) await once(out, 'drain');
    }
  } finally {
    lines.close();
    out.end();
    await once(out, 'close');
  }
  return totals;
}

/** Pure: the summary line of a run's report. */
export function summaryLine(runId: string, totals: BatchOpsTotals, where: string): string {
  return `Run ${runId}: ${totals.succeeded + totals.failed} tasks, ${totals.succeeded} succeeded, ${totals.failed} failed; completion report ${where}`;
}

/** Parses `s3://bucket/prefix/` for --report-to (the prefix may be empty). */
export function parseReportTo(raw: string): { bucket: string; prefix: string } | undefined {
  const m = /^s3:\/\/([^/]+)\/?(.*)$/.exec(raw);
  if (m === null || m[1] === '') return undefined;
  const prefix = m[2] ?? '';
  return { bucket: m[1]!, prefix: prefix === '' || prefix.endsWith('/') ? prefix : `${prefix}/` };
}
