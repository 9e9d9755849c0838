import { ErrorCodes, S3JobsError } from '../errors.js';
import { S3Bucket, type Transport } from './bucket.js';
import type { S3Request } from './request.js';

/**
 * A bucket that only signs URLs (`makeUrlAuthed`, `url`) and never opens a connection: handy in a
 * web front end that hands out presigned links. Every network method rejects with
 * `S3JOBS_READ_ONLY`; no HTTP agent is even created.
 */
export class ReadOnlyS3Bucket extends S3Bucket {
  protected override createTransport(): Transport {
    return {
      send(req: S3Request): Promise<never> {
        return Promise.reject(
          new S3JobsError(ErrorCodes.ReadOnly, `ReadOnlyS3Bucket "${req.bucket}" makes no network calls (attempted ${req.method}${req.key === undefined ? '' : ` ${req.key}`}); use S3Bucket for requests`),
        );
      },
      close: () => Promise.resolve(),
    };
  }
}
