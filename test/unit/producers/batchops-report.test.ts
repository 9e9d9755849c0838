/** The completion report in S3 Batch Operations' form, derived from a run's report. */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { batchOpsRow, parseReportTo, summaryLine, writeBatchOpsReport } from '../../../producers/migrate/batchops-report.js';
import { REPORT_HEADER, REPORT_HEADER_V1 } from '../../../shared/runs/index.js';

describe('Batch Operations rows', () => {
  it('completed is succeeded with HTTP 200; the others are failed with their code', () => {
    expect(batchOpsRow(['b', 'k', 'completed', 'true', '', '', '1', '"e1"']).row).toBe('b,k,,succeeded,,200,"Successful; ETag ""e1"""');
    expect(batchOpsRow(['b', 'k', 'completed', 'false', '', '', '1', '']).row).toBe('b,k,,succeeded,,200,Successful (already as wanted: nothing written)');
    expect(batchOpsRow(['b', 'a,b', 'dead-lettered', '', 'NoSuchKey', 'gone', '1', '']).row).toBe('b,"a,b",,failed,NoSuchKey,404,gone');
    expect(batchOpsRow(['b', 'k', 'failed', '', 'InvalidManifestRow', 'm.csv line 3: 1 column', '0', '']).row).toBe('b,k,,failed,InvalidManifestRow,400,m.csv line 3: 1 column');
    expect(batchOpsRow(['b', 'k', 'cancelled', '', 'RunStopped', 'run stopped', '0', '']).row).toBe('b,k,,failed,RunStopped,,run stopped');
  });

  it("the VersionId column is the run report's version_id; a copy's destination follows Successful", () => {
    expect(batchOpsRow(['b', 'k', 'completed', 'true', '', '', '1', '"e1"', 'v-3']).row).toBe('b,k,v-3,succeeded,,200,"Successful; ETag ""e1"""');
    expect(batchOpsRow(['b', 'k', 'completed', 'true', '', 'copied to s3://d/p/k', '1', '"e2"', '']).row).toBe('b,k,,succeeded,,200,"Successful; copied to s3://d/p/k; ETag ""e2"""');
    expect(batchOpsRow(['b', 'k', 'dead-lettered', '', 'NoSuchVersion', 'gone', '3', '', 'v-9']).row).toBe('b,k,v-9,failed,NoSuchVersion,404,gone');
  });

  it('streams a report (quoted newlines included) into one row per task, without a header', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bo-'));
    const from = join(dir, 'r.csv');
    writeFileSync(from, `${REPORT_HEADER}\nb,k1,completed,true,,,1,\nb,k2,dead-lettered,,AccessDenied,"no\nway",1,\n`);
    const totals = await writeBatchOpsReport(from, join(dir, 'o.csv'));
    expect(totals).toEqual({ succeeded: 1, failed: 1 });
    expect(readFileSync(join(dir, 'o.csv'), 'utf8')).toBe('b,k1,,succeeded,,200,Successful\nb,k2,,failed,AccessDenied,403,"no\nway"\n');
    // A report begun before the version_id column (a resumed older run) reads the same.
    writeFileSync(from, `${REPORT_HEADER_V1}\nb,k1,completed,true,,,1,\n`);
    expect(await writeBatchOpsReport(from, join(dir, 'o1.csv'))).toEqual({ succeeded: 1, failed: 0 });
    expect(readFileSync(join(dir, 'o1.csv'), 'utf8')).toBe('b,k1,,succeeded,,200,Successful\n');
    expect(summaryLine('mig-1', totals, 's3://r/p/mig-1.csv')).toBe('Run mig-1: 2 tasks, 1 succeeded, 1 failed; completion report s3://r/p/mig-1.csv');
  });

  it('parses --report-to', () => {
    expect(parseReportTo('s3://reports/runs/')).toEqual({ bucket: 'reports', prefix: 'runs/' });
    expect(parseReportTo('s3://reports/runs')).toEqual({ bucket: 'reports', prefix: 'runs/' });
    expect(parseReportTo('s3://reports')).toEqual({ bucket: 'reports', prefix: '' });
    expect(parseReportTo('reports/runs')).toBeUndefined();
  });
});
