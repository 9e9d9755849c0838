export * from './bucket.js';
export * from './read-only-bucket.js';
export type { S3BucketOptions, Endpoint } from './bucket-config.js';
export type { ObjectInfo } from './object-info.js';
export type { Metadata } from './metadata.js';
export type { Expire } from './expiry.js';
export type { CannedAcl, BucketCannedAcl, StorageClass } from './validation.js';
export type { MultipartCopyOptions } from './multipart-copy.js';
export { isRetryableS3Answer, RETRYABLE_S3_CODES, PERMANENT_S3_CODES } from './retry-rules.js';
