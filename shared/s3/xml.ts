/**
 * The XML S3 speaks: parsers for its answers and builders for its request bodies.
 *
 * ## Parsing: one strict entry point
 * Every parser goes through `parseS3Xml(body, roots)`, which:
 * - rejects malformed or truncated XML (a body cut short by a dropped connection must never read as a
 *   short listing) and unexpected roots with an `S3JobsError` of code `S3JOBS_BAD_RESPONSE`,
 *   retryable: the server said something that is not S3, and asking again may go better;
 * - throws an `S3Error` built from the document when the root is `<Error>` — S3 answers CopyObject,
 *   UploadPartCopy and CompleteMultipartUpload with 200 and then, if the work fails, an `<Error>`
 *   body; such an error carries `status: 200` and is retryable for InternalError & co.
 * So a result parser either returns a well-formed result or throws; the caller needs no extra check.
 * `parseErrorDocument` is the lenient exception, for error responses (status ≥ 300): it returns
 * `undefined` rather than throwing, and the caller falls back to the status code.
 *
 * The parser (fast-xml-parser) is set up so that every value is a string (no number guessing: an
 * ETag or key like `1e3` stays as is), whitespace is kept (keys may begin or end with blanks), list
 * elements are always arrays, entity decoding is ours (the five XML entities and numeric references,
 * in one pass — fast-xml-parser would leave `&#13;` undecoded), DOCTYPEs are refused (no entity
 * expansion), and names that could pollute prototypes are refused by the library.
 *
 * ## `encoding-type=url`
 * ListObjectsV2 and ListObjectVersions can be asked to URL-encode key names (Key, Prefix, Delimiter,
 * StartAfter, KeyMarker, NextKeyMarker) so keys with characters XML 1.0 cannot carry survive. Amazon
 * S3 encodes the way HTML forms do: a space becomes `+` and a literal `+` becomes `%2B` (observed
 * against AWS; botocore decodes with `unquote_plus` for that reason). Some S3-compatible servers write
 * `%20` for a space instead. Decoding `+` as a space and then percent-decoding is right for both,
 * because both escape a literal `+`. We decode only when the response itself says
 * `<EncodingType>url</EncodingType>`: a server that ignored the request parameter sent raw keys.
 *
 * ## Building
 * Request bodies are written by hand with `xmlText`, which escapes `& < > " '` and CR, and refuses
 * characters XML 1.0 cannot carry at all.
 *
 * Pure: no I/O.
 */
import { isRetryableS3Answer, NOT_FOUND_S3_CODES } from './retry-rules.js';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { ErrorCodes, S3Error, S3JobsError, S3NotFoundError, ValidationError } from '../errors.js';
import { quoteEtag } from './etag.js';
import { assertKey, describe, hasLoneSurrogate } from './validation.js';

/** The namespace of S3's XML documents. */
export const S3_XMLNS = 'http://s3.amazonaws.com/doc/2006-03-01/';
const XSI_NS = 'http://www.w3.org/2001/XMLSchema-instance';
const DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>';

// ---------------------------------------------------------------------------------------------
// The parser and its node accessors
// ---------------------------------------------------------------------------------------------

/** A parsed element: text, an element with children (and `@_` attributes), or repeated elements. */
export type XmlValue = string | XmlElement | XmlValue[];
/** An element with children. `#text` / `#cdata` hold its own text, `@_name` its attributes. */
export interface XmlElement {
  [name: string]: XmlValue | undefined;
}

/**
 * Elements that are lists in S3's answers, by path (namespace prefixes removed). `Error` is a list
 * only inside `DeleteResult`; at the root it is an error document.
 */
const LIST_PATHS = new Set([
  'ListBucketResult.Contents',
  'ListBucketResult.CommonPrefixes',
  'ListVersionsResult.Version',
  'ListVersionsResult.DeleteMarker',
  'ListVersionsResult.CommonPrefixes',
  'DeleteResult.Deleted',
  'DeleteResult.Error',
  'AccessControlPolicy.AccessControlList.Grant',
  'ListPartsResult.Part',
  'CompleteMultipartUpload.Part',
  'Tagging.TagSet.Tag',
]);

const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '@_',
  removeNSPrefix: true, // `xsi:type` → `type`, whatever prefix the server bound the namespace to
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: false,
  processEntities: false, // decoded by `decodeEntities`, see the top of this file
  ignoreDeclaration: true,
  ignorePiTags: true,
  cdataPropName: '#cdata',
  isArray: (_name, jPath) => typeof jPath === 'string' && LIST_PATHS.has(jPath),
});

/** A response that is not valid S3 XML. Retryable: the next answer may be whole. */
export function badResponse(message: string, cause?: unknown): S3JobsError {
  return new S3JobsError(ErrorCodes.BadResponse, message, { retryable: true, cause });
}

/**
 * Parses an S3 XML body whose root element must be one of `roots`, and returns that root's name and
 * element (an empty root, `<X/>`, gives `{}`).
 *
 * @throws S3JobsError `S3JOBS_BAD_RESPONSE` (retryable) for malformed, truncated or non-XML bodies,
 *   a DOCTYPE, or an unexpected root.
 * @throws S3Error (or S3NotFoundError) when the root is `<Error>` and `Error` is not in `roots`.
 */
