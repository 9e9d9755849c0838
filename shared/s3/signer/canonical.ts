/**
 * The canonicalisation steps of AWS Signature Version 4, each a small pure function.
 *
 * The strings produced here are also what the request function puts on the wire: the path and query
 * we send are byte-for-byte the canonical ones, so what is signed is what the server sees.
 * S3 differs from other AWS services in two ways that matter here: the path is encoded once (not
 * twice) and is never normalised (`.`/`..` and `//` are kept as they are).
 */

/** Query parameters as name → value; an array value repeats the name. `''` signs as `name=`. */
export type QueryParams = Record<string, string | readonly string[] | undefined>;

const UNRESERVED = /^[A-Za-z0-9\-._~]*$/;

/**
 * RFC 3986 percent-encoding as SigV4 wants it: unreserved characters (A–Z a–z 0–9 - . _ ~) kept,
 * everything else encoded as UTF-8 bytes in upper-case hex. `encodeURIComponent` leaves `!'()*`
 * alone, which SigV4 requires encoded.
 */
export function uriEncode(value: string): string {
  if (UNRESERVED.test(value)) return value;
  return encodeURIComponent(value).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** Encodes every segment of a raw (decoded) path, keeping the `/` separators; no normalisation. */
export function uriEncodePath(rawPath: string): string {
  if (UNRESERVED.test(rawPath.replaceAll('/', ''))) return rawPath;
  return rawPath.split('/').map(uriEncode).join('/');
}

/**
 * Canonical query string: names and values encoded, sorted by encoded name then encoded value,
 * `=` always present. Also the exact query string we send.
 */
export function canonicalQuery(query: QueryParams | undefined): string {
  if (query === undefined) return '';
  const pairs: [string, string][] = [];
  for (const name of Object.keys(query)) {
    const value = query[name];
    if (value === undefined) continue;
    const encodedName = uriEncode(name);
    if (typeof value === 'string') pairs.push([encodedName, uriEncode(value)]);
    else for (const v of value) pairs.push([encodedName, uriEncode(v)]);
  }
  pairs.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0));
  let out = '';
  for (const [name, value] of pairs) out += (out === '' ? '' : '&') + name + '=' + value;
  return out;
}

/**
 * Headers that must not be signed: proxies and HTTP stacks may add, drop or rewrite them on the
 * way, which would break a signature that covered them.
 */
const UNSIGNABLE = new Set(['authorization', 'user-agent', 'expect', 'connection', 'transfer-encoding', 'x-amzn-trace-id', 'keep-alive', 'te', 'upgrade']);

export interface CanonicalHeaders {
  /** `name:value\n` per signed header, sorted by name. */
  canonical: string;
  /** Signed header names joined with `;`. */
  signedHeaders: string;
}

/**
 * Lower-cases names, trims values and folds inner runs of spaces (SigV4's rule), sorts by name.
 * Names must be unique case-insensitively; the request builder guarantees that.
 */
export function canonicalHeaders(headers: Record<string, string>): CanonicalHeaders {
  const entries: [string, string][] = [];
  for (const name of Object.keys(headers)) {
    const lower = name.toLowerCase();
    if (UNSIGNABLE.has(lower)) continue;
    const value = headers[name];
    if (value === undefined) continue;
    entries.push([lower, value.trim().replace(/\s+/g, ' ')]);
  }
  entries.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  let canonical = '';
  let signedHeaders = '';
  for (const [name, value] of entries) {
    canonical += `${name}:${value}\n`;
    signedHeaders += (signedHeaders === '' ? '' : ';') + name;
  }
  return { canonical, signedHeaders };
}

/** The canonical request: the six parts joined by newlines (the headers block ends with its own `\n`). */
export function canonicalRequest(method: string, encodedPath: string, query: string, headers: CanonicalHeaders, payloadHash: string): string {
  return `${method}\n${encodedPath}\n${query}\n${headers.canonical}\n${headers.signedHeaders}\n${payloadHash}`;
}

/** `YYYYMMDDTHHMMSSZ` */
export function amzDate(date: Date): string {
  return date.toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
}

/** `<yyyymmdd>/<region>/<service>/aws4_request` */
export function credentialScope(shortDate: string, region: string, service: string): string {
  return `${shortDate}/${region}/${service}/aws4_request`;
}

export function stringToSign(longDate: string, scope: string, canonicalRequestHash: string): string {
  return `AWS4-HMAC-SHA256\n${longDate}\n${scope}\n${canonicalRequestHash}`;
}
