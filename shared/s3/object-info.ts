import { quoteEtag } from './etag.js';
import { metadataFromHeaders, type Metadata } from './metadata.js';

/** What HEAD (or GET) tells about an object. */
export interface ObjectInfo {
  key: string;
  /** Size in bytes (Content-Length of a HEAD). */
  size: number;
  /** Entity tag, quoted (`"9b2cf535f27731c974343645a3985328"`) whatever form the store sent (`quoteEtag`). */
  etag: string;
  lastModified: Date | undefined;
  contentType: string | undefined;
  /** Storage class; S3 omits the header for STANDARD, reported here as `STANDARD`. */
  storageClass: string;
  versionId: string | undefined;
  /** User metadata (`x-amz-meta-*`), names lower-cased, RFC 2047 values decoded. */
  metadata: Metadata;
  /** All response headers, lower-cased. */
  headers: Record<string, string>;
}

export function objectInfoFromHeaders(key: string, headers: Record<string, string>): ObjectInfo {
  const lastModified = headers['last-modified'] === undefined ? undefined : new Date(headers['last-modified']);
  return {
    key,
    size: Number(headers['content-length'] ?? 0),
    etag: quoteEtag(headers.etag ?? ''),
    lastModified: lastModified !== undefined && !Number.isNaN(lastModified.getTime()) ? lastModified : undefined,
    contentType: headers['content-type'],
    storageClass: headers['x-amz-storage-class'] ?? 'STANDARD',
    versionId: headers['x-amz-version-id'],
    metadata: metadataFromHeaders(headers),
    headers,
  };
}
