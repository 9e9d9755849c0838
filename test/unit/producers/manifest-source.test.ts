/** Reading manifests: CSV fields, Inventory's key encoding, rows into objects or bad rows, positions, files. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { csvLine, decodeManifestKey, decodePosition, encodePosition, inventoryFiles, ManifestSource, manifestRow, parseManifestLocation, type ManifestObject } from '../../../producers/migrate/manifest-source.js';

const plain = { bucket: 0, key: 1, versionId: 2, count: undefined };

describe('manifest rows', () => {
  it('splits quoted and unquoted CSV fields', () => {
    expect(csvLine('"b","a,b","v""1"')).toEqual(['b', 'a,b', 'v"1']);
    expect(csvLine('b,k')).toEqual(['b', 'k']);
  });

  it('decodes keys as S3 Inventory encodes them', () => {
    expect(decodeManifestKey('a+b%2Bc/%C3%A9.txt')).toBe('a b+c/é.txt');
    expect(() => decodeManifestKey('%E0%A4%A')).toThrow(URIError);
  });

  it('a good row is an object of the run bucket, with its version id', () => {
    const row = manifestRow(['media', 'x%2Fy+z', 'v1'], plain, 'media', 'm.csv line 3');
    expect(row).toMatchObject({ bucket: 'media', key: 'x/y z', versionId: 'v1' });
    expect(row.problem).toBeUndefined();
    expect(manifestRow(['media', 'k', ''], plain, 'media', 'w').versionId).toBeUndefined();
  });

  it.each<[string[], RegExp]>([
    [['media'], /m\.csv line 9: 1 column; a manifest row is bucket,key or bucket,key,versionId/],
    [['media', 'k', 'v', 'x'], /4 columns/],
    [['other', 'k'], /names bucket "other"; this run is over bucket "media"/],
    [['media', '%ZZ'], /is not URL-encoded correctly/],
    [['media', '%00'], /key/],
  ])('a bad row %j is an object with a problem, never an exception', (fields, problem) => {
    const row: ManifestObject = manifestRow(fields, plain, 'media', 'm.csv line 9');
    expect(row.problem).toMatch(problem);
  });

  it('positions round-trip; a listing token is refused', () => {
    expect(decodePosition(encodePosition(3, 1200))).toEqual({ file: 3, row: 1200 });
    expect(decodePosition(undefined)).toEqual({ file: 0, row: 0 });
    expect(() => decodePosition('1ueGcxLPRx1Tr')).toThrow(/not a manifest position/);
  });

  it('parses locations', () => {
    expect(parseManifestLocation('s3://inv/a/manifest.json')).toEqual({ kind: 's3', bucket: 'inv', key: 'a/manifest.json' });
    expect(() => parseManifestLocation('s3://inv/')).toThrow(/is not s3:\/\/bucket\/key/);
    expect(parseManifestLocation('x.csv')).toMatchObject({ kind: 'file' });
  });

  it('reads an Inventory manifest: its files, checksums and the columns of its schema', () => {
    const files = inventoryFiles({ fileFormat: 'CSV', fileSchema: 'Bucket, Key, VersionId, IsLatest', destinationBucket: 'arn:aws:s3:::dest', files: [{ key: 'd/a.csv.gz', MD5checksum: 'ABC' }] }, { kind: 's3', bucket: 'm', key: 'x/manifest.json' });
    expect(files).toEqual([{ name: 'd/a.csv.gz', location: { kind: 's3', bucket: 'dest', key: 'd/a.csv.gz' }, gzip: true, md5: 'abc', columns: { bucket: 0, key: 1, versionId: 2, count: 4 } }]);
    expect(() => inventoryFiles({ fileFormat: 'ORC', files: [] }, { kind: 's3', bucket: 'm', key: 'k' })).toThrow(/only CSV/);
    expect(() => inventoryFiles({}, { kind: 's3', bucket: 'm', key: 'k' })).toThrow(/no "files" list/);
  });
});

describe('ManifestSource pages', () => {
  const open = async () => {
    throw new Error('no S3 here');
  };

  it('pages over local files (gzip or not) and resumes from a page token', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mf-'));
    writeFileSync(join(dir, 'a.csv.gz'), gzipSync('"b","k1"\n"b","k2"\n\n"b","k3"\n'));
    writeFileSync(join(dir, 'b.csv'), '"b","k4"\n"b","k5"\n');
    writeFileSync(join(dir, 'manifest.json'), JSON.stringify({ fileFormat: 'CSV', fileSchema: 'Bucket, Key', files: [{ key: 'a.csv.gz' }, { key: 'b.csv' }] }));
    const source = new ManifestSource(parseManifestLocation(join(dir, 'manifest.json')), 'b', open);
    const pages = [];
    for await (const page of source.listPages({ pageSize: 2 })) pages.push({ keys: page.objects.map((o) => o.key), next: page.nextContinuationToken });
    expect(pages).toEqual([
      { keys: ['k1', 'k2'], next: 'm0:2' },
      { keys: ['k3', 'k4'], next: 'm1:1' },
      { keys: ['k5'], next: undefined },
    ]);
    const resumed = [];
    for await (const page of source.listPages({ pageSize: 2, continuationToken: 'm0:2' })) resumed.push(...page.objects.map((o) => o.key));
    expect(resumed).toEqual(['k3', 'k4', 'k5']);
    const empty = join(dir, 'empty.csv');
    writeFileSync(empty, '\n');
    const none = [];
    for await (const page of new ManifestSource(parseManifestLocation(empty), 'b', open).listPages({})) none.push(page);
    expect(none).toEqual([{ objects: [], commonPrefixes: [], nextContinuationToken: undefined }]);
  });
});
