/**
 * Issue 7, target 1: SigV4 signing throughput, ours vs `@smithy/signature-v4` (the AWS SDK's signer)
 * vs `aws4`, on the same requests, in the same process, rounds interleaved.
 *
 * Before anything is timed, every contestant signs every case once and the signatures are compared:
 * identical signatures mean identical canonical requests, so the work is the same.
 *
 * Each signer gets its input in the form its API takes:
 * - ours: the raw (decoded) path, lower-case headers, a `Date`; it encodes the path itself;
 * - smithy: an already-encoded path (`uriEscapePath: false`, as the SDK configures it for S3) and a
 *   `Date`; its hash is `@smithy/hash-node` (Node's native crypto, like the SDK on Node);
 * - aws4: the encoded path (query string in it for presigning) and the date as an `X-Amz-Date`
 *   string, which spares it the date formatting the other two do.
 * Path encoding is done once, outside the timing, for the peers — a small head start for them.
 */
import { Hash } from '@smithy/hash-node';
import { SignatureV4 } from '@smithy/signature-v4';
import { Sha256 as Sha256Js } from '@aws-crypto/sha256-js';
import aws4 from 'aws4';
import { amzDate, EMPTY_SHA256, presignRequest, signRequest, uriEncodePath, type SigningContext } from '../shared/s3/signer/index.js';
import type { Benchmark, BenchContext, BenchOutcome } from './bench-types.js';
import { compareRounds, formatOps, formatRatio, formatSpread, loadAverage, machineLine, raisePriority, markdownTable, type Contestant, type Measurement } from './harness.js';

const CREDENTIALS = { accessKeyId: 'AKIAIOSFODNN7EXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY' };
const REGION = 'eu-west-1';
const HOST = 's3.eu-west-1.amazonaws.com';
const DATE = new Date('2024-05-17T09:30:00Z');
const LONG_DATE = amzDate(DATE);
const BUCKET = 'media-archive';
const KEY = 'photos/2024/summer trip/IMG 0042 (final).jpg';
const RAW_PATH = `/${BUCKET}/${KEY}`;
const ENCODED_PATH = uriEncodePath(RAW_PATH);
const CTX: SigningContext = { credentials: CREDENTIALS, region: REGION, date: DATE };

/** A realistic CopyObject (metadata REPLACE) request: 12 headers, 14 signed once the signer adds its own two. */
const COPY_HEADERS: Record<string, string> = {
  host: HOST,
  'content-type': 'image/jpeg',
  'content-disposition': 'inline; filename="IMG 0042 (final).jpg"',
  'content-language': 'en-GB',
  'x-amz-acl': 'private',
  'x-amz-copy-source': uriEncodePath(`/${BUCKET}/incoming/${KEY}`),
  'x-amz-copy-source-if-match': '"9b2cf535f27731c974343645a3985328"',
  'x-amz-metadata-directive': 'REPLACE',
  'x-amz-storage-class': 'STANDARD_IA',
  'x-amz-meta-author': 'Jane  Doe',
  'x-amz-meta-project': 'summer-2024',
  'x-amz-meta-reviewed': '2024-05-16T18:00:00Z',
};

/** The same copy with 36 more metadata entries (50 signed headers, ~1.5 KB of metadata). */
const MANY_HEADERS: Record<string, string> = { ...COPY_HEADERS };
for (let i = 0; i < 36; i++) MANY_HEADERS[`x-amz-meta-label-${String(i).padStart(2, '0')}`] = `value ${i} of the photo's label set, ${'x'.repeat(i % 7)}`;

const FEW_HEADERS: Record<string, string> = { host: HOST };

/** Presigned GET with a version and a response header override (both signed into the query). */
const PRESIGN_QUERY = { versionId: '3HL4kqtJlcpXroDTDmjVBH40Nrjfkd', 'response-content-disposition': 'attachment; filename="IMG 0042 (final).jpg"' };
const PRESIGN_EXPIRES = 3600;

