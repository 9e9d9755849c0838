/** Human output of the CLI: pure formatting of statuses, counts, dead-letter pages and help lists. */
import { describe, expect, it } from 'vitest';
import { formatList, formatRecord } from '../../../producers/cli/dlq.js';
import { wrapList } from '../../../producers/cli/help.js';
import { formatCounts, formatStatus } from '../../../producers/cli/status.js';
import type { DeadLetterRecord } from '../../../shared/queue/dead-letter.js';

const T = Date.UTC(2024, 4, 1, 12, 0, 0);

const record: DeadLetterRecord = {
  jobId: 'copy-1',
  queue: 'q',
  name: 'copy',
  kind: 'copy',
  payload: { kind: 'copy', acl: 'private' },
  error: { code: 'NoSuchKey', message: 'gone', retryable: false, status: 404 },
  attemptsMade: 1,
  reason: 'permanent',
  enqueuedAt: T - 1000,
  failedAt: T - 10,
  deadLetteredAt: T,
};

describe('formatStatus', () => {
  it('a completed job shows its result', () => {
    const text = formatStatus({
      jobId: 'j',
      state: 'completed',
      kind: 'copy',
      attemptsMade: 1,
      result: { kind: 'copy', etag: '"e"', versionId: undefined, bytes: 3, multipart: false, largeTransfer: false, changed: true, durationMs: 4 },
      error: undefined,
      deadLetter: undefined,
      timestamps: { enqueuedAt: T, processedAt: T + 1, finishedAt: T + 5 },
    });
    expect(text).toBe(
      [
        'Job j: completed',
        '  kind:        copy',
        '  attempts:    1',
        '  enqueued:    2024-05-01T12:00:00.000Z',
        '  started:     2024-05-01T12:00:00.001Z',
        '  finished:    2024-05-01T12:00:00.005Z',
        '  result:      {"kind":"copy","etag":"\\"e\\"","bytes":3,"multipart":false,"largeTransfer":false,"changed":true,"durationMs":4}',
        '',
      ].join('\n'),
    );
  });

  it('a dead-lettered job shows the error and where to look', () => {
    const text = formatStatus({ jobId: 'copy-1', state: 'dead-lettered', kind: 'copy', attemptsMade: 1, result: undefined, error: { code: 'NoSuchKey', message: 'gone' }, deadLetter: record, timestamps: { enqueuedAt: T, processedAt: undefined, finishedAt: undefined } });
    expect(text).toContain('  started:     -\n');
    expect(text).toContain('  error:       NoSuchKey: gone\n');
    expect(text).toContain('  dead-letter: 2024-05-01T12:00:00.000Z, reason: permanent (s3jobs dlq show copy-1)\n');
  });
});

describe('formatCounts', () => {
  it('every state in a fixed order, missing ones as 0', () => {
    expect(formatCounts('q', '{s3jobs}', { waiting: 3, 'dead-lettered': 1 })).toBe(
      'Queue q (prefix {s3jobs}):\n  waiting               3\n  prioritized           0\n  delayed               0\n  active                0\n  completed             0\n  failed                0\n  dead-lettered         1\n',
    );
  });
});

describe('formatList / formatRecord', () => {
  const item = { jobId: 'copy-1', kind: 'copy', errorCode: 'NoSuchKey', message: 'line one\nline two', attemptsMade: 1, reason: 'permanent' as const, deadLetteredAt: T };

  it('a table, newest first, messages on one line', () => {
    expect(formatList({ total: 1, offset: 0, items: [item] }, 'q-dead')).toBe(
      '1 dead-lettered job in q-dead, newest first (showing 1-1):\n' +
        'JOB ID  KIND  ERROR      ATTEMPTS  DEAD-LETTERED AT          MESSAGE\n' +
        'copy-1  copy  NoSuchKey  1         2024-05-01T12:00:00.000Z  line one line two\n',
    );
  });

  it('says so when empty or past the end', () => {
    expect(formatList({ total: 0, offset: 0, items: [] }, 'q-dead')).toBe('No dead-lettered jobs in q-dead.\n');
    expect(formatList({ total: 3, offset: 10, items: [] }, 'q-dead')).toBe('3 dead-lettered jobs in q-dead; none at offset 10.\n');
  });

  it('a record with its payload and how to retry it', () => {
    const text = formatRecord(record);
    expect(text).toMatch(/^Job copy-1 \(copy\) dead-lettered at 2024-05-01T12:00:00.000Z, reason: permanent\n/);
    expect(text).toContain('  error:     NoSuchKey: gone [HTTP 404]\n');
    expect(text).toContain('    {\n      "kind": "copy",\n      "acl": "private"\n    }\n');
    expect(text).toContain('Retry it with: s3jobs dlq retry copy-1 [--patch JSON]\n');
  });
});

describe('wrapList', () => {
  it('wraps at the width with continuation lines indented', () => {
    expect(wrapList(['aaaa', 'bbbb', 'cccc'], 2, 14)).toBe('aaaa, bbbb,\n  cccc');
    expect(wrapList(['a', 'b'], 4, 100)).toBe('a, b');
  });
});