export function parseS3Xml(body: string, roots: readonly string[]): { root: string; element: XmlElement } {
  // A BOM or blank lines before the declaration are not XML, but harmless; tolerate them.
  const text = body.replace(/^\uFEFF?\s*/, '');
  const expected = roots.join(' or ');
  if (text === '') throw badResponse(`Expected an XML <${expected}> document, got an empty body`);
  if (/<!DOCTYPE/i.test(text)) throw badResponse(`Expected an XML <${expected}> document, got one with a DOCTYPE (S3 never sends one)`);
  const valid = XMLValidator.validate(text);
  if (valid !== true) {
    throw badResponse(`Malformed or truncated XML where <${expected}> was expected: ${valid.err.msg} (line ${valid.err.line})`);
  }
  let doc: unknown;
  try {
    doc = parser.parse(text);
  } catch (error) {
    throw badResponse(`Unparseable XML where <${expected}> was expected`, error);
  }
  const names = typeof doc === 'object' && doc !== null ? Object.keys(doc).filter((k) => !k.startsWith('#')) : [];
  const root = names[0];
  if (names.length !== 1 || root === undefined) {
    throw badResponse(`Expected one <${expected}> root element, found ${names.length === 0 ? 'none' : names.map((n) => `<${n}>`).join(', ')}`);
  }
  if (!endsWithRootClose(text, root)) {
    throw badResponse(`Malformed XML where <${expected}> was expected: text after the root element`);
  }
  const rootValue = (doc as XmlElement)[root];
  if (Array.isArray(rootValue)) throw badResponse(`Expected one <${expected}> root element, found several <${root}>`);
  const element = asElement(rootValue, root);
  if (!roots.includes(root)) {
    if (root === 'Error') throw errorFromDocument(readErrorDocument(element), { status: 200 });
    throw badResponse(`Expected an XML <${expected}> document, got <${root}>`);
  }
  return { root, element };
}

/**
 * True when the document ends with the root's end tag (or a self-closing tag), ignoring trailing
 * blanks, comments and processing instructions. The validator lets `<R/>junk` through; this does not.
 */
function endsWithRootClose(text: string, root: string): boolean {
  let tail = text.trimEnd();
  while (tail.endsWith('-->') || tail.endsWith('?>')) {
    const open = tail.lastIndexOf(tail.endsWith('-->') ? '<!--' : '<?');
    if (open < 0) return false;
    tail = tail.slice(0, open).trimEnd();
  }
  if (tail.endsWith('/>')) return true;
  const close = tail.lastIndexOf('</');
  if (close < 0 || !tail.endsWith('>')) return false;
  const name = tail.slice(close + 2, -1).trim(); // may carry a namespace prefix: `s3:Error`
  return name === root || name.endsWith(`:${root}`);
}

/** The element itself; an empty element (`<X/>`, parsed as '') becomes `{}`. */
function asElement(value: XmlValue | undefined, name: string): XmlElement {
  if (value === undefined || value === '') return {};
  if (typeof value === 'string') {
    if (value.trim() === '') return {};
    throw badResponse(`<${name}> holds text where child elements were expected`);
  }
  if (Array.isArray(value)) throw badResponse(`<${name}> appears more than once where one was expected`);
  return value;
}

/** Child element `name` of `parent`, or undefined. */
function childElement(parent: XmlElement, name: string): XmlElement | undefined {
  const value = parent[name];
  return value === undefined ? undefined : asElement(value, name);
}

/** Every `name` child of `parent`, as a list of elements (absent → []). */
function childList(parent: XmlElement, name: string): XmlElement[] {
  const value = parent[name];
  if (value === undefined) return [];
  return (Array.isArray(value) ? value : [value]).map((item) => asElement(item, name));
}

/** Every `name` child of `parent` as text (absent → []). */
function textList(parent: XmlElement, name: string): string[] {
  const value = parent[name];
  if (value === undefined) return [];
  return (Array.isArray(value) ? value : [value]).map((item) => textOf(item, name));
}

/** Text of child `name`, or undefined when absent. An empty element gives ''. */
function optionalText(parent: XmlElement, name: string): string | undefined {
  const value = parent[name];
  return value === undefined ? undefined : textOf(value, name);
}

/** Text of child `name`; absent → BadResponse naming `context`. */
function requiredText(parent: XmlElement, name: string, context: string): string {
  const value = optionalText(parent, name);
  if (value === undefined) throw badResponse(`<${context}> has no <${name}>`);
  return value;
}

function textOf(value: XmlValue, name: string): string {
  if (typeof value === 'string') return decodeEntities(value);
  if (Array.isArray(value)) throw badResponse(`<${name}> appears more than once where one was expected`);
  const text = value['#text'];
  const cdata = value['#cdata'];
  for (const [key, child] of Object.entries(value)) {
    if (!key.startsWith('#') && !key.startsWith('@_') && child !== undefined) {
      throw badResponse(`<${name}> has child elements where text was expected`);
    }
  }
  if (cdata !== undefined) {
    // S3 never sends CDATA; accept a lone section, refuse text mixed with it (its order is lost).
    if (typeof cdata !== 'string' || (typeof text === 'string' && text.trim() !== '')) {
      throw badResponse(`<${name}> mixes text and CDATA`);
    }
    return cdata;
  }
  return typeof text === 'string' ? decodeEntities(text) : '';
}

