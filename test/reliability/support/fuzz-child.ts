/**
 * The fuzz loop, run in a child process (`node --import tsx fuzz-child.ts <target> <seed> <iterations>`)
 * so that a hang or a stack overflow cannot take the test runner with it: the parent kills this
 * process when it stops reporting progress.
 *
 * Targets:
 *   validator  `validateJob` on mutated job payloads (seeds: valid jobs of every kind);
 *   xml        every S3 XML parser, `s3ErrorFrom` and the metadata decoder on mutated S3 answers.
 *
 * The only acceptable outcomes are a result, or an s3jobs error with a string `code`
 * (ValidationError, S3JobsError, S3Error). Anything else — TypeError, RangeError, an error without
 * a code — is a finding, written as a JSON line with the input that caused it.
 *
 * Output (stdout, JSON lines): {"progress": n, "last": "<input excerpt>"} every 250 inputs,
 * {"finding": {...}} per finding, {"done": {...}} at the end.
 */
import { isS3JobsError } from '../../../shared/errors.js';
import { validateJob } from '../../../shared/jobs/index.js';
import { decodeMetadataValue, metadataFromHeaders } from '../../../shared/s3/metadata.js';
import { s3ErrorFrom } from '../../../shared/s3/request.js';
import {
  decodeUrlEncodedKey,
  parseAccessControlPolicy,
  parseCompleteMultipartUpload,
  parseCopyResult,
  parseDeleteResult,
  parseErrorDocument,
  parseInitiateMultipartUpload,
  parseListObjectsV2,
  parseListObjectVersions,
} from '../../../shared/s3/xml.js';
import { mulberry32 } from '../../support/fault-proxy.js';

const [target, seedArg, iterationsArg] = process.argv.slice(2);
const rand = mulberry32(Number(seedArg));
const iterations = Number(iterationsArg);
const int = (n: number): number => Math.floor(rand() * n);
const pick = <T>(items: readonly T[]): T => items[int(items.length)]!;
const emit = (value: unknown): void => void process.stdout.write(`${JSON.stringify(value)}\n`);
const excerpt = (value: unknown): string => {
  let text: string;
  try {
    text = typeof value === 'string' ? value : JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v)) ?? String(value);
  } catch {
    try {
      text = String(value);
    } catch {
      text = `(unprintable ${typeof value}: nested too deep)`;
    }
  }
  return text.length > 600 ? `${text.slice(0, 300)}…(${text.length} chars)…${text.slice(-200)}` : text;
};

// ---------------------------------------------------------------------------------------------
// Random values
// ---------------------------------------------------------------------------------------------

const STRINGS = [
  '',
  ' ',
  'a',
  'valid-bucket',
  'key/with spaces.txt',
  'ünïcødé ✓',
  '\u0000',
  '\n',
  '\u007f',
  '\u0085',
  '\ud800',
  '\udc00x',
  '😀',
  '=?UTF-8?B?w7w=?=',
  '=?UTF-8?Q?=C3=BC?=',
  '=?bogus?B?####?=',
  '%',
  '%ZZ',
  '__proto__',
  'constructor',
  'toString',
  'secretKey',
  'password',
  'private',
  'public-read',
  'replicate-source',
  'copy',
  'metadata-rewrite',
  'bucket',
  'create',
  'delete',
  'rel',
  'x'.repeat(64),
  'x'.repeat(1025),
  'é'.repeat(600),
  '<Error>',
  '"etag"',
];

function randomString(): string {
  switch (int(4)) {
    case 0:
      return pick(STRINGS);
    case 1:
      return Array.from({ length: int(40) }, () => String.fromCharCode(int(0x10000))).join('');
    case 2:
      return Array.from({ length: int(20) }, () => String.fromCharCode(32 + int(95))).join('');
    default:
      return pick(STRINGS).repeat(1 + int(50));
  }
}

function randomValue(depth = 0): unknown {
  switch (int(depth > 3 ? 9 : 12)) {
    case 0:
      return null;
    case 1:
      return undefined;
    case 2:
      return rand() < 0.5;
    case 3:
      return pick([0, -1, 1, 1.5, -0, 2 ** 53, 1e308, -1e308, Number.NaN, Number.POSITIVE_INFINITY, 604_800_001, 7 * 24 * 3600 * 1000]);
    case 4:
    case 5:
    case 6:
      return randomString();
    case 7:
      return BigInt(int(1000));
    case 8:
      return deepNest(1 + int(9000));
    case 9:
      return Array.from({ length: int(4) }, () => randomValue(depth + 1));
    default: {
      const o: Record<string, unknown> = {};
      for (let i = int(4); i > 0; i--) Object.defineProperty(o, randomString(), { value: randomValue(depth + 1), enumerable: true, writable: true, configurable: true });
      return o;
    }
  }
}