interface HeaderCase {
  kind: 'header';
  id: string;
  what: string;
  method: string;
  headers: Record<string, string>;
  signed: number;
}
interface PresignCase {
  kind: 'presign';
  id: string;
  what: string;
}
type SignCase = HeaderCase | PresignCase;

const CASES: SignCase[] = [
  { kind: 'header', id: 'head-3', what: 'HEAD, 3 signed headers', method: 'HEAD', headers: FEW_HEADERS, signed: 3 },
  { kind: 'header', id: 'copy-14', what: 'PUT-copy, 14 signed headers', method: 'PUT', headers: COPY_HEADERS, signed: 14 },
  { kind: 'header', id: 'copy-50', what: 'PUT-copy, 50 signed headers', method: 'PUT', headers: MANY_HEADERS, signed: 50 },
  { kind: 'presign', id: 'presign-get', what: 'presigned GET (versionId + response override)' },
];

const smithy = new SignatureV4({ credentials: CREDENTIALS, region: REGION, service: 's3', sha256: Hash.bind(null, 'sha256'), uriEscapePath: false });
/** The SDK's browser/pure-JS hash, for reference only (not a peer for the ratio). */
const smithyJs = new SignatureV4({ credentials: CREDENTIALS, region: REGION, service: 's3', sha256: Sha256Js, uriEscapePath: false });

type SignOne = () => string | Promise<string>;