/** Attribute `name` of `element` (namespace prefix already removed), decoded. */
function attribute(element: XmlElement, name: string): string | undefined {
  const value = element[`@_${name}`];
  return typeof value === 'string' ? decodeEntities(value) : undefined;
}

const NAMED_ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

/**
 * Decodes the five XML entities and numeric character references in one pass, so `&amp;#233;`
 * correctly stays `&#233;`. References to code points XML cannot hold are a bad response.
 */
function decodeEntities(text: string): string {
  if (!text.includes('&')) return text;
  return text.replace(/&(?:(amp|lt|gt|quot|apos)|#([0-9]+)|#x([0-9a-fA-F]+));/g, (_m, named?: string, dec?: string, hex?: string) => {
    if (named !== undefined) return NAMED_ENTITIES[named] ?? '';
    const code = dec !== undefined ? Number.parseInt(dec, 10) : Number.parseInt(hex ?? '', 16);
    if (!(code > 0 && code <= 0x10ffff) || (code >= 0xd800 && code <= 0xdfff)) {
      throw badResponse(`XML character reference to an invalid code point (${code})`);
    }
    return String.fromCodePoint(code);
  });
}

function parseDate(text: string, context: string): Date {
  const date = new Date(text);
  if (text === '' || Number.isNaN(date.getTime())) throw badResponse(`<${context}> is not a date: ${JSON.stringify(text)}`);
  return date;
}

function parseSize(text: string, context: string): number {
  const size = /^\d+$/.test(text) ? Number(text) : Number.NaN;
  if (!Number.isSafeInteger(size)) throw badResponse(`<${context}> is not a byte count: ${JSON.stringify(text)}`);
  return size;
}

function parseBoolean(text: string, context: string): boolean {
  if (text === 'true') return true;
  if (text === 'false') return false;
  throw badResponse(`<${context}> is not true or false: ${JSON.stringify(text)}`);
}

// ---------------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------------

/** An S3 `<Error>` document. */
export interface ErrorDocument {
  /** S3's error code, e.g. `NoSuchKey`. */
  code: string;
  /** Human-readable message; '' when the server sent none (some do). */
  message: string;
  requestId?: string;
  hostId?: string;
  resource?: string;
  /** Any other text fields (`BucketName`, `Key`, `Region`, `Endpoint`, …) by element name. */
  extra: Record<string, string>;
}

/**
 * Reads an error response body. Returns `undefined` when the body is empty, not XML, not an
 * `<Error>` document or has no `<Code>` — the caller then reports the HTTP status instead.
 */
export function parseErrorDocument(body: string): ErrorDocument | undefined {
  try {
    return readErrorDocument(parseS3Xml(body, ['Error']).element);
  } catch {
    return undefined;
  }
}

function readErrorDocument(element: XmlElement): ErrorDocument {
  const doc: ErrorDocument = { code: '', message: '', extra: {} };
  for (const [name, value] of Object.entries(element)) {
    if (name.startsWith('#') || name.startsWith('@_') || value === undefined) continue;
    let text: string;
    try {
      text = textOf(value, name);
    } catch {
      continue; // a nested structure we do not know; the code and message are what matter
    }
    switch (name) {
      case 'Code': doc.code = text; break;
      case 'Message': doc.message = text; break;
      case 'RequestId': doc.requestId = text; break;
      case 'HostId': doc.hostId = text; break;
      case 'Resource': doc.resource = text; break;
      default: Object.defineProperty(doc.extra, name, { value: text, enumerable: true, writable: true, configurable: true });
    }
  }
  if (doc.code === '') throw badResponse('<Error> document without a <Code>');
  return doc;
}

/**
 * S3 error codes worth retrying as they are (S3 API Reference, "Error responses"). Kept as data;
 * the worker's retry classifier is the authority for everything else.
 */
/**
 * The `S3Error` (or `S3NotFoundError`) for an error document; whether it is retryable comes from
 * the one table in retry-rules.ts.
 */
export function errorFromDocument(
  doc: ErrorDocument,
  context: { status: number; bucket?: string; key?: string; retryAfterMs?: number },
): S3Error {
  const details = {
    code: doc.code,
    message: doc.message,
    status: context.status,
    requestId: doc.requestId,
    bucket: context.bucket,
    key: context.key,
    retryAfterMs: context.retryAfterMs,
    retryable: isRetryableS3Answer(doc.code, context.status),
  };
  return context.status === 404 || NOT_FOUND_S3_CODES.has(doc.code) ? new S3NotFoundError(details) : new S3Error(details);
}

// ---------------------------------------------------------------------------------------------
// Copy and multipart
// ---------------------------------------------------------------------------------------------

/** The result of CopyObject or UploadPartCopy. */
export interface CopyResult {
  /** The new ETag, quoted (`quoteEtag`): some stores (Ceph RGW) send it without its quotes. */
  etag: string;
  lastModified: Date;
}

