/**
 * A fast fake S3 for the load test, in its own process (`node --import tsx fake-s3.ts`): every
 * HEAD answers the same small object whose metadata already holds `rw: done`, so a metadata
 * rewrite that sets `rw: done` changes nothing (two HEADs, no copy) — the cheapest real job. It
 * checks no signatures and stores nothing: what is measured is the queue, the worker and the
 * client, not an S3 server. Prints `{"port": n}` once listening on 127.0.0.1, then request
 * counts every second.
 */
import { createServer } from 'node:http';

let requests = 0;
const lastModified = new Date().toUTCString();
const server = createServer((req, res) => {
  requests++;
  req.resume();
  if (req.method === 'HEAD') {
    res.writeHead(200, {
      'content-length': '11',
      etag: '"5eb63bbbe01eeed093cb22bb8f5acdc3"',
      'content-type': 'text/plain',
      'last-modified': lastModified,
      'x-amz-meta-rw': 'done',
      'x-amz-request-id': 'FAKE',
    });
    res.end();
    return;
  }
  if (req.method === 'PUT' && req.headers['x-amz-copy-source'] !== undefined) {
    const body = `<?xml version="1.0" encoding="UTF-8"?>\n<CopyObjectResult><LastModified>${new Date().toISOString()}</LastModified><ETag>"5eb63bbbe01eeed093cb22bb8f5acdc3"</ETag></CopyObjectResult>`;
    res.writeHead(200, { 'content-type': 'application/xml', 'content-length': Buffer.byteLength(body) });
    res.end(body);
    return;
  }
  const body = '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>NotImplemented</Code><Message>fake S3</Message></Error>';
  res.writeHead(501, { 'content-type': 'application/xml', 'content-length': Buffer.byteLength(body) });
  res.end(body);
});
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => {
  const address = server.address();
  process.stdout.write(`${JSON.stringify({ port: typeof address === 'object' && address !== null ? address.port : 0 })}\n`);
});
setInterval(() => process.stdout.write(`${JSON.stringify({ requests })}\n`), 1_000).unref();
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
