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
const UNRESERVED_PATH = /^[A-Za-z0-9\-._~/]*$/;

/**
 * RFC 3986 percent-encoding as SigV4 wants it: unreserved characters (A–Z a–z 0–9 - . _ ~) kept,
 * everything else encoded as UTF-8 bytes in upper-case hex. `encodeURIComponent` leaves `!'()*`
 * alone, which SigV4 requires encoded.
 */
export function uriEncode(value: string): string {
  if (UNRESERVED.test(value)) return value;
  return strictEncoding(encodeURIComponent(value), false);
}

/**
 * Encodes every segment of a raw (decoded) path, keeping the `/` separators; no normalisation.
 * Done on the whole path at once: `encodeURIComponent` works character by character and a `/` is
 * the only thing it turns into `%2F` (a literal `%` becomes `%25`), so turning `%2F` back into `/`
 * gives exactly the per-segment encoding, without splitting and joining.
 */
export function uriEncodePath(rawPath: string): string {
  if (UNRESERVED_PATH.test(rawPath)) return rawPath;
  return strictEncoding(encodeURIComponent(rawPath), true);
}

const SUB_DELIM_ESCAPES: Record<number, string> = { 33: '%21', 39: '%27', 40: '%28', 41: '%29', 42: '%2A' };

/**
 * `encodeURIComponent`'s output with `!'()*` escaped too and, when `restoreSlashes`, each `%2F` turned
 * back into `/`. One scan instead of a regex replace with a callback, which was a tenth of a
 * signature's cost in the profile for keys with parentheses or spaces.
 */
function strictEncoding(encoded: string, restoreSlashes: boolean): string {
  let out = '';
  let from = 0;
  for (let i = 0; i < encoded.length; i++) {
    const c = encoded.charCodeAt(i);
    if (c === 37 /* % */) {
      if (restoreSlashes && encoded.charCodeAt(i + 1) === 50 /* 2 */ && encoded.charCodeAt(i + 2) === 70 /* F */) {
        out += `${encoded.slice(from, i)}/`;
        from = i + 3;
      }
      i += 2; // the two hex digits of an escape are never a character of their own
    } else if (c === 33 || c === 39 || c === 40 || c === 41 || c === 42) {
      out += encoded.slice(from, i) + SUB_DELIM_ESCAPES[c]!;
      from = i + 1;
    }
  }
  return from === 0 ? encoded : out + encoded.slice(from);
}

/**
 * Canonical query string: names and values encoded, sorted by encoded name then encoded value,
 * `=` always present. Also the exact query string we send.
 */
export function canonicalQuery(query: QueryParams | undefined): string {
  if (query === undefined) return '';
  const rawNames = Object.keys(query);
  // Common case, one value per name: sort the encoded names alone. The encoding is one-to-one, so
  // distinct names stay distinct and the order is the same as sorting (name, value) pairs.
  const names: string[] = [];
  const values = new Map<string, string>();
  for (let i = 0; i < rawNames.length; i++) {
    const value = query[rawNames[i]!];
    if (value === undefined) continue;
    if (typeof value !== 'string') return canonicalQueryPairs(query);
    const name = uriEncode(rawNames[i]!);
    names.push(name);
    values.set(name, uriEncode(value));
  }
  names.sort();
  let out = '';
  for (let i = 0; i < names.length; i++) out += `${i === 0 ? '' : '&'}${names[i]!}=${values.get(names[i]!)!}`;
  return out;
}

/** canonicalQuery when some name repeats (an array value): sort the pairs by name, then value. */
function canonicalQueryPairs(query: QueryParams): string {
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
  // Names are sorted alone (a plain string sort) and values looked up again by name: cheaper than
  // sorting [name, value] pairs through a comparator, which showed in the signer's profile.
  const inputNames = Object.keys(headers);
  const names: string[] = [];
  const values = new Map<string, string>();
  for (let i = 0; i < inputNames.length; i++) {
    const name = inputNames[i]!;
    const value = headers[name];
    if (value === undefined) continue;
    const lower = name.toLowerCase();
    if (UNSIGNABLE.has(lower)) continue;
    if (values.has(lower)) return canonicalHeaderPairs(headers); // a name twice in different cases
    names.push(lower);
    values.set(lower, value);
  }
  names.sort();
  let canonical = '';
  for (let i = 0; i < names.length; i++) canonical += `${names[i]!}:${foldValue(values.get(names[i]!)!)}\n`;
  return { canonical, signedHeaders: names.join(';') };
}

/** canonicalHeaders for input that breaks the unique-names rule: each pair kept, in input order per name. */
function canonicalHeaderPairs(headers: Record<string, string>): CanonicalHeaders {
  const entries: [string, string][] = [];
  for (const name of Object.keys(headers)) {
    const lower = name.toLowerCase();
    if (UNSIGNABLE.has(lower)) continue;
    const value = headers[name];
    if (value === undefined) continue;
    entries.push([lower, foldValue(value)]);
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

const WHITESPACE_RUN = /\s+/g;

/**
 * Anything that may need folding: a character that is not printable ASCII or a space (tabs, line
 * breaks, Unicode spaces — and any non-ASCII, checked the slow way), two spaces in a row, or a
 * space at either end.
 */
const MAY_NEED_FOLDING = /[^\x21-\x7e ]| {2}|^ | $/;

/**
 * A header value trimmed, with each inner run of whitespace folded to one space. Most values need
 * neither, and a global regex replace costs ~300 ns even when it matches nothing (the largest item
 * in the signer's profile for requests with many headers), so a value is tested first and returned
 * as it is when it is already folded. The test is one regex (a quarter cheaper than a charCode
 * loop on typical values); whatever it flags goes the reference way, `trim` then `replace`.
 */
export function foldValue(value: string): string {
  return MAY_NEED_FOLDING.test(value) ? value.trim().replace(WHITESPACE_RUN, ' ') : value;
}

/** The canonical request: the six parts joined by newlines (the headers block ends with its own `\n`). */
export function canonicalRequest(method: string, encodedPath: string, query: string, headers: CanonicalHeaders, payloadHash: string): string {
  return `${method}\n${encodedPath}\n${query}\n${headers.canonical}\n${headers.signedHeaders}\n${payloadHash}`;
}

/** The last second formatted, and its text: requests signed within one second share it. */
let lastDateSecond = Number.NaN;
let lastAmzDate = '';

/** `YYYYMMDDTHHMMSSZ` */
export function amzDate(date: Date): string {
  // toISOString alone was ~9% of a HEAD signature in the profile; the text only changes once a second.
  const second = Math.floor(date.getTime() / 1000);
  if (second === lastDateSecond) return lastAmzDate;
  const iso = date.toISOString(); // YYYY-MM-DDTHH:MM:SS.sssZ, or ±YYYYYY-… outside years 0–9999
  lastAmzDate = iso.length === 24 ? `${iso.slice(0, 4)}${iso.slice(5, 7)}${iso.slice(8, 13)}${iso.slice(14, 16)}${iso.slice(17, 19)}Z` : iso.replace(/[-:]/g, '').replace(/\.\d{3}/, '');
  lastDateSecond = second;
  return lastAmzDate;
}

/** `<yyyymmdd>/<region>/<service>/aws4_request` */
export function credentialScope(shortDate: string, region: string, service: string): string {
  return `${shortDate}/${region}/${service}/aws4_request`;
}

export function stringToSign(longDate: string, scope: string, canonicalRequestHash: string): string {
  return `AWS4-HMAC-SHA256\n${longDate}\n${scope}\n${canonicalRequestHash}`;
}
