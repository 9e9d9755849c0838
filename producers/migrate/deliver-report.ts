/**
 * Delivering a run's completion report once the run has ended: written in S3 Batch Operations' form
 * next to the run's own CSV report (`<report>.batchops.csv`) and, when the run has somewhere to
 * upload it (`--report-to s3://bucket/prefix/`, kept with the run), uploaded as
 * `<prefix><runId>.csv` with a one-line `<prefix><runId>.summary.txt`.
 *
 * Whoever sees the run end delivers it: the run command that waited for it, or `s3jobs run report`
 * for a run left to the workers (`--no-wait`, or a producer stopped before they finished). Both go
 * through here, so the files and the summary line are the same either way.
 */
import { connectionOf, resolveProfile, type ConnectionProfile, type S3JobsConfig } from '../../shared/config/config.js';
import { ValidationError } from '../../shared/errors.js';
import type { RunInfo } from '../../shared/runs/index.js';
import { S3Bucket } from '../../shared/s3/index.js';
import { uploadFile } from '../../shared/s3/upload-file.js';
import { parseReportTo, summaryLine, writeBatchOpsReport, type BatchOpsTotals } from './batchops-report.js';
import { MIGRATION_KIND } from './migration.js';
import { finishedOf } from './progress.js';

/** Where a run's completion report is uploaded: `s3://bucket/prefix/` parsed. */
export interface ReportTarget {
  bucket: string;
  /** Empty, or ends with "/". */
  prefix: string;
}

/**
 * The profile the upload uses for runs that carry none of their own (sync runs: their spec's profile
 * is the workers', which this machine need not have): the producer's default connection.
 */
export const DEFAULT_UPLOAD_PROFILE = 'default';

/** Pure: the target as it is given and stored (`RunInfo.reportTo`). */
export function reportTargetText(target: ReportTarget): string {
  return `s3://${target.bucket}/${target.prefix}`;
}

/** Pure: the run's stored --report-to; undefined when it has none (or, never written by us, not s3://bucket/prefix/). */
export function storedReportTarget(run: Pick<RunInfo, 'reportTo'>): ReportTarget | undefined {
  return run.reportTo === undefined || run.reportTo === '' ? undefined : parseReportTo(run.reportTo);
}

/**
 * Pure: the connection profile the upload uses — a bulk run's own (its spec's `profile`, the one its
 * producer lists with), else DEFAULT_UPLOAD_PROFILE.
 */
export function uploadProfileOf(run: Pick<RunInfo, 'kind' | 'spec'>): string {
  if (run.kind === MIGRATION_KIND && run.spec !== null && typeof run.spec === 'object') {
    const profile = (run.spec as { profile?: unknown }).profile;
    if (typeof profile === 'string' && profile !== '') return profile;
  }
  return DEFAULT_UPLOAD_PROFILE;
}

/**
 * The upload's profile, resolved now: a command that waits for the run checks it before waiting,
 * not once the run has ended. ValidationError (exit code 2) naming --report-to otherwise.
 */
export function uploadProfile(config: S3JobsConfig, run: Pick<RunInfo, 'kind' | 'spec'>, target: ReportTarget): ConnectionProfile {
  const name = uploadProfileOf(run);
  try {
    return resolveProfile(config, name);
  } catch (err) {
    const reason = err instanceof Error ? err.message.replace('on this worker', 'for this producer') : String(err);
    throw new ValidationError('--report-to', `the report is uploaded to ${reportTargetText(target)} with profile "${name}" (${name === DEFAULT_UPLOAD_PROFILE ? 'the default' : "the run's"}), but ${reason}`);
  }
}

export interface DeliveredReport {
  /** The Batch Operations CSV written next to the run's report. */
  path: string;
  /** `s3://bucket/key` of the uploaded CSV; undefined without a target. */
  uploadedTo: string | undefined;
  totals: BatchOpsTotals;
  /** The summary line (`summaryLine`): what the run commands print on stderr, and the summary file holds. */
  line: string;
  /**
   * Set when the report holds fewer tasks than the run finished (its earlier rows were drained into
   * a report on another machine): then nothing is uploaded, since a partial report handed on as the
   * run's would say objects were never processed.
   */
  incomplete?: { tasks: number; finished: number } | undefined;
}

/**
 * Writes `<reportPath>.batchops.csv` from the run's CSV report and, with a target, uploads it and
 * its summary. Call it once the run has ended and its report is fully drained: the files are
 * written whole each time (delivering again replaces them).
 */
export async function deliverBatchOpsReport(
  config: S3JobsConfig,
  run: Pick<RunInfo, 'id' | 'kind' | 'spec' | 'completed' | 'deadLettered' | 'cancelled'>,
  reportPath: string,
  target: ReportTarget | undefined,
): Promise<DeliveredReport> {
  const local = `${reportPath}.batchops.csv`;
  // Resolved before the local file is written: a profile missing here fails before any work.
  const profile = target === undefined ? undefined : uploadProfile(config, run, target);
  const totals = await writeBatchOpsReport(reportPath, local);
  const tasks = totals.succeeded + totals.failed;
  const finished = finishedOf(run);
  if (tasks < finished) {
    const where = `${local} (partial: ${tasks} of the run's ${finished} tasks; the others' rows were drained into the report where the run started${target === undefined ? '' : ', so it was not uploaded'})`;
    return { path: local, uploadedTo: undefined, totals, line: summaryLine(run.id, totals, where), incomplete: { tasks, finished } };
  }
  if (target === undefined || profile === undefined) return { path: local, uploadedTo: undefined, totals, line: summaryLine(run.id, totals, local) };
  const uploadedTo = `s3://${target.bucket}/${target.prefix}${run.id}.csv`;
  const line = summaryLine(run.id, totals, uploadedTo);
  const bucket = new S3Bucket({ ...connectionOf(profile, target.bucket), timeout: profile.requestTimeoutMs ?? 20_000 });
  try {
    // Any size: a billion-row run's report is far above one PUT's 5 GiB; it goes up in parts.
    await uploadFile(bucket, `${target.prefix}${run.id}.csv`, local, { contentType: 'text/csv' });
    await bucket.put(`${target.prefix}${run.id}.summary.txt`, `${line}\n`, { mimetype: 'text/plain' });
  } finally {
    await bucket.close().catch(() => undefined);
  }
  return { path: local, uploadedTo, totals, line };
}