/**
 * The copy result every store we know sends: an optional declaration, the root (optionally in S3's
 * namespace), a LastModified and a non-empty ETag in either order (printable ASCII, `&quot;` the
 * only entity), nothing else. Read with this one regex, it costs a few µs; anything else (more
 * elements, other entities, comments, an `<Error>`, a truncated body) goes through `parseS3Xml`,
 * which judges it as before. (fast-xml-parser's validate + parse: ~14 µs a result in a hot loop,
 * and ~7% of a worker's profile in a metadata migration on Ceph RGW; this regex: ~0.6 µs.)
 */
const PLAIN_VALUE = String.raw`[\x20-\x25\x27-\x3b\x3d-\x7e]+`;
const PLAIN_ETAG = String.raw`(?:[\x20-\x25\x27-\x3b\x3d-\x7e]|&quot;)+`;
const PLAIN_COPY_RESULT = new RegExp(
  String.raw`^\s*(?:<\?xml version="1\.0" encoding="UTF-8"\?>\s*)?<(CopyObjectResult|CopyPartResult)(?: xmlns="http://s3\.amazonaws\.com/doc/2006-03-01/")?>\s*` +
    String.raw`(?:<LastModified>(${PLAIN_VALUE})</LastModified>\s*<ETag>(${PLAIN_ETAG})</ETag>|<ETag>(${PLAIN_ETAG})</ETag>\s*<LastModified>(${PLAIN_VALUE})</LastModified>)` +
    String.raw`\s*</\1>\s*$`,
);

/**
 * Parses a `<CopyObjectResult>` or `<CopyPartResult>` body.
 *
 * @throws S3Error for a 200 whose body is an `<Error>` (the copy failed); BadResponse otherwise.
 */
export function parseCopyResult(body: string): CopyResult {
  const plain = PLAIN_COPY_RESULT.exec(body);
  if (plain !== null) {
    const root = plain[1]!;
    const etag = (plain[3] ?? plain[4]!).replaceAll('&quot;', '"');
    return { etag: quoteEtag(etag), lastModified: parseDate(plain[2] ?? plain[5]!, `${root}.LastModified`) };
  }
  const { root, element } = parseS3Xml(body, ['CopyObjectResult', 'CopyPartResult']);
  const etag = requiredText(element, 'ETag', root);
  if (etag === '') throw badResponse(`<${root}> has an empty <ETag>`);
  return { etag: quoteEtag(etag), lastModified: parseDate(requiredText(element, 'LastModified', root), `${root}.LastModified`) };
}

/** Parses `<InitiateMultipartUploadResult>` and returns the upload id. */
export function parseInitiateMultipartUpload(body: string): string {
  const { root, element } = parseS3Xml(body, ['InitiateMultipartUploadResult']);
  const uploadId = requiredText(element, 'UploadId', root);
  if (uploadId === '') throw badResponse(`<${root}> has an empty <UploadId>`);
  return uploadId;
}

/** The result of CompleteMultipartUpload. */
export interface CompleteMultipartResult {
  /**
   * Multipart ETag, quoted: `"<hex>-<parts>"`; `''` when the store sent an empty `<ETag>` (Ceph RGW
   * does): the caller HEADs the object for it.
   */
  etag: string;
  location?: string;
  bucket: string;
  key: string;
}

/**
 * Parses `<CompleteMultipartUploadResult>`.
 *
 * @throws S3Error for a 200 whose body is an `<Error>` (the upload was not completed).
 */
export function parseCompleteMultipartUpload(body: string): CompleteMultipartResult {
  const { root, element } = parseS3Xml(body, ['CompleteMultipartUploadResult']);
  const result: CompleteMultipartResult = {
    etag: quoteEtag(requiredText(element, 'ETag', root)),
    bucket: requiredText(element, 'Bucket', root),
    key: requiredText(element, 'Key', root),
  };
  const location = optionalText(element, 'Location');
  if (location !== undefined) result.location = location;
  return result;
}

/** Highest part number, and most parts, of a multipart upload. */
export const MAX_PARTS = 10_000;

/**
 * The `<CompleteMultipartUpload>` body. Parts are sorted by number (S3 requires ascending order);
 * numbers must be whole, 1–10000 and distinct; ETags are sent as given (the client gives them quoted, as S3 documents them).
 *
 * @throws ValidationError (field `parts…`).
 */
export function buildCompleteMultipartUpload(parts: readonly { partNumber: number; etag: string }[]): string {
  if (!Array.isArray(parts) || parts.length === 0 || parts.length > MAX_PARTS) {
    throw new ValidationError('parts', `must be a list of 1 to ${MAX_PARTS} parts, got ${Array.isArray(parts) ? parts.length : describe(parts)}`);
  }
  const seen = new Set<number>();
  parts.forEach((part, i) => {
    const n: unknown = part?.partNumber;
    if (typeof n !== 'number' || !Number.isInteger(n) || n < 1 || n > MAX_PARTS) {
      throw new ValidationError(`parts[${i}].partNumber`, `must be a whole number from 1 to ${MAX_PARTS}, got ${describe(n)}`);
    }
    if (seen.has(n)) throw new ValidationError(`parts[${i}].partNumber`, `part ${n} is listed twice`);
    seen.add(n);
    if (typeof part.etag !== 'string' || part.etag === '') {
      throw new ValidationError(`parts[${i}].etag`, `must be the non-empty ETag S3 returned for the part, got ${describe(part.etag)}`);
    }
  });
  const sorted = [...parts].sort((a, b) => a.partNumber - b.partNumber);
  const items = sorted
    .map((p) => `<Part><PartNumber>${p.partNumber}</PartNumber><ETag>${xmlText(p.etag, `parts[${p.partNumber}].etag`)}</ETag></Part>`)
    .join('');
  return `${DECLARATION}<CompleteMultipartUpload xmlns="${S3_XMLNS}">${items}</CompleteMultipartUpload>`;
}

