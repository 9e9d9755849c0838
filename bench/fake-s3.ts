/**
 * A minimal fake S3 endpoint for the client benchmark: it answers canned responses as fast as Node's
 * HTTP server can and checks nothing (no signature, no bucket, no storage). Against it, the time
 * a client takes is its own overhead — signing, building the request, parsing the answer — plus a
 * loopback round trip, which s3rver's own work (SigV4 check, files on disk) would otherwise hide.
 *
 * - HEAD                           → 200, the headers of a 1 KiB JPEG with three metadata entries
 * - PUT with `x-amz-copy-source`   → 200, a CopyObjectResult document
 * - GET `?list-type=2` / GET bucket → 200, a ListObjectsV2 (or V1, by `marker`) page of synthetic
 *                                    keys `src/00000000.jpg` … (`FAKE_S3_OBJECTS` of them, default 0;
 *                                    listings with another prefix are empty), for peers that list
 * - anything else                  → 200, empty body
 *
 * Run as a child process (`tsx bench/fake-s3.ts`): prints `listening <port>` and exits when its
 * stdin closes, so it never outlives the benchmark.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { COPY_RESULT, HEAD_HEADERS, LAST_MODIFIED } from './canned-s3.js';

const OBJECTS = Number(process.env.FAKE_S3_OBJECTS ?? 0);
const fakeKey = (i: number): string => `src/${String(i).padStart(8, '0')}.jpg`;

/** One listing page; the continuation token / marker is the next index (V2) or the last key (V1). */
function listing(url: URL): Buffer {
  const q = url.searchParams;
  const v2 = q.get('list-type') === '2';
  const prefix = q.get('prefix') ?? '';
  const max = Math.min(1000, Number(q.get('max-keys') ?? 1000));
  const all = 'src/'.startsWith(prefix) || prefix.startsWith('src/') ? OBJECTS : 0;
  const marker = v2 ? q.get('continuation-token') ?? q.get('start-after') : q.get('marker');
  let start = 0;
  if (marker !== null && marker !== '') start = /^\d+$/.test(marker) ? Number(marker) : Number(/(\d+)/.exec(marker)?.[1] ?? -1) + 1;
  const end = Math.min(all, start + max);
  const truncated = end < all;
  let body = `<?xml version="1.0" encoding="UTF-8"?>\n<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>bench</Name><Prefix>${prefix}</Prefix><MaxKeys>${max}</MaxKeys><IsTruncated>${truncated}</IsTruncated>`;
  if (v2) body += `<KeyCount>${end - start}</KeyCount>${truncated ? `<NextContinuationToken>${end}</NextContinuationToken>` : ''}`;
  else if (truncated) body += `<NextMarker>${fakeKey(end - 1)}</NextMarker>`;
  for (let i = start; i < end; i++)
    body += `<Contents><Key>${fakeKey(i)}</Key><LastModified>2024-05-17T09:30:00.000Z</LastModified><ETag>&quot;9b2cf535f27731c974343645a3985328&quot;</ETag><Size>1024</Size><StorageClass>STANDARD</StorageClass></Contents>`;
  return Buffer.from(`${body}</ListBucketResult>`);
}

function handle(req: IncomingMessage, res: ServerResponse): void {
  // The request body (none is expected) is drained so the connection stays reusable.
  req.resume();
  res.setHeader('x-amz-request-id', '4442587FB7D0A2F9');
  if (req.method === 'HEAD') {
    res.writeHead(200, HEAD_HEADERS);
    res.end();
  } else if (req.method === 'PUT' && req.headers['x-amz-copy-source'] !== undefined) {
    res.writeHead(200, { 'content-type': 'application/xml', 'content-length': String(COPY_RESULT.length), 'last-modified': LAST_MODIFIED });
    res.end(COPY_RESULT);
  } else if (req.method === 'GET' && /^\/[^/]+\/?$/.test(new URL(req.url ?? '/', 'http://x').pathname)) {
    const body = listing(new URL(req.url ?? '/', 'http://x'));
    res.writeHead(200, { 'content-type': 'application/xml', 'content-length': String(body.length) });
    res.end(body);
  } else {
    res.writeHead(200, { 'content-length': '0' });
    res.end();
  }
}

const server = createServer({ keepAliveTimeout: 60_000 }, handle);
server.headersTimeout = 65_000;
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`listening ${(server.address() as AddressInfo).port}\n`);
});
process.stdin.on('end', () => process.exit(0));
process.stdin.on('error', () => process.exit(0));
process.stdin.resume();