/** One signing function per contestant and case; each returns the signature (hex) it produced. */
function signers(c: SignCase): Record<string, SignOne> {
  if (c.kind === 'header') {
    const smithyRequest = { method: c.method, protocol: 'https:', hostname: HOST, path: ENCODED_PATH, query: {}, headers: { ...c.headers, 'x-amz-content-sha256': EMPTY_SHA256 } };
    const aws4Headers = { ...c.headers, 'x-amz-content-sha256': EMPTY_SHA256, 'X-Amz-Date': LONG_DATE };
    const fromAuth = (auth: unknown): string => String(auth).slice(-64);
    return {
      s3jobs: () => fromAuth(signRequest({ method: c.method, path: RAW_PATH, headers: c.headers }, EMPTY_SHA256, CTX).headers.authorization),
      '@smithy/signature-v4': async () => fromAuth((await smithy.sign(smithyRequest, { signingDate: DATE })).headers.authorization),
      aws4: () => fromAuth(aws4.sign({ host: HOST, path: ENCODED_PATH, method: c.method, service: 's3', region: REGION, headers: aws4Headers }, CREDENTIALS).headers?.Authorization),
      'smithy + sha256-js': async () => fromAuth((await smithyJs.sign(smithyRequest, { signingDate: DATE })).headers.authorization),
    };
  }
  // The SDK's S3 presigner sends `x-amz-content-sha256: UNSIGNED-PAYLOAD`; kept as an unsigned,
  // unhoisted header here it gives the same canonical request as ours and aws4's.
  const smithyRequest = { method: 'GET', protocol: 'https:', hostname: HOST, path: ENCODED_PATH, query: { ...PRESIGN_QUERY }, headers: { host: HOST, 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' } };
  const noHoist = new Set(['x-amz-content-sha256']);
  const presignOptions = { signingDate: DATE, expiresIn: PRESIGN_EXPIRES, unhoistableHeaders: noHoist, unsignableHeaders: noHoist };
  const aws4Path = `${ENCODED_PATH}?${new URLSearchParams({ ...PRESIGN_QUERY, 'X-Amz-Expires': String(PRESIGN_EXPIRES), 'X-Amz-Date': LONG_DATE }).toString()}`;
  const signatureIn = (query: string): string => /X-Amz-Signature=([0-9a-f]{64})/.exec(query)?.[1] ?? '';
  return {
    s3jobs: () => signatureIn(presignRequest({ method: 'GET', path: RAW_PATH, query: PRESIGN_QUERY, headers: FEW_HEADERS }, PRESIGN_EXPIRES, CTX).query),
    '@smithy/signature-v4': async () => String((await smithy.presign(smithyRequest, presignOptions)).query?.['X-Amz-Signature']),
    aws4: () => signatureIn(aws4.sign({ host: HOST, path: aws4Path, method: 'GET', service: 's3', region: REGION, signQuery: true }, CREDENTIALS).path ?? ''),
    'smithy + sha256-js': async () => String((await smithyJs.presign(smithyRequest, presignOptions)).query?.['X-Amz-Signature']),
  };
}

/** Throws unless every contestant produces the same signature: otherwise the race would not be fair. */
async function checkSameSignatures(c: SignCase): Promise<string> {
  const results: [string, string][] = [];
  for (const [label, sign] of Object.entries(signers(c))) results.push([label, await sign()]);
  const first = results[0]![1];
  if (!/^[0-9a-f]{64}$/.test(first) || results.some(([, s]) => s !== first))
    throw new Error(`signers disagree on "${c.what}": ${results.map(([l, s]) => `${l}=${s}`).join(', ')}`);
  return first;
}

function contestants(c: SignCase, includeJs: boolean): Contestant[] {
  const all = signers(c);
  const out: Contestant[] = [];
  for (const [label, sign] of Object.entries(all)) {
    if (label === 'smithy + sha256-js' && !includeJs) continue;
    const isAsync = label.includes('smithy');
    out.push({
      label,
      run: isAsync
        ? async (n) => {
            for (let i = 0; i < n; i++) await sign();
          }
        : (n) => {
            for (let i = 0; i < n; i++) sign();
          },
    });
  }
  return out;
}

interface CaseResult {
  case: string;
  what: string;
  signatures: number;
  measurements: Measurement[];
  /** ours / the faster of smithy (native hash) and aws4. */
  ratioVsFasterPeer: number;
  fasterPeer: string;
}

const PEERS = ['@smithy/signature-v4', 'aws4'];

async function runCase(c: SignCase, signatures: number, rounds: number, warmupOps: number, includeJs: boolean): Promise<CaseResult> {
  const measurements = await compareRounds(contestants(c, includeJs), { opsPerRound: signatures, rounds, warmupRounds: 1, warmupOps, clock: 'cpu' });
  const ours = measurements.find((m) => m.label === 's3jobs')!;
  const peers = measurements.filter((m) => PEERS.includes(m.label));
  const faster = peers.reduce((a, b) => (b.opsPerSec > a.opsPerSec ? b : a));
  return { case: c.id, what: c.what, signatures, measurements, ratioVsFasterPeer: ours.opsPerSec / faster.opsPerSec, fasterPeer: faster.label };
}

function report(results: CaseResult[], load: { before: number; after: number; priorityRaised: boolean }, ctx: BenchContext): string {
  const byLabel = (r: CaseResult, label: string): Measurement | undefined => r.measurements.find((m) => m.label === label);
  const cell = (m: Measurement | undefined): string => (m === undefined ? '–' : `${formatOps(m.opsPerSec)} ${formatSpread(m)}`);
  const rows = results.map((r) => {
    const ours = byLabel(r, 's3jobs')!;
    const s = byLabel(r, '@smithy/signature-v4')!;
    const a = byLabel(r, 'aws4')!;
    return [
      r.what,
      r.signatures.toLocaleString('en-US'),
      cell(ours),
      cell(s),
      cell(a),
      formatRatio(ours.opsPerSec, s.opsPerSec),
      formatRatio(ours.opsPerSec, a.opsPerSec),
      `**${r.ratioVsFasterPeer.toFixed(2)}×** ${r.ratioVsFasterPeer >= 1.5 ? '✅' : '❌'}`,
      cell(byLabel(r, 'smithy + sha256-js')),
    ];
  });
  const worst = results.reduce((a, b) => (b.ratioVsFasterPeer < a.ratioVsFasterPeer ? b : a));
  const table = markdownTable(
    ['request', 'signatures / round', 's3jobs ops/s', 'smithy ops/s', 'aws4 ops/s', 'vs smithy', 'vs aws4', 'vs faster peer (target ≥ 1.5×)', 'smithy + sha256-js (info)'],
    rows,
    ['left', 'right', 'right', 'right', 'right', 'right', 'right', 'right', 'right'],
  );
  return [
    '## Signer: SigV4 signatures per second (issue 7, target 1)',
    '',
    `Measured ${new Date().toISOString().slice(0, 10)} on ${machineLine(ctx.machine)}; 1-minute load average ${load.before} before, ${load.after} after (other work shared the machine${load.priorityRaised ? '; the benchmark ran at nice −10' : ''})${ctx.quick ? ' — **quick run, not for publishing**' : ''}.`,
    'Reproduce: `npm run bench -- signer` (one to two minutes). Median of 5 timed rounds (3 for rounds of 100,000) after',
    'a warm-up round of 10,000, rounds of the three signers interleaved in one process; ± is half the spread between the',
    'slowest and fastest round. Signing is pure CPU work, so a round is timed on the process\'s CPU clock (user + system,',
    'GC threads included), not the wall clock: on a machine shared with other work the wall clock also counts the time',
    'the OS gave to other processes, which lands on whichever signer happens to be running. On an idle machine the two',
    'agree; wall-clock rounds are in the results JSON (`roundWallMs`).',
    '',
    table,
    '',
    `Lowest ratio against the faster peer: **${worst.ratioVsFasterPeer.toFixed(2)}×** (${worst.what}, ${worst.signatures.toLocaleString('en-US')} signatures, faster peer ${worst.fasterPeer}).`,
    '',
    'What is compared, and how to read it:',
    '- Every signer signs the same requests: before timing, the three signatures of each case are checked to be',
    '  byte-identical, so the canonical requests are the same. Header signing covers a HEAD (host only), a',
    '  CopyObject with metadata REPLACE (content type/disposition/language, ACL, copy source and if-match,',
    '  storage class, three metadata entries) and the same copy with 36 more metadata entries; presigning covers',
    '  a GET of a version with a `response-content-disposition` override, valid 3600 s.',
    '- smithy is configured as the SDK configures it for S3 on Node: `uriEscapePath: false`, native `crypto`',
    '  hash (`@smithy/hash-node`). Its API is async, so its loop awaits each signature, as a caller must. The',
    '  last column swaps in the pure-JS `@aws-crypto/sha256-js` (what the SDK uses in browsers), for reference.',
    '- The peers get the key already URI-encoded (ours encodes it inside the timed call), and aws4 gets the',
    '  date as a ready `X-Amz-Date` string (the others format a `Date`): both favour the peers slightly.',
    '- All three cache the derived signing key, so a signature costs one SHA-256 of the canonical request and',
    '  one HMAC of the string to sign, plus string building. One header value (`Jane  Doe`) needs whitespace',
    '  folding; the others are already canonical, as most real values are.',
    '',
    workSize(results),
    '',
    'What the profile showed, and what was fixed (commit "Signer: cut per-signature overhead found by profiling"):',
    'the first run of this benchmark had s3jobs at 0.86–1.05× aws4 for header signing. `node --cpu-prof` of a signing',
    'loop put most of the time outside the two hashes: object spread of the headers (~3 µs at 14 headers, ~10 µs',
    'at 50), `trim().replace(/\\s+/g, " ")` on every value (~300 ns each even with nothing to fold), sorting',
    '[name, value] tuples through a comparator, `createHash` instead of the one-shot `crypto.hash`, `toISOString`',
    'plus two regex replaces per signature, and a regex-with-callback for `!\'()*`. Each was replaced by a',
    'cheaper equivalent with the same output (checked on the AWS vectors and on 180,000 randomised comparisons',
    'with the previous code). What remains is mostly the two hashes (`createHmac` alone is ~1.8 µs of a ~5 µs',
    'HEAD signature here); an HMAC built by hand from two `crypto.hash` calls saved only ~0.3 µs, not worth',
    'hand-rolled crypto in the signer.',
  ].join('\n');
}

/** How the figures move with the work: headers per request, and signatures per round. */
function workSize(results: CaseResult[]): string {
  const get = (id: string, n: number, label: string): number => results.find((r) => r.case === id && r.signatures === n)?.measurements.find((m) => m.label === label)?.opsPerSec ?? Number.NaN;
  const ratio = (id: string, n: number): string => (results.find((r) => r.case === id && r.signatures === n)?.ratioVsFasterPeer ?? Number.NaN).toFixed(2);
  const sizes = [...new Set(results.map((r) => r.signatures))].sort((a, b) => a - b);
  const [small, big] = [sizes[0]!, sizes[sizes.length - 1]!];
  const drop = (label: string): string => `${label} ${formatOps(get('head-3', small, label))} → ${formatOps(get('copy-14', small, label))} → ${formatOps(get('copy-50', small, label))}`;
  return [
    `Work size. Headers per request (3 → 14 → 50 signed headers, ops/s at ${small.toLocaleString('en-US')} per round): ${drop('s3jobs')};`,
    `${drop('aws4')}; ${drop('@smithy/signature-v4')} — everyone slows as there is more to sort, fold and hash, and the`,
    `ratio against the faster peer is ${ratio('head-3', small)}× / ${ratio('copy-14', small)}× / ${ratio('copy-50', small)}×. Signatures per round`,
    `(${small.toLocaleString('en-US')} → ${big.toLocaleString('en-US')}): ${ratio('copy-14', small)}× → ${ratio('copy-14', big)}× for the copy, ${ratio('presign-get', small)}× → ${ratio('presign-get', big)}× for presigning; nothing grows`,
    'with the count (the signing-key cache holds one entry per key and day), so larger rounds only average out',
    'more noise — on this shared 2-core machine short rounds are the noisier ones.',
  ].join('\n');
}

export const benchmark: Benchmark = {
  name: 'signer',
  title: 'SigV4 signer',
  async run(ctx) {
    const priority = raisePriority();
    try {
      return await runSigner(ctx, priority.raised);
    } finally {
      priority.restore();
    }
  },
};

async function runSigner(ctx: BenchContext, priorityRaised: boolean): Promise<BenchOutcome> {
  for (const c of CASES) ctx.log(`signer: ${c.id} signature ${await checkSameSignatures(c)} (all signers agree)`);
  const big = ctx.quick ? 5_000 : 100_000;
  const small = ctx.quick ? 1_000 : 10_000;
  // Header count is compared at the small size (5 timed rounds); the round size at 10k vs 100k
  // signatures for the copy and the presign (3 timed rounds of 100k, after a 10k warm-up round).
  const plan: [SignCase, number, number][] = [
    [CASES[0]!, small, 5],
    [CASES[1]!, small, 5],
    [CASES[2]!, small, 5],
    [CASES[1]!, big, 3],
    [CASES[3]!, small, 5],
    [CASES[3]!, big, 3],
  ];
  const loadBefore = loadAverage();
  const results: CaseResult[] = [];
  for (const [c, n, rounds] of plan) {
    const started = Date.now();
    const result = await runCase(c, n, ctx.quick ? 3 : rounds, small, n === small);
    results.push(result);
    ctx.log(
      `signer: ${c.id} ×${n}: ${result.measurements.map((m) => `${m.label} ${formatOps(m.opsPerSec)}/s`).join(', ')} → ${result.ratioVsFasterPeer.toFixed(2)}× vs ${result.fasterPeer} (${((Date.now() - started) / 1000).toFixed(1)} s)`,
    );
  }
  const load = { before: loadBefore, after: loadAverage() };
  return { markdown: report(results, { ...load, priorityRaised }, ctx), data: { machine: ctx.machine, quick: ctx.quick, load, priorityRaised, results } };
}
