import { describe, expect, it } from 'vitest';
import {
  assertBucketName,
  assertCannedAcl,
  assertKey,
  assertStorageClass,
  CANNED_ACLS,
  splitCopySource,
  STORAGE_CLASSES,
} from '../../../shared/s3/validation.js';
import { expectInvalid } from '../support/expect-invalid.js';

describe('assertBucketName', () => {
  it.each([
    ['abc', '3 characters (minimum)'],
    ['a'.repeat(63), '63 characters (maximum)'],
    ['my-bucket.example-1', 'letters, digits, hyphen and dot'],
    ['0bucket9', 'starts and ends with digits'],
    ['a.b-c', 'dot and hyphen inside'],
    ['192.168.5.4x', 'looks like an IP but is not one'],
    ['1.2.3', 'three numeric labels is not an IPv4 address'],
    ['my-xn--bucket', 'xn-- not at the start'],
    ['bucket-s3alias-x', 'reserved suffix not at the end'],
    ['mybucket--usw2-az1--x-s3', 'directory bucket names are real buckets'],
  ])('accepts %j (%s)', (name) => {
    expect(() => assertBucketName(name)).not.toThrow();
  });

  it.each([
    ['ab', /2 characters long/],
    ['', /0 characters long/],
    ['a'.repeat(64), /64 characters long/],
    ['My-bucket', /contains "M"/],
    ['my_bucket', /contains "_"/],
    ['my bucket', /contains " "/],
    ['bücket', /contains "ü"/],
    ['-bucket', /start and end with a lowercase letter or digit/],
    ['bucket-', /start and end/],
    ['.bucket', /start and end/],
    ['bucket.', /start and end/],
    ['my..bucket', /two adjacent periods/],
    ['192.168.5.4', /IP address/],
    ['999.1.1.1', /IP address/],
    ['xn--bucket', /starts with "xn--"/],
    ['sthree-bucket', /starts with "sthree-"/],
    ['sthree-configurator', /starts with "sthree-"/],
    ['amzn-s3-demo-bucket', /starts with "amzn-s3-demo-"/],
    ['bucket-s3alias', /ends with "-s3alias"/],
    ['bucket--ol-s3', /ends with "--ol-s3"/],
    ['bucket.mrap', /ends with ".mrap"/],
  ])('refuses %j', (name, message) => {
    expectInvalid(() => assertBucketName(name), 'bucket', message);
  });

  it('names the field it is given and says what is allowed', () => {
    expectInvalid(() => assertBucketName('A', 'destination.bucket'), 'destination.bucket', /lowercase letters, digits, "-" and "\."/);
  });

  it.each([[undefined], [null], [42], [['abc']]])('refuses non-strings (%j)', (value) => {
    expectInvalid(() => assertBucketName(value), 'bucket', /must be a string/);
  });
});

describe('assertKey', () => {
  it.each([
    ['a', 'one character'],
    ['dir/sub dir/file name.txt', 'slashes and spaces'],
    ['a+b&c<d>e"f\'g%20?x=1#frag', 'URL and XML special characters'],
    ['ünïcödé/日本語/😀', 'unicode'],
    [' leading and trailing ', 'blanks at both ends'],
    ['x'.repeat(1024), 'exactly 1024 bytes'],
    ['é'.repeat(512), 'exactly 1024 bytes as 512 two-byte characters'],
    ['\u0080\u009f', 'C1 characters are not refused by assertKey'],
  ])('accepts %j (%s)', (key) => {
    expect(() => assertKey(key)).not.toThrow();
  });

  it.each([
    ['', /must not be empty/],
    ['x'.repeat(1025), /1025 bytes of UTF-8; S3 allows at most 1024/],
    ['é'.repeat(513), /1026 bytes/],
    ['😀'.repeat(257), /1028 bytes/],
    ['a\u0000b', /U\+0000 at index 1/],
    ['line\nbreak', /U\+000A/],
    ['tab\there', /U\+0009/],
    ['cr\r', /U\+000D/],
    ['\u001f', /U\+001F/],
    ['del\u007f', /U\+007F/],
    ['lone \ud800 surrogate', /unpaired UTF-16 surrogate/],
    ['lone \udc00 low', /unpaired UTF-16 surrogate/],
  ])('refuses %j', (key, message) => {
    expectInvalid(() => assertKey(key), 'key', message);
  });

  it('explains why control characters are refused', () => {
    expectInvalid(() => assertKey('a\u0001'), 'key', /XML listings and delete requests cannot carry them/);
  });

  it.each([[undefined], [null], [1], [{}]])('refuses non-strings (%j)', (value) => {
    expectInvalid(() => assertKey(value, 'source.key'), 'source.key', /must be a string/);
  });
});

