/**
 * A manifest as the input of a bulk run, in place of a bucket listing: a CSV of
 * `bucket,key[,versionId]` (keys URL-encoded, as S3 Inventory and S3 Batch Operations write them),
 * or an S3 Inventory `manifest.json` naming CSV files (gzip or not). It implements the listing
 * interface the run driver reads (`listPages`), so a manifest run is resumable, windowed and
 * batched exactly like a listed one.
 *
 * Invariants:
 * - Memory is flat: files are read as streams (zlib for `.gz`), one page of rows at a time.
 * - The position is a continuation token: `{ file, row }` of the next row (file index in the
 *   manifest, row number in that file). A run saves it with each page; a resumed run skips to it
 *   (reading the file from its start: a gzip stream cannot be entered in the middle).
 * - An Inventory file is checked against the MD5 the manifest gives for it before any of its rows
 *   is used (a pass over the file): a corrupted or truncated file stops the run, naming the file.
 * - A bad row never stops the run: it becomes an object with a `problem` (wrong number of columns,
 *   an undecodable key, another bucket than the run's, a key S3 cannot have), which the driver
 *   reports as a failed task. Blank lines are skipped, not counted.
 */
import { createHash } from 'node:crypto';
import { createReadStream, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { S3JobsError, ValidationError } from '../../shared/errors.js';
import type { ListedObject, ListOptions, ListPage } from '../../shared/s3/index.js';
import { assertKey } from '../../shared/s3/validation.js';

/** A row of a manifest: an object to act on, maybe one version of it, or why the row is unusable. */
export interface ManifestObject extends ListedObject {
  /** The bucket the row names (the run's, unless the row has a problem). */
  bucket: string;
  versionId?: string | undefined;
  /** Set for a bad row: what is wrong with it (the row is reported failed, nothing is done). */
  problem?: string | undefined;
  /** Where the row is: `<file> line <n>`, for messages. */
  where: string;
}

/** Where a manifest lives: a local path or `s3://bucket/key`. */
export type ManifestLocation = { kind: 'file'; path: string } | { kind: 's3'; bucket: string; key: string };

/** Opens objects of a store by bucket and key (the producer's credentials). */
export type OpenObject = (bucket: string, key: string) => Promise<Readable>;

/** One CSV file of the manifest and what it says about its columns. */
interface ManifestFile {
  /** Local path or S3 key. */
  name: string;
  location: ManifestLocation;
  gzip: boolean;
  /** Hex MD5 of the file's bytes as stored (Inventory's MD5checksum). */
  md5?: string | undefined;
  columns: { bucket: number; key: number; versionId: number | undefined; count: number | undefined };
}

const PLAIN_COLUMNS = { bucket: 0, key: 1, versionId: 2, count: undefined };

/** Parses `FILE` or `s3://bucket/key`; ValidationError naming `field`. */
export function parseManifestLocation(raw: string, field = 'manifest'): ManifestLocation {
  if (raw.startsWith('s3://')) {
    const rest = raw.slice('s3://'.length);
    const slash = rest.indexOf('/');
    if (slash <= 0 || slash === rest.length - 1) throw new ValidationError(field, `${JSON.stringify(raw)} is not s3://bucket/key`);
    return { kind: 's3', bucket: rest.slice(0, slash), key: rest.slice(slash + 1) };
  }
  if (raw.trim() === '') throw new ValidationError(field, 'needs a file path or s3://bucket/key');
  return { kind: 'file', path: resolve(raw) };
}

/** Pure: the fields of one CSV line (RFC 4180 quoting; Inventory quotes every field). */
export function csvLine(line: string): string[] {
  const fields: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (quoted) {
      if (c === '"' && line[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      fields.push(field);
      field = '';
    } else field += c;
  }
  fields.push(field);
  return fields;
}

/** Pure: a key as S3 Inventory URL-encodes it (`+` for a space, `%2B` for a plus) back to the key. */
export function decodeManifestKey(encoded: string): string {
  return decodeURIComponent(encoded.replace(/\+/g, ' '));
}

/** Pure: one row into an object of `bucket` (the run's), or one with a `problem`. */
export function manifestRow(fields: readonly string[], columns: ManifestFile['columns'], bucket: string, where: string): ManifestObject {
  const base = { size: 0, etag: '', lastModified: undefined, storageClass: undefined, where };
  const raw = fields.join(',');
  const bad = (problem: string): ManifestObject => ({ ...base, bucket: fields[columns.bucket] ?? '', key: fields[columns.key] ?? raw, problem: `${where}: ${problem}` });
  if (columns.count === undefined ? fields.length !== 2 && fields.length !== 3 : fields.length !== columns.count)
    return bad(`${fields.length} column${fields.length === 1 ? '' : 's'}; a manifest row is ${columns.count === undefined ? 'bucket,key or bucket,key,versionId' : `${columns.count} columns as its fileSchema says`}`);
  const rowBucket = fields[columns.bucket]!;
  if (rowBucket !== bucket) return bad(`names bucket ${JSON.stringify(rowBucket)}; this run is over bucket ${JSON.stringify(bucket)}`);
  let key: string;
  try {
    key = decodeManifestKey(fields[columns.key]!);
  } catch {
    return bad(`key ${JSON.stringify(fields[columns.key])} is not URL-encoded correctly (S3 Inventory encodes keys: %XX, + for a space)`);
  }
  try {
    assertKey(key, 'key');
  } catch (err) {
    return { ...bad(err instanceof Error ? err.message : String(err)), key };
  }
  const versionId = columns.versionId === undefined ? undefined : fields[columns.versionId];
  return { ...base, bucket, key, ...(versionId === undefined || versionId === '' ? {} : { versionId }) };
}

/** Reads `manifest.json` (S3 Inventory): its CSV files, in order, with their checksums and columns. */
export function inventoryFiles(manifest: unknown, at: ManifestLocation): ManifestFile[] {
  const m = manifest as { fileFormat?: unknown; fileSchema?: unknown; files?: unknown; destinationBucket?: unknown } | null;
  if (m === null || typeof m !== 'object' || !Array.isArray(m.files)) throw new ValidationError('manifest', 'is not an S3 Inventory manifest.json: it has no "files" list');
  if (typeof m.fileFormat === 'string' && m.fileFormat.toUpperCase() !== 'CSV') throw new ValidationError('manifest', `lists ${m.fileFormat} files; only CSV inventories can be read`);
  const schema = typeof m.fileSchema === 'string' ? m.fileSchema.split(',').map((s) => s.trim().toLowerCase()) : ['bucket', 'key'];
  const index = (name: string) => schema.indexOf(name);
  if (index('bucket') < 0 || index('key') < 0) throw new ValidationError('manifest', `fileSchema ${JSON.stringify(m.fileSchema)} has no Bucket and Key columns`);
  const columns = { bucket: index('bucket'), key: index('key'), versionId: index('versionid') < 0 ? undefined : index('versionid'), count: schema.length };
  // Inventory names its destination as an ARN; its files are keys in that bucket.
  const arn = typeof m.destinationBucket === 'string' ? m.destinationBucket : undefined;
  const destination = arn?.startsWith('arn:aws:s3:::') ? arn.slice('arn:aws:s3:::'.length) : arn;
  return m.files.map((f: unknown, i: number) => {
    const file = f as { key?: unknown; MD5checksum?: unknown } | null;
    if (typeof file?.key !== 'string' || file.key === '') throw new ValidationError(`manifest.files[${i}].key`, 'must be the key of a CSV file');
    const location: ManifestLocation =
      at.kind === 'file' ? { kind: 'file', path: resolve(dirname(at.path), file.key) } : { kind: 's3', bucket: destination ?? at.bucket, key: file.key };
    return { name: file.key, location, gzip: file.key.endsWith('.gz'), md5: typeof file.MD5checksum === 'string' ? file.MD5checksum.toLowerCase() : undefined, columns };
  });
}

/** Position of the next row: `<file>:<row>` (the continuation token a run saves). */
export function encodePosition(file: number, row: number): string {
  return `m${file}:${row}`;
}

export function decodePosition(token: string | undefined): { file: number; row: number } {
  if (token === undefined) return { file: 0, row: 0 };
  const m = /^m(\d+):(\d+)$/.exec(token);
  if (m === null) throw new ValidationError('continuationToken', `${JSON.stringify(token)} is not a manifest position (a run over a listing cannot be resumed over a manifest)`);
  return { file: Number(m[1]), row: Number(m[2]) };
}

export class ManifestSource {
  readonly #location: ManifestLocation;
  readonly #bucket: string;
  readonly #open: OpenObject;
  #files: ManifestFile[] | undefined;
  /** Files whose checksum was verified by this process. */
  readonly #verified = new Set<number>();

  /** `bucket`: the run's bucket (rows naming another are bad rows); `open`: reads S3 objects. */
  constructor(location: ManifestLocation, bucket: string, open: OpenObject) {
    this.#location = location;
    this.#bucket = bucket;
    this.#open = open;
  }

  async #stream(location: ManifestLocation): Promise<Readable> {
    return location.kind === 'file' ? createReadStream(location.path) : this.#open(location.bucket, location.key);
  }

  /** The CSV files: the manifest itself, or the files of an Inventory manifest.json. */
  async files(): Promise<ManifestFile[]> {
    if (this.#files !== undefined) return this.#files;
    const name = this.#location.kind === 'file' ? this.#location.path : this.#location.key;
    if (name.endsWith('.json')) {
      const text = this.#location.kind === 'file' ? readFileSync(this.#location.path, 'utf8') : await streamText(await this.#stream(this.#location));
      let parsed: unknown;
      try {
        parsed = JSON.parse(text);
      } catch (err) {
        throw new ValidationError('manifest', `${name} is not JSON: ${(err as Error).message}`);
      }
      this.#files = inventoryFiles(parsed, this.#location);
    } else {
      this.#files = [{ name, location: this.#location, gzip: name.endsWith('.gz'), columns: PLAIN_COLUMNS }];
    }
    return this.#files;
  }

  /** Checks a file's bytes against the MD5 the manifest gives for it (once per process). */
  async #verify(index: number, file: ManifestFile): Promise<void> {
    if (file.md5 === undefined || this.#verified.has(index)) return;
    const hash = createHash('md5');
    for await (const chunk of await this.#stream(file.location)) hash.update(chunk as Buffer);
    const actual = hash.digest('hex');
    if (actual !== file.md5) throw new S3JobsError('S3JOBS_MANIFEST_CHECKSUM', `manifest file ${file.name}: MD5 ${actual} differs from the manifest's ${file.md5} (corrupted or replaced); no row of it was used`);
    this.#verified.add(index);
  }

  /**
   * Pages of up to `pageSize` rows from the position in `continuationToken`; see the module
   * comment. A page's token is the position of the first row of the next page; the last page has
   * none (a manifest without rows gives one empty page, as an empty listing does).
   */
  async *listPages(options: ListOptions): AsyncGenerator<ListPage, void, undefined> {
    const pageSize = options.pageSize ?? 1000;
    let page: ManifestObject[] = [];
    for await (const { object, position } of this.#rows(decodePosition(options.continuationToken), options.signal)) {
      if (page.length === pageSize) {
        yield { objects: page, commonPrefixes: [], nextContinuationToken: position };
        page = [];
      }
      page.push(object);
    }
    yield { objects: page, commonPrefixes: [], nextContinuationToken: undefined };
  }

  /** Every row from `from` on, with its own position. */
  async *#rows(from: { file: number; row: number }, signal: AbortSignal | undefined): AsyncGenerator<{ object: ManifestObject; position: string }, void, undefined> {
    const files = await this.files();
    for (let file = from.file, skip = from.row; file < files.length; file++, skip = 0) {
      const f = files[file]!;
      await this.#verify(file, f);
      let source = await this.#stream(f.location);
      if (f.gzip) source = source.pipe(createGunzip());
      const lines = createInterface({ input: source, crlfDelay: Infinity });
      // Rows are counted without blank lines (the position); messages give the file's line number.
      let n = 0;
      let lineNumber = 0;
      try {
        for await (const line of lines) {
          lineNumber++;
          if (line.trim() === '') continue;
          const at = n++;
          if (at < skip) continue;
          signal?.throwIfAborted();
          yield { object: manifestRow(csvLine(line), f.columns, this.#bucket, `${f.name} line ${lineNumber}`), position: encodePosition(file, at) };
        }
      } finally {
        lines.close();
        source.destroy();
      }
    }
  }
}

async function streamText(stream: Readable): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}