/** `[[[ … ]]]` or `{a:{a:…}}` `depth` levels deep (kept under the 16 KB payload limit up to ~8000). */
function deepNest(depth: number): unknown {
  let v: unknown = 'bottom';
  const asArray = rand() < 0.5;
  for (let i = 0; i < depth; i++) v = asArray ? [v] : { a: v };
  return v;
}

// ---------------------------------------------------------------------------------------------
// validator
// ---------------------------------------------------------------------------------------------

const SEEDS: Record<string, unknown>[] = [
  { kind: 'copy', profile: 'rel', source: { bucket: 'src-bucket', key: 'a/b.txt' }, destination: { bucket: 'dst-bucket', key: 'a/b.txt' }, acl: 'private' },
  {
    kind: 'copy',
    profile: 'rel',
    source: { bucket: 'src-bucket', key: 'k', versionId: 'v1' },
    destination: { bucket: 'dst-bucket', key: 'k2' },
    acl: 'replicate-source',
    metadata: { a: 'b', 'c-d': 'ünï' },
    mimetype: 'text/plain',
    headers: { 'cache-control': 'no-cache' },
    expectedSourceEtag: '"abc"',
    storageClass: 'STANDARD_IA',
    timeoutMs: 1000,
    runId: 'run-1',
    runSlot: 3,
  },
  { kind: 'metadata-rewrite', profile: 'rel', bucket: 'b-bucket', key: 'k', acl: 'private', set: { a: '1' }, remove: ['b'] },
  { kind: 'metadata-rewrite', profile: 'rel', bucket: 'b-bucket', key: 'k', acl: 'public-read', replace: { x: 'y' }, expectedEtag: 'e', timeoutMs: null },
  { kind: 'bucket', action: 'create', profile: 'rel', bucket: 'new-bucket', location: 'eu-west-1', acl: 'private' },
  { kind: 'bucket', action: 'create', profile: 'rel', bucket: 'new-bucket', configXml: '<CreateBucketConfiguration/>' },
  { kind: 'bucket', action: 'delete', profile: 'rel', bucket: 'old-bucket', empty: true },
];

/** Paths of every node in `value` (objects and arrays), including the root `[]`. */
function paths(value: unknown, at: (string | number)[] = [], out: (string | number)[][] = [], depth = 0): (string | number)[][] {
  out.push(at);
  if (depth < 6 && value !== null && typeof value === 'object')
    for (const [k, v] of Object.entries(value)) paths(v, [...at, Array.isArray(value) ? Number(k) : k], out, depth + 1);
  return out;
}

/** The node at `path`, or undefined when the path no longer leads anywhere. */
function at(root: unknown, path: readonly (string | number)[]): unknown {
  let node = root;
  for (const k of path) node = node !== null && typeof node === 'object' ? Object.getOwnPropertyDescriptor(node, k)?.value : undefined;
  return node;
}

function mutateJob(seed: unknown): unknown {
  let job: unknown = structuredClone(seed);
  for (let n = 1 + int(4); n > 0; n--) {
    const all = paths(job);
    const path = pick(all);
    const parentPath = path.slice(0, -1);
    const last = path[path.length - 1];
    const parent = at(job, parentPath) as Record<string | number, unknown> | undefined;
    switch (int(6)) {
      case 0: // replace a node
        if (last === undefined) job = randomValue();
        else if (parent !== null && typeof parent === 'object') Object.defineProperty(parent, last, { value: randomValue(), enumerable: true, configurable: true, writable: true });
        break;
      case 1: // delete a field
        if (last !== undefined && parent !== null && typeof parent === 'object') delete parent[last];
        break;
      case 2: {
        // add a field, maybe a dangerous name
        const node = at(job, path);
        if (node !== null && typeof node === 'object') Object.defineProperty(node, randomString(), { value: randomValue(), enumerable: true, configurable: true, writable: true });
        break;
      }
      case 3: {
        // mutate a string in place
        const node = last === undefined ? undefined : at(parent, [last]);
        if (typeof node === 'string' && parent !== undefined && last !== undefined) {
          const i = int(node.length + 1);
          parent[last] = pick([node.slice(0, i) + randomString() + node.slice(i), node.slice(0, i), node + node, node.toUpperCase()]);
        }
        break;
      }
      case 4:
        if (job !== null && typeof job === 'object') (job as Record<string, unknown>).kind = pick(['copy', 'metadata-rewrite', 'bucket', 'move', '', 42, null]);
        break;
      default: {
        // Own `__proto__` / `constructor` keys, as JSON.parse makes them from a payload read from Redis.
        const polluted = JSON.parse('{"__proto__": {"polluted": true}, "constructor": {"prototype": {"x": 1}}}') as Record<string, unknown>;
        job = job !== null && typeof job === 'object' && !Array.isArray(job) ? Object.assign(polluted, job) : Object.assign(polluted, { kind: 'copy' });
      }
    }
  }
  if (rand() < 0.01) {
    const circular: Record<string, unknown> = { ...(job as object) };
    circular.self = circular;
    job = circular;
  }
  return job;
}

