/**
 * The "Migration runs" page: a plain server-rendered table (no script), built by a pure function.
 * Every value is HTML-escaped: run ids and kinds come from producers, and stop reasons from errors.
 */
import type { MigrationRunSummary } from './runs.js';

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ESCAPES[c]!);
}

function time(ms: number | undefined): string {
  return ms === undefined || !Number.isFinite(ms) || ms <= 0 ? '–' : new Date(ms).toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z');
}

const COLUMNS = ['run', 'kind', 'state', 'listed', 'matched', 'enqueued', 'completed', 'changed', 'dead-lettered', 'created', 'updated', 'finished', 'stop reason'] as const;

function row(run: MigrationRunSummary): string {
  const cells = [
    run.id,
    run.kind,
    run.state,
    String(run.listed),
    String(run.matched),
    String(run.enqueued),
    String(run.completed),
    String(run.changed),
    String(run.deadLettered),
    time(run.createdAt),
    time(run.updatedAt),
    time(run.finishedAt),
    run.stopReason ?? '',
  ];
  return `<tr data-run-id="${escapeHtml(run.id)}">${cells.map((c) => `<td>${escapeHtml(c)}</td>`).join('')}</tr>`;
}

export interface RunsPageOptions {
  queue: string;
  /** Path of the queues UI, for the link back. */
  queuesPath: string;
  /** Path of the same list as JSON. */
  jsonPath: string;
  /** Lines about S3 endpoints workers hold jobs back for (open circuit breakers); none: all answer. */
  s3Breakers?: readonly string[] | undefined;
}

/** One line per open circuit breaker (the store stopped answering), or that every endpoint answers. */
function breakersLine(lines: readonly string[] | undefined): string {
  if (lines === undefined) return '';
  if (lines.length === 0) return '<p class="breakers">S3 endpoints: all answering (no circuit breaker open)</p>';
  return `<p class="breakers open"><strong>S3 unavailable:</strong></p><ul class="breakers">${lines.map((l) => `<li>${escapeHtml(l)}</li>`).join('')}</ul>`;
}

export function renderRunsPage(runs: readonly MigrationRunSummary[], options: RunsPageOptions): string {
  const body =
    runs.length === 0
      ? `<p class="empty">No migration runs recorded for queue “${escapeHtml(options.queue)}”.</p>`
      : `<table>
<thead><tr>${COLUMNS.map((c) => `<th>${escapeHtml(c)}</th>`).join('')}</tr></thead>
<tbody>
${runs.map(row).join('\n')}
</tbody>
</table>`;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Migration runs · s3jobs</title>
<style>
body { font: 14px/1.4 system-ui, sans-serif; margin: 2rem; color: #1f2933; }
table { border-collapse: collapse; }
th, td { border: 1px solid #cbd2d9; padding: .3rem .6rem; text-align: left; white-space: nowrap; }
th { background: #f0f4f8; }
td:nth-child(n+4):nth-child(-n+9) { text-align: right; font-variant-numeric: tabular-nums; }
.empty { color: #52606d; }
</style>
</head>
<body>
<h1>Migration runs</h1>
<p>Queue <strong>${escapeHtml(options.queue)}</strong> · <a href="${escapeHtml(options.queuesPath)}">queues</a> · <a href="${escapeHtml(options.jsonPath)}">JSON</a></p>
${breakersLine(options.s3Breakers)}
${body}
</body>
</html>
`;
}