// ---------------------------------------------------------------------------------------------
// Listings
// ---------------------------------------------------------------------------------------------

/** One object of a listing. */
export interface ListedObject {
  key: string;
  size: number;
  /** Verbatim, with its double quotes. */
  etag: string;
  lastModified: Date;
  /** As S3 names it; `STANDARD` when the element is absent. */
  storageClass: string;
}

/** One page of ListObjectsV2. */
export interface ListObjectsV2Page {
  contents: ListedObject[];
  /** Rolled-up prefixes (only when a delimiter was given). */
  commonPrefixes: string[];
  isTruncated: boolean;
  /** Present when `isTruncated`; pass it as `continuation-token` for the next page. */
  nextContinuationToken?: string;
  /** Keys + common prefixes on this page (`<KeyCount>`, or counted when a server omits it). */
  keyCount: number;
}

/**
 * Parses a `<ListBucketResult>` page of ListObjectsV2, URL-decoding keys and prefixes when the
 * response says `<EncodingType>url</EncodingType>` (see the top of this file).
 *
 * @throws BadResponse for malformed pages, including a truncated page without a continuation token
 *   (following it would either loop or silently stop early).
 */
export function parseListObjectsV2(body: string): ListObjectsV2Page {
  const { root, element } = parseS3Xml(body, ['ListBucketResult']);
  const decode = keyDecoder(element);
  const contents = childList(element, 'Contents').map((item) => listedObject(item, decode, 'Contents'));
  const commonPrefixes = childList(element, 'CommonPrefixes').map((item) => decode(requiredText(item, 'Prefix', 'CommonPrefixes'), 'CommonPrefixes.Prefix'));
  const isTruncated = parseBoolean(requiredText(element, 'IsTruncated', root), 'IsTruncated');
  const keyCountText = optionalText(element, 'KeyCount');
  const page: ListObjectsV2Page = {
    contents,
    commonPrefixes,
    isTruncated,
    keyCount: keyCountText === undefined ? contents.length + commonPrefixes.length : parseSize(keyCountText, 'KeyCount'),
  };
  const token = optionalText(element, 'NextContinuationToken');
  if (token !== undefined && token !== '') page.nextContinuationToken = token;
  if (isTruncated && page.nextContinuationToken === undefined) {
    throw badResponse('<ListBucketResult> is truncated but has no <NextContinuationToken>');
  }
  return page;
}

/** One object version of a ListObjectVersions page. */
export interface ListedVersion extends ListedObject {
  /** `null` (the string) for objects written while versioning was off. */
  versionId: string;
  isLatest: boolean;
}

/** One delete marker of a ListObjectVersions page. */
export interface ListedDeleteMarker {
  key: string;
  versionId: string;
  isLatest: boolean;
  lastModified: Date;
}

/** One page of ListObjectVersions. */
export interface ListObjectVersionsPage {
  versions: ListedVersion[];
  deleteMarkers: ListedDeleteMarker[];
  commonPrefixes: string[];
  isTruncated: boolean;
  /** Present when `isTruncated`: pass as `key-marker` (already URL-decoded). */
  nextKeyMarker?: string;
  /** Present when `isTruncated`: pass as `version-id-marker`. */
  nextVersionIdMarker?: string;
}

/**
 * Parses a `<ListVersionsResult>` page, URL-decoding keys, prefixes and the next key marker when the
 * response says `<EncodingType>url</EncodingType>` (version ids are never encoded).
 *
 * Versions and delete markers come back as two lists; S3 interleaves them by key in the document,
 * an order nothing here depends on.
 */
