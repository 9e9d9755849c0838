/**
 * The AWS SDK v3 side of the client benchmark: `S3Client` as a user writes it, path-style against
 * the same endpoint.
 * - HEAD: `HeadObjectCommand`;
 * - copy: `CopyObjectCommand` with `ACL: 'private'`;
 * - rewrite: `HeadObjectCommand`, then `CopyObjectCommand` onto the same key with
 *   `MetadataDirective: 'REPLACE'`, the merged metadata, the system headers read back from the HEAD
 *   (REPLACE would drop them otherwise) and `CopySourceIfMatch` — the same two requests ours sends.
 * Keep-alive: a node:http Agent with `keepAlive: true` and the same socket count as ours (the SDK's
 * default is 50, which would queue requests at concurrency 64). Checksums only when required (none
 * of these operations has a body); retries and everything else at their defaults.
 */
import { Agent as HttpAgent } from 'node:http';
import { CopyObjectCommand, HeadObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { SEEDED_DISPOSITION, sourceKey, type Client, type ClientRunSpec } from './client-spec.js';

export function createClient(spec: ClientRunSpec): Client {
  const agent = new HttpAgent({ keepAlive: true, maxSockets: spec.maxSockets });
  const s3 = new S3Client({
    endpoint: spec.endpoint,
    region: spec.region,
    forcePathStyle: true,
    credentials: { accessKeyId: spec.accessKey, secretAccessKey: spec.secretKey },
    requestHandler: new NodeHttpHandler({ httpAgent: agent }),
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
  const Bucket = spec.bucket;
  const key = (i: number): string => sourceKey(spec.sourcePrefix, i % spec.count);
  const copySource = (k: string): string => `${Bucket}/${k.split('/').map(encodeURIComponent).join('/')}`;
  return {
    op(kind) {
      if (kind === 'head')
        return async (i) => {
          await s3.send(new HeadObjectCommand({ Bucket, Key: key(i) }));
        };
      if (kind === 'copy')
        return async (i, tag) => {
          await s3.send(new CopyObjectCommand({ Bucket, Key: `${spec.destPrefix}${tag}/${i}`, CopySource: copySource(key(i)), ACL: 'private' }));
        };
      return async (i, tag) => {
        const Key = key(i);
        const head = await s3.send(new HeadObjectCommand({ Bucket, Key }));
        await s3.send(
          new CopyObjectCommand({
            Bucket,
            Key,
            CopySource: copySource(Key),
            CopySourceIfMatch: head.ETag,
            MetadataDirective: 'REPLACE',
            Metadata: { ...head.Metadata, revision: `${tag}/${i}` },
            ContentType: head.ContentType,
            CacheControl: head.CacheControl,
            ContentDisposition: head.ContentDisposition,
            ContentEncoding: head.ContentEncoding,
            ContentLanguage: head.ContentLanguage,
            Expires: head.Expires,
            StorageClass: head.StorageClass,
            ACL: 'private',
          }),
        );
      };
    },
    async verify(kind, lastTag) {
      if (kind === 'copy') await s3.send(new HeadObjectCommand({ Bucket, Key: `${spec.destPrefix}${lastTag}/${spec.count - 1}` }));
      if (kind === 'rewrite') {
        const head = await s3.send(new HeadObjectCommand({ Bucket, Key: key(spec.count - 1) }));
        if (head.Metadata?.revision !== `${lastTag}/${spec.count - 1}` || head.ContentType !== 'image/jpeg' || head.CacheControl !== 'max-age=86400' || head.ContentDisposition !== SEEDED_DISPOSITION || head.Metadata.author !== 'Jane Doe')
          throw new Error(`rewrite lost something: ${JSON.stringify({ metadata: head.Metadata, contentType: head.ContentType, cacheControl: head.CacheControl })}`);
      }
    },
    close: async () => {
      s3.destroy();
      agent.destroy();
    },
  };
}