// ---------------------------------------------------------------------------------------------
// xml
// ---------------------------------------------------------------------------------------------

const NS = 'xmlns="http://s3.amazonaws.com/doc/2006-03-01/"';
const XML_SEEDS: { name: string; parse: (body: string) => unknown; doc: string }[] = [
  { name: 'error', parse: parseErrorDocument, doc: `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>NoSuchKey</Code><Message>The specified key does not exist.</Message><Key>a&amp;b</Key><RequestId>R1</RequestId><HostId>H</HostId></Error>` },
  { name: 'copy', parse: parseCopyResult, doc: `<?xml version="1.0" encoding="UTF-8"?>\n<CopyObjectResult ${NS}><LastModified>2026-01-01T00:00:00.000Z</LastModified><ETag>"9b2cf535f27731c974343645a3985328"</ETag></CopyObjectResult>` },
  { name: 'initiate', parse: parseInitiateMultipartUpload, doc: `<InitiateMultipartUploadResult ${NS}><Bucket>b</Bucket><Key>k</Key><UploadId>u-1</UploadId></InitiateMultipartUploadResult>` },
  { name: 'complete', parse: parseCompleteMultipartUpload, doc: `<CompleteMultipartUploadResult ${NS}><Location>http://x/b/k</Location><Bucket>b</Bucket><Key>k</Key><ETag>"e-2"</ETag></CompleteMultipartUploadResult>` },
  {
    name: 'list',
    parse: parseListObjectsV2,
    doc: `<ListBucketResult ${NS}><Name>b</Name><Prefix>p%2F</Prefix><KeyCount>2</KeyCount><MaxKeys>1000</MaxKeys><EncodingType>url</EncodingType><IsTruncated>true</IsTruncated><NextContinuationToken>tok</NextContinuationToken><Contents><Key>a+b%2Bc</Key><LastModified>2026-01-01T00:00:00.000Z</LastModified><ETag>"e"</ETag><Size>10</Size><StorageClass>STANDARD</StorageClass></Contents><Contents><Key>%E2%9C%93</Key><LastModified>2026-01-01T00:00:00.000Z</LastModified><ETag>"f"</ETag><Size>0</Size></Contents><CommonPrefixes><Prefix>dir%2F</Prefix></CommonPrefixes></ListBucketResult>`,
  },
  {
    name: 'versions',
    parse: parseListObjectVersions,
    doc: `<ListVersionsResult ${NS}><Name>b</Name><IsTruncated>false</IsTruncated><Version><Key>k</Key><VersionId>v1</VersionId><IsLatest>true</IsLatest><LastModified>2026-01-01T00:00:00.000Z</LastModified><ETag>"e"</ETag><Size>1</Size></Version><DeleteMarker><Key>k</Key><VersionId>v0</VersionId><IsLatest>false</IsLatest><LastModified>2026-01-01T00:00:00.000Z</LastModified></DeleteMarker></ListVersionsResult>`,
  },
  { name: 'delete', parse: parseDeleteResult, doc: `<DeleteResult ${NS}><Deleted><Key>a</Key></Deleted><Error><Key>b</Key><Code>AccessDenied</Code><Message>Access Denied</Message></Error></DeleteResult>` },
  {
    name: 'acl',
    parse: parseAccessControlPolicy,
    doc: `<AccessControlPolicy ${NS}><Owner><ID>o</ID><DisplayName>me</DisplayName></Owner><AccessControlList><Grant><Grantee xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="CanonicalUser"><ID>o</ID></Grantee><Permission>FULL_CONTROL</Permission></Grant><Grant><Grantee xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="Group"><URI>http://acs.amazonaws.com/groups/global/AllUsers</URI></Grantee><Permission>READ</Permission></Grant></AccessControlList></AccessControlPolicy>`,
  },
];

