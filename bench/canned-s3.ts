/**
 * The canned S3 answers of the benchmarks' fake S3 servers: a HEAD of a 1 KiB JPEG with three
 * metadata entries, and a CopyObject result.
 */
export const LAST_MODIFIED = 'Fri, 17 May 2024 09:30:00 GMT';
export const ETAG = '"9b2cf535f27731c974343645a3985328"';

export const HEAD_HEADERS: Record<string, string> = {
  'content-type': 'image/jpeg',
  'content-length': '1024',
  etag: ETAG,
  'last-modified': LAST_MODIFIED,
  'cache-control': 'max-age=86400',
  'accept-ranges': 'bytes',
  'x-amz-meta-author': 'Jane Doe',
  'x-amz-meta-project': 'summer-2024',
  'x-amz-meta-reviewed': '2024-05-16T18:00:00Z',
  'x-amz-request-id': '4442587FB7D0A2F9',
  'x-amz-id-2': 'eftixk72aD6Ap51TnqcoF8eFidJG9Z/2mkiDFu8yU9AS1ed4OpIszj7UDNEHGran',
  server: 'AmazonS3',
};

export const COPY_RESULT = Buffer.from(
  `<?xml version="1.0" encoding="UTF-8"?>\n<CopyObjectResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><LastModified>2024-05-17T09:30:00.000Z</LastModified><ETag>&quot;9b2cf535f27731c974343645a3985328&quot;</ETag></CopyObjectResult>`,
);