describe('assertCannedAcl', () => {
  it.each(CANNED_ACLS.object.map((acl) => [acl]))('accepts %j on objects', (acl) => {
    expect(() => assertCannedAcl(acl, 'acl', 'object')).not.toThrow();
  });

  it.each(CANNED_ACLS.bucket.map((acl) => [acl]))('accepts %j on buckets', (acl) => {
    expect(() => assertCannedAcl(acl, 'acl', 'bucket')).not.toThrow();
  });

  it('lists exactly the ACLs S3 documents', () => {
    expect(CANNED_ACLS.object).toEqual([
      'private',
      'public-read',
      'public-read-write',
      'authenticated-read',
      'aws-exec-read',
      'bucket-owner-read',
      'bucket-owner-full-control',
    ]);
    expect(CANNED_ACLS.bucket).toEqual(['private', 'public-read', 'public-read-write', 'authenticated-read']);
  });

  it.each([
    ['aws-exec-read', 'bucket', /not a canned ACL for buckets; allowed: private, public-read, public-read-write, authenticated-read$/],
    ['bucket-owner-full-control', 'bucket', /not a canned ACL for buckets/],
    ['Private', 'object', /"Private" is not a canned ACL for objects; allowed: private, public-read/],
    ['log-delivery-write', 'object', /not a canned ACL for objects/],
    ['', 'object', /"" is not a canned ACL/],
    [undefined, 'object', /undefined is not a canned ACL/],
  ] as const)('refuses %j on %s', (value, kind, message) => {
    expectInvalid(() => assertCannedAcl(value, 'acl', kind), 'acl', message);
  });
});

describe('assertStorageClass', () => {
  it.each(STORAGE_CLASSES.map((c) => [c]))('accepts %j', (value) => {
    expect(() => assertStorageClass(value)).not.toThrow();
  });

  it.each([['standard'], ['ARCHIVE'], [''], [3]])('refuses %j', (value) => {
    expectInvalid(() => assertStorageClass(value, 'headers.x-amz-storage-class'), 'headers.x-amz-storage-class', /not an S3 storage class; allowed: STANDARD, /);
  });
});

describe('splitCopySource', () => {
  it.each([
    ['bucket/key', 'bucket', 'key'],
    ['bucket/dir/sub/file.txt', 'bucket', 'dir/sub/file.txt'],
    ['/bucket/key', 'bucket', 'key'],
    ['bucket//double', 'bucket', '/double'],
    ['bucket/a b+c%20', 'bucket', 'a b+c%20'],
    ['bucket/k?versionId=1', 'bucket', 'k?versionId=1'],
    ['bucket/日本', 'bucket', '日本'],
  ])('splits %j', (source, bucket, key) => {
    expect(splitCopySource(source)).toEqual({ bucket, key });
  });

  it.each([
    ['bucket', 'source', /has no "\/"; write the copy source as "<bucket>\/<key>"/],
    ['bucket/', 'source.key', /must not be empty/],
    ['/bucket-only', 'source', /has no "\/"/],
    ['/bucket/', 'source.key', /must not be empty/],
    ['Bad_Bucket/key', 'source.bucket', /contains "B"/],
    ['//key', 'source.bucket', /0 characters long/],
    ['bucket/a\nb', 'source.key', /U\+000A/],
  ])('refuses %j', (source, field, message) => {
    expectInvalid(() => splitCopySource(source), field, message);
  });

  it('names the field it is given', () => {
    expectInvalid(() => splitCopySource(42, 'job.source'), 'job.source', /must be a string "<bucket>\/<key>"/);
    expectInvalid(() => splitCopySource('x/y', 'job.source'), 'job.source.bucket', /"x" is 1 character long/);
  });
});
