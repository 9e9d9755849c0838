/**
 * The s3jobs side of the client benchmark: `S3Bucket` as a user writes it.
 * - HEAD: `bucket.head(key)`;
 * - copy: `bucket.copy('<bucket>/<key>', dest, { acl: 'private' })` — one CopyObject (no HEAD: no
 *   metadata change asked for);
 * - rewrite: `bucket.rewriteMetadata(key, { acl: 'private', set: { revision } })` — HEAD, then a
 *   self-copy with REPLACE carrying the merged metadata, the system headers read back and
 *   `x-amz-copy-source-if-match`.
 * No timeout is set: the SDK has none by default either (a timeout adds an AbortSignal per request).
 * Keep-alive pool: S3Transport's undici Agent with `connections` sockets per origin.
 */
import { S3Bucket } from '../shared/s3/index.js';
import { SEEDED_DISPOSITION, sourceKey, type Client, type ClientRunSpec } from './client-spec.js';

export function createClient(spec: ClientRunSpec): Client {
  const bucket = new S3Bucket(
    { name: spec.bucket, accessKey: spec.accessKey, secretKey: spec.secretKey, endpoint: spec.endpoint, region: spec.region, forcePathStyle: true },
    { transport: { connections: spec.maxSockets } },
  );
  const key = (i: number): string => sourceKey(spec.sourcePrefix, i % spec.count);
  return {
    op(kind) {
      if (kind === 'head')
        return async (i) => {
          await bucket.head(key(i));
        };
      if (kind === 'copy')
        return async (i, tag) => {
          await bucket.copy(`${spec.bucket}/${key(i)}`, `${spec.destPrefix}${tag}/${i}`, { acl: 'private' });
        };
      return async (i, tag) => {
        await bucket.rewriteMetadata(key(i), { acl: 'private', set: { revision: `${tag}/${i}` } });
      };
    },
    async verify(kind, lastTag) {
      if (kind === 'copy') await bucket.head(`${spec.destPrefix}${lastTag}/${spec.count - 1}`);
      if (kind === 'rewrite') {
        const info = await bucket.head(key(spec.count - 1));
        if (info.metadata.revision !== `${lastTag}/${spec.count - 1}` || info.contentType !== 'image/jpeg' || info.headers['cache-control'] !== 'max-age=86400' || info.headers['content-disposition'] !== SEEDED_DISPOSITION || info.metadata.author !== 'Jane Doe')
          throw new Error(`rewrite lost something: ${JSON.stringify({ metadata: info.metadata, headers: info.headers })}`);
      }
    },
    close: () => bucket.close(),
  };
}