export function parseListObjectVersions(body: string): ListObjectVersionsPage {
  const { root, element } = parseS3Xml(body, ['ListVersionsResult']);
  const decode = keyDecoder(element);
  const versions = childList(element, 'Version').map((item): ListedVersion => ({
    ...listedObject(item, decode, 'Version'),
    versionId: requiredText(item, 'VersionId', 'Version'),
    isLatest: parseBoolean(requiredText(item, 'IsLatest', 'Version'), 'Version.IsLatest'),
  }));
  const deleteMarkers = childList(element, 'DeleteMarker').map((item): ListedDeleteMarker => ({
    key: decode(requiredText(item, 'Key', 'DeleteMarker'), 'DeleteMarker.Key'),
    versionId: requiredText(item, 'VersionId', 'DeleteMarker'),
    isLatest: parseBoolean(requiredText(item, 'IsLatest', 'DeleteMarker'), 'DeleteMarker.IsLatest'),
    lastModified: parseDate(requiredText(item, 'LastModified', 'DeleteMarker'), 'DeleteMarker.LastModified'),
  }));
  const page: ListObjectVersionsPage = {
    versions,
    deleteMarkers,
    commonPrefixes: childList(element, 'CommonPrefixes').map((item) => decode(requiredText(item, 'Prefix', 'CommonPrefixes'), 'CommonPrefixes.Prefix')),
    isTruncated: parseBoolean(requiredText(element, 'IsTruncated', root), 'IsTruncated'),
  };
  const nextKey = optionalText(element, 'NextKeyMarker');
  if (nextKey !== undefined && nextKey !== '') page.nextKeyMarker = decode(nextKey, 'NextKeyMarker');
  const nextVersion = optionalText(element, 'NextVersionIdMarker');
  if (nextVersion !== undefined && nextVersion !== '') page.nextVersionIdMarker = nextVersion;
  if (page.isTruncated && page.nextKeyMarker === undefined) {
    throw badResponse('<ListVersionsResult> is truncated but has no <NextKeyMarker>');
  }
  return page;
}

type KeyDecoder = (value: string, context: string) => string;

/** The decoder the page's own `<EncodingType>` calls for. */
function keyDecoder(element: XmlElement): KeyDecoder {
  const encoding = optionalText(element, 'EncodingType');
  if (encoding === undefined || encoding === '') return (value) => value;
  if (encoding.toLowerCase() !== 'url') throw badResponse(`Unknown <EncodingType> ${JSON.stringify(encoding)}`);
  return decodeUrlEncodedKey;
}

/**
 * Decodes a key of an `encoding-type=url` listing: `+` is a space, then percent-decoding (UTF-8).
 * Exported for the tests and for callers decoding other `encoding-type=url` answers.
 *
 * @throws BadResponse for broken percent-escapes.
 */
export function decodeUrlEncodedKey(value: string, context = 'Key'): string {
  try {
    return decodeURIComponent(value.replace(/\+/g, ' '));
  } catch (error) {
    throw badResponse(`<${context}> is not valid URL encoding: ${JSON.stringify(value)}`, error);
  }
}

function listedObject(item: XmlElement, decode: KeyDecoder, context: string): ListedObject {
  return {
    key: decode(requiredText(item, 'Key', context), `${context}.Key`),
    size: parseSize(requiredText(item, 'Size', context), `${context}.Size`),
    etag: quoteEtag(requiredText(item, 'ETag', context)),
    lastModified: parseDate(requiredText(item, 'LastModified', context), `${context}.LastModified`),
    storageClass: optionalText(item, 'StorageClass') || 'STANDARD',
  };
}

// ---------------------------------------------------------------------------------------------
// DeleteObjects
// ---------------------------------------------------------------------------------------------

/** Most keys one DeleteObjects request may name. */
export const MAX_DELETE_KEYS = 1000;

/** One key (optionally one version of it) to delete. */
export interface DeleteTarget {
  key: string;
  versionId?: string;
}

/**
 * The `<Delete>` body of DeleteObjects for 1–1000 keys. With `quiet`, S3 reports only failures.
 * (The request also needs `Content-MD5` or an `x-amz-checksum-*` header; that is the request
 * layer's job.)
 *
 * @throws ValidationError (field `keys…`) for an empty or too long list or an invalid key.
 */
export function buildDeleteRequest(keys: readonly DeleteTarget[], quiet = false): string {
  if (!Array.isArray(keys) || keys.length === 0 || keys.length > MAX_DELETE_KEYS) {
    throw new ValidationError('keys', `must list 1 to ${MAX_DELETE_KEYS} keys per DeleteObjects request, got ${Array.isArray(keys) ? keys.length : describe(keys)}`);
  }
  const objects = keys
    .map((target, i) => {
      assertKey(target?.key, `keys[${i}].key`);
      let version = '';
      if (target.versionId !== undefined) {
        if (typeof target.versionId !== 'string' || target.versionId === '') {
          throw new ValidationError(`keys[${i}].versionId`, `must be a non-empty string when given, got ${describe(target.versionId)}`);
        }
        version = `<VersionId>${xmlText(target.versionId, `keys[${i}].versionId`)}</VersionId>`;
      }
      return `<Object><Key>${xmlText(target.key, `keys[${i}].key`)}</Key>${version}</Object>`;
    })
    .join('');
  return `${DECLARATION}<Delete xmlns="${S3_XMLNS}">${quiet ? '<Quiet>true</Quiet>' : ''}${objects}</Delete>`;
}

/** The answer to DeleteObjects. */
export interface DeleteResult {
  /** Keys S3 deleted (absent in quiet mode). */
  deleted: string[];
  /** Keys S3 could not delete, with S3's code and message. */
  errors: { key: string; versionId?: string; code: string; message: string }[];
}

/** Parses a `<DeleteResult>` body. */
export function parseDeleteResult(body: string): DeleteResult {
  const { element } = parseS3Xml(body, ['DeleteResult']);
  return {
    deleted: childList(element, 'Deleted').map((item) => requiredText(item, 'Key', 'Deleted')),
    errors: childList(element, 'Error').map((item) => {
      const error: DeleteResult['errors'][number] = {
        key: requiredText(item, 'Key', 'Error'),
        code: requiredText(item, 'Code', 'Error'),
        message: optionalText(item, 'Message') ?? '',
      };
      const versionId = optionalText(item, 'VersionId');
      if (versionId !== undefined && versionId !== '') error.versionId = versionId;
      return error;
    }),
  };
}

