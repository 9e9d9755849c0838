/**
 * Requests `s3jobs doctor` makes by hand: headers the client would never send (the older copy
 * condition names, a REPLACE copy without the system headers, a wrong secret), and answers it wants
 * to see as they are (an empty ETag, an unquoted one, a 200 where a 409 was documented). Errors are
 * answers here, not exceptions: a 412 is an observation. Only the network failing throws.
 */
import { S3Error } from '../../shared/errors.js';
import { pathFor, resolveBucketConfig, type BucketConfig, type Endpoint, type S3BucketOptions } from '../../shared/s3/bucket-config.js';
import { S3Transport, type S3Request } from '../../shared/s3/request.js';
import { decodeUrlEncodedKey } from '../../shared/s3/xml.js';

export interface RawAnswer {
  status: number;
  headers: Record<string, string>;
  /** The body (empty for HEAD and for error answers, whose document is in `code`/`message`). */
  text: string;
  /** S3's error code for a non-2xx answer (or a 200 carrying an `<Error>` document). */
  code?: string | undefined;
  message?: string | undefined;
}

export interface RawCall {
  method: S3Request['method'];
  key?: string | undefined;
  query?: Record<string, string | undefined>;
  headers?: Record<string, string>;
  body?: string | Uint8Array;
  /** Another bucket of the same endpoint (the scratch bucket). Default: the probed bucket. */
  bucket?: string | undefined;
}

export class RawStore {
  readonly config: BucketConfig;
  readonly #transport: S3Transport;
  readonly #timeoutMs: number;
  readonly #signal: AbortSignal | undefined;

  constructor(options: S3BucketOptions, settings: { timeoutMs: number; signal?: AbortSignal | undefined; secretOverride?: string | undefined }) {
    this.config = resolveBucketConfig(options);
    const credentials = settings.secretOverride === undefined ? this.config.credentials : { ...this.config.credentials, secretAccessKey: settings.secretOverride };
    this.#transport = new S3Transport(credentials, this.config.region, { connections: 8 });
    this.#timeoutMs = settings.timeoutMs;
    this.#signal = settings.signal;
  }

  get bucket(): string {
    return this.config.name;
  }

  async call(req: RawCall): Promise<RawAnswer> {
    const bucket = req.bucket ?? this.config.name;
    const endpoint: Endpoint = this.config.endpointFor(bucket);
    try {
      const res = await this.#transport.send({
        method: req.method,
        endpoint,
        bucket,
        path: pathFor(endpoint, req.key),
        query: req.query,
        headers: req.headers,
        body: req.body,
        key: req.key,
        timeout: this.#timeoutMs,
        signal: this.#signal,
      });
      const text = req.method === 'HEAD' ? (await res.body.dump(), '') : await res.body.text();
      // CopyObject and CompleteMultipartUpload may answer 200 and fail in the body.
      const failed = /<Error>\s*<Code>([^<]*)<\/Code>(?:\s*<Message>([^<]*)<\/Message>)?/.exec(text);
      if (failed !== null) return { status: res.status, headers: res.headers, text, code: failed[1], message: failed[2] };
      return { status: res.status, headers: res.headers, text };
    } catch (err) {
      if (err instanceof S3Error) return { status: err.status, headers: {}, text: '', code: err.code, message: err.message };
      throw err;
    }
  }

  async close(): Promise<void> {
    await this.#transport.close();
  }
}

/** True for a 2xx answer without an error document. */
export function succeeded(answer: RawAnswer): boolean {
  return answer.status >= 200 && answer.status < 300 && answer.code === undefined;
}

/** `403 AccessDenied` or `200`: how an answer reads in a table. */
export function describeAnswer(answer: RawAnswer): string {
  return answer.code === undefined ? `${answer.status}` : `${answer.status} ${answer.code}`;
}

/** The text of the first `<name>` element (entities decoded), or undefined when absent; `<name/>` is ''. */
export function elementText(xml: string, name: string): string | undefined {
  const m = new RegExp(`<${name}(?:\\s[^>]*)?(?:/>|>([^<]*)</${name}>)`).exec(xml);
  if (m === null) return undefined;
  return decodeXml(m[1] ?? '');
}

/** Every `<name>` element's text in document order. */
export function elementTexts(xml: string, name: string): string[] {
  const out: string[] = [];
  const re = new RegExp(`<${name}>([^<]*)</${name}>`, 'g');
  for (let m = re.exec(xml); m !== null; m = re.exec(xml)) out.push(decodeXml(m[1] ?? ''));
  return out;
}

function decodeXml(text: string): string {
  return text.replace(/&quot;/g, '"').replace(/&#34;/g, '"').replace(/&apos;/g, "'").replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
}

/**
 * Removes everything under `prefix`: object versions and delete markers (a versioned bucket keeps
 * them otherwise), plain objects, and unfinished multipart uploads. Returns how many things it
 * removed and how many keys a listing still shows afterwards (0 when clean).
 */
export async function removePrefix(store: RawStore, prefix: string): Promise<{ removed: number; left: number }> {
  let removed = 0;
  // Unfinished multipart uploads (a probe interrupted between create and complete).
  const uploads = await store.call({ method: 'GET', query: { uploads: '', prefix } });
  if (succeeded(uploads)) {
    const keys = elementTexts(uploads.text, 'Key');
    const ids = elementTexts(uploads.text, 'UploadId');
    for (let i = 0; i < Math.min(keys.length, ids.length); i++) {
      const abort = await store.call({ method: 'DELETE', key: keys[i]!, query: { uploadId: ids[i]! } });
      if (succeeded(abort)) removed++;
    }
  }
  // Versions and delete markers, where the store lists them.
  for (let round = 0; round < 20; round++) {
    const versions = await store.call({ method: 'GET', query: { versions: '', prefix } });
    if (!succeeded(versions) || !versions.text.includes('ListVersionsResult')) break;
    const targets = [...versions.text.matchAll(/<(Version|DeleteMarker)>([\s\S]*?)<\/\1>/g)].map((m) => ({ key: elementText(m[2]!, 'Key') ?? '', versionId: elementText(m[2]!, 'VersionId') }));
    const real = targets.filter((t) => t.key !== '' && t.versionId !== undefined && t.versionId !== 'null');
    if (real.length === 0) break;
    for (const t of real) if (succeeded(await store.call({ method: 'DELETE', key: t.key, query: { versionId: t.versionId } }))) removed++;
  }
  // Plain objects (and a versioning-unaware store's everything).
  for (let round = 0; round < 20; round++) {
    const list = await store.call({ method: 'GET', query: { 'list-type': '2', prefix, 'encoding-type': 'url' } });
    if (!succeeded(list)) break;
    // A store that ignores encoding-type answers raw keys (and says no <EncodingType>).
    const encoded = elementText(list.text, 'EncodingType')?.toLowerCase() === 'url';
    const keys = elementTexts(list.text, 'Key').map((k) => (encoded ? decodeUrlEncodedKey(k) : k));
    if (keys.length === 0) break;
    for (const key of keys) if (succeeded(await store.call({ method: 'DELETE', key }))) removed++;
  }
  const after = await store.call({ method: 'GET', query: { 'list-type': '2', prefix } });
  const left = succeeded(after) ? elementTexts(after.text, 'Key').length : -1;
  return { removed, left };
}