const TOKENS = ['<', '>', '</', '/>', '&', '&amp;', '&#0;', '&#xD800;', '&#1114112;', '&#x10FFFF;', '&bogus;', ']]>', '<![CDATA[x]]>', '<!-- c -->', '<?pi x?>', '<!DOCTYPE x [<!ENTITY a "aaaa">]>', '<?xml version="1.0"?>', '<__proto__>x</__proto__>', '<constructor>1</constructor>', '<Contents>', '</Contents>', '<Error>', '<Code>', 'xmlns:a="x"', 'a:', '"', "'", '=', '\u0000', '\ud800', '\uFEFF', '-1', '99999999999999999999', 'NaN', 'true'];

function mutateXml(doc: string): string {
  let text = doc;
  for (let n = 1 + int(3); n > 0; n--) {
    const i = int(text.length + 1);
    const j = Math.min(text.length, i + int(40));
    switch (int(7)) {
      case 0:
        text = text.slice(0, i); // truncated
        break;
      case 1:
        text = text.slice(0, i) + text.slice(j); // a span lost
        break;
      case 2:
        text = text.slice(0, i) + text.slice(i, j).repeat(1 + int(20)) + text.slice(i); // a span repeated
        break;
      case 3:
        text = text.slice(0, i) + pick(TOKENS) + text.slice(i);
        break;
      case 4:
        text = text.slice(0, i) + randomString() + text.slice(i);
        break;
      case 5: {
        const tag = pick(['a', 'Contents', 'Key', 'Grant', 'Error', '__proto__']);
        const depth = 1 + int(5000);
        text = text.slice(0, i) + `<${tag}>`.repeat(depth) + 'x' + `</${tag}>`.repeat(rand() < 0.8 ? depth : int(depth)) + text.slice(i);
        break;
      }
      default:
        text = text.replace(/>([^<]*)</, () => `>${randomString()}<`);
    }
  }
  return text;
}

// ---------------------------------------------------------------------------------------------
// the loop
// ---------------------------------------------------------------------------------------------

let findings = 0;
let slowest = { ms: 0, input: '' };
const outcomes: Record<string, number> = {};
const check = (input: unknown, fn: () => unknown, label: string): void => {
  const t = performance.now();
  try {
    fn();
    outcomes.ok = (outcomes.ok ?? 0) + 1;
  } catch (err) {
    if (isS3JobsError(err)) outcomes[`${(err as Error).name}:${(err as { code: string }).code}`] = (outcomes[`${(err as Error).name}:${(err as { code: string }).code}`] ?? 0) + 1;
    else {
      findings++;
      const e = err as Error;
      emit({ finding: { target: label, error: `${e?.name}: ${e?.message}`, stack: e?.stack?.split('\n').slice(0, 6).join('\n'), input: excerpt(input) } });
    }
  }
  const ms = performance.now() - t;
  if (ms > slowest.ms) slowest = { ms, input: `${label}: ${excerpt(input).slice(0, 200)}` };
};

const started = performance.now();
for (let n = 0; n < iterations; n++) {
  if (target === 'validator') {
    const input = rand() < 0.05 ? randomValue() : mutateJob(pick(SEEDS));
    if (n % 250 === 0) emit({ progress: n, last: excerpt(input).slice(0, 300) });
    check(input, () => validateJob(input), 'validateJob');
  } else {
    const seed = pick(XML_SEEDS);
    const body = rand() < 0.05 ? randomString() : mutateXml(seed.doc);
    if (n % 250 === 0) emit({ progress: n, last: `${seed.name}: ${excerpt(body).slice(0, 300)}` });
    check(body, () => seed.parse(body), `xml:${seed.name}`);
    check(body, () => s3ErrorFrom(400 + int(200), { 'x-amz-request-id': 'r', 'retry-after': randomString() }, body, { key: 'k' }, 'b', Date.now()), 's3ErrorFrom');
    const word = randomString();
    check(word, () => decodeMetadataValue(word), 'decodeMetadataValue');
    check(word, () => metadataFromHeaders({ 'x-amz-meta-a': word, [`x-amz-meta-${word}`]: word }), 'metadataFromHeaders');
    check(word, () => decodeUrlEncodedKey(word), 'decodeUrlEncodedKey');
  }
}
emit({ done: { target, iterations, findings, outcomes, slowestMs: Number(slowest.ms.toFixed(1)), slowestInput: slowest.input, ms: Math.round(performance.now() - started) } });