// ---------------------------------------------------------------------------------------------
// CreateBucket
// ---------------------------------------------------------------------------------------------

/**
 * The CreateBucket body for `location`, or `undefined` when no body must be sent: no location, or
 * `us-east-1`. S3 creates buckets without a configuration in us-east-1 and refuses
 * `<LocationConstraint>us-east-1</LocationConstraint>` (InvalidLocationConstraint). The legacy value
 * `EU` (eu-west-1) is passed through as S3 still accepts it.
 *
 * @throws ValidationError (field `location`) for a value that cannot be a region name.
 */
export function buildCreateBucketConfiguration(location?: string): string | undefined {
  if (location === undefined || location === '' || location === 'us-east-1') return undefined;
  if (typeof location !== 'string' || !/^[A-Za-z0-9_-]{1,64}$/.test(location)) {
    throw new ValidationError('location', `${describe(location)} is not a region name (letters, digits, "-" and "_", e.g. eu-west-1)`);
  }
  return `${DECLARATION}<CreateBucketConfiguration xmlns="${S3_XMLNS}"><LocationConstraint>${location}</LocationConstraint></CreateBucketConfiguration>`;
}

// ---------------------------------------------------------------------------------------------
// ACLs
// ---------------------------------------------------------------------------------------------

/** Permissions an ACL grant can give. */
export const ACL_PERMISSIONS = ['FULL_CONTROL', 'WRITE', 'WRITE_ACP', 'READ', 'READ_ACP'] as const;
export type AclPermission = (typeof ACL_PERMISSIONS)[number];

/** Grantee kinds (`xsi:type`). */
export const GRANTEE_TYPES = ['CanonicalUser', 'Group', 'AmazonCustomerByEmail'] as const;
export type GranteeType = (typeof GRANTEE_TYPES)[number];

export interface Grantee {
  type: GranteeType;
  /** Canonical user id (CanonicalUser). */
  id?: string;
  /** Group URI, e.g. `http://acs.amazonaws.com/groups/global/AllUsers` (Group). */
  uri?: string;
  /** E-mail address (AmazonCustomerByEmail; S3 answers with the CanonicalUser instead). */
  email?: string;
  displayName?: string;
}

export interface AclGrant {
  grantee: Grantee;
  permission: AclPermission;
}

/** An object's or bucket's ACL, as GET `?acl` returns it and PUT `?acl` takes it. */
export interface AccessControlPolicy {
  owner: { id: string; displayName?: string };
  grants: AclGrant[];
}

/**
 * Parses an `<AccessControlPolicy>` (GET `?acl`). The grantee type comes from `xsi:type`; when a
 * server leaves it out, it is inferred from the grantee's child (`ID`, `URI` or `EmailAddress`).
 */
export function parseAccessControlPolicy(body: string): AccessControlPolicy {
  const { root, element } = parseS3Xml(body, ['AccessControlPolicy']);
  const ownerElement = childElement(element, 'Owner');
  if (ownerElement === undefined) throw badResponse(`<${root}> has no <Owner>`);
  const owner: AccessControlPolicy['owner'] = { id: requiredText(ownerElement, 'ID', 'Owner') };
  const ownerName = optionalText(ownerElement, 'DisplayName');
  if (ownerName) owner.displayName = ownerName;

  const list = childElement(element, 'AccessControlList') ?? {};
  const grants = childList(list, 'Grant').map((grant): AclGrant => {
    const granteeElement = childElement(grant, 'Grantee');
    if (granteeElement === undefined) throw badResponse('<Grant> has no <Grantee>');
    const permission = requiredText(grant, 'Permission', 'Grant');
    if (!(ACL_PERMISSIONS as readonly string[]).includes(permission)) throw badResponse(`<Permission> ${JSON.stringify(permission)} is not an ACL permission`);
    return { grantee: readGrantee(granteeElement), permission: permission as AclPermission };
  });
  return { owner, grants };
}

function readGrantee(element: XmlElement): Grantee {
  const id = optionalText(element, 'ID');
  const uri = optionalText(element, 'URI');
  const email = optionalText(element, 'EmailAddress');
  const displayName = optionalText(element, 'DisplayName');
  const declared = attribute(element, 'type');
  const type = declared ?? (id !== undefined ? 'CanonicalUser' : uri !== undefined ? 'Group' : email !== undefined ? 'AmazonCustomerByEmail' : undefined);
  if (type === undefined || !(GRANTEE_TYPES as readonly string[]).includes(type)) {
    throw badResponse(`<Grantee> of unknown type ${JSON.stringify(type ?? '(none)')}`);
  }
  const grantee: Grantee = { type: type as GranteeType };
  if (id !== undefined) grantee.id = id;
  if (uri !== undefined) grantee.uri = uri;
  if (email !== undefined) grantee.email = email;
  if (displayName) grantee.displayName = displayName;
  return grantee;
}

/**
 * The `<AccessControlPolicy>` body for PUT `?acl`, with the `xsi` namespace S3 expects on grantees.
 *
 * `DisplayName`s are not sent: S3 derives them from the ids and is retiring them. When replicating a
 * source's ACL onto a destination owned by another account, pass the destination's owner: S3
 * does not let an ACL change an object's owner.
 *
 * @throws ValidationError (field `policy…`) for a grantee missing its id / uri / email, or an unknown
 *   type or permission.
 */
export function buildAccessControlPolicy(policy: AccessControlPolicy): string {
  if (typeof policy?.owner?.id !== 'string' || policy.owner.id === '') {
    throw new ValidationError('policy.owner.id', 'must be the canonical id of the owner');
  }
  if (!Array.isArray(policy.grants)) throw new ValidationError('policy.grants', `must be a list of grants, got ${describe(policy.grants)}`);
  const grants = policy.grants
    .map((grant, i) => {
      const at = `policy.grants[${i}]`;
      if (!(ACL_PERMISSIONS as readonly string[]).includes(grant?.permission)) {
        throw new ValidationError(`${at}.permission`, `${describe(grant?.permission)} is not an ACL permission; allowed: ${ACL_PERMISSIONS.join(', ')}`);
      }
      return `<Grant>${granteeXml(grant.grantee, `${at}.grantee`)}<Permission>${grant.permission}</Permission></Grant>`;
    })
    .join('');
  return (
    `${DECLARATION}<AccessControlPolicy xmlns="${S3_XMLNS}">` +
    `<Owner><ID>${xmlText(policy.owner.id, 'policy.owner.id')}</ID></Owner>` +
    `<AccessControlList>${grants}</AccessControlList></AccessControlPolicy>`
  );
}

function granteeXml(grantee: Grantee | undefined, at: string): string {
  const open = (type: GranteeType) => `<Grantee xmlns:xsi="${XSI_NS}" xsi:type="${type}">`;
  const need = (value: string | undefined, what: string): string => {
    if (typeof value !== 'string' || value === '') throw new ValidationError(`${at}.${what}`, `is required for a ${grantee?.type} grantee`);
    return xmlText(value, `${at}.${what}`);
  };
  switch (grantee?.type) {
    case 'CanonicalUser':
      return `${open('CanonicalUser')}<ID>${need(grantee.id, 'id')}</ID></Grantee>`;
    case 'Group':
      return `${open('Group')}<URI>${need(grantee.uri, 'uri')}</URI></Grantee>`;
    case 'AmazonCustomerByEmail':
      return `${open('AmazonCustomerByEmail')}<EmailAddress>${need(grantee.email, 'email')}</EmailAddress></Grantee>`;
    default:
      throw new ValidationError(`${at}.type`, `${describe(grantee?.type)} is not a grantee type; allowed: ${GRANTEE_TYPES.join(', ')}`);
  }
}

// ---------------------------------------------------------------------------------------------
// Object tagging (GET / PUT ?tagging)
// ---------------------------------------------------------------------------------------------

/** Parses a `<Tagging><TagSet><Tag><Key/><Value/></Tag>…` document into key → value. */
export function parseTagging(body: string): Record<string, string> {
  // Ceph RGW 16.2 answers 200 with no body at all for an object whose tags a REPLACE copy dropped.
  // (A body cut short in transit fails the transport's length check before it gets here.)
  if (body.trim() === '') return {};
  const { element } = parseS3Xml(body, ['Tagging']);
  const set = childElement(element, 'TagSet') ?? {};
  const tags: Record<string, string> = {};
  for (const tag of childList(set, 'Tag')) tags[requiredText(tag, 'Key', 'Tag')] = optionalText(tag, 'Value') ?? '';
  return tags;
}

/** The `<Tagging>` body of PUT `?tagging`. Limits are checked by the caller (shared/s3/tagging.ts). */
export function buildTagging(tags: Readonly<Record<string, string>>): string {
  const items = Object.entries(tags)
    .map(([key, value]) => `<Tag><Key>${xmlText(key, `tags.${key}`)}</Key><Value>${xmlText(value, `tags.${key}`)}</Value></Tag>`)
    .join('');
  return `${DECLARATION}<Tagging xmlns="${S3_XMLNS}"><TagSet>${items}</TagSet></Tagging>`;
}

// ---------------------------------------------------------------------------------------------
// Escaping
// ---------------------------------------------------------------------------------------------

/**
 * `value` escaped for XML text or attribute values: `& < > " '` as entities, CR as `&#13;` (a raw CR
 * would be read back as LF). Characters XML 1.0 cannot carry (C0 controls other than TAB/LF/CR,
 * U+FFFE, U+FFFF, unpaired surrogates) are refused.
 *
 * @throws ValidationError naming `field`.
 */
export function xmlText(value: string, field: string): string {
  const bad = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/.exec(value);
  if (bad || hasLoneSurrogate(value)) {
    throw new ValidationError(field, `contains ${bad ? `U+${bad[0].charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')}` : 'an unpaired surrogate'}, which XML 1.0 cannot carry`);
  }
  return value.replace(/[&<>"'\r]/g, (ch) => ESCAPES[ch] ?? ch);
}

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;', '\r': '&#13;' };
