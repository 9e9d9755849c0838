import { Agent, request } from 'undici';
import { describe, expect, it } from 'vitest';
import {
  externalTargetFromEnv,
  missingFeatureReason,
  parseLacks,
  S3_FEATURES,
  s3Target,
  serverHas,
  uniqueBucketName,
} from '../../support/s3-env.js';

/** S3 bucket naming rules (the ones a generated name could break). */
const VALID_BUCKET = /^(?!xn--)(?!sthree-)[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$/;

describe('uniqueBucketName', () => {
  it.each([
    ['copy'],
    ['Copy_Jobs.With Dots'],
    [''],
    ['---'],
    ['xn--punycode'],
    ['sthree-reserved'],
    ['a'.repeat(100)],
    ['ünïcödé-prefix'],
  ])('makes a valid name from %j', (prefix) => {
    const name = uniqueBucketName(prefix);
    expect(name).toMatch(VALID_BUCKET);
    expect(name.length).toBeLessThanOrEqual(63);
  });

  it('never repeats within a process and carries the pid', () => {
    const names = new Set(Array.from({ length: 1000 }, () => uniqueBucketName('dup')));
    expect(names.size).toBe(1000);
    expect([...names][0]).toContain(`-${process.pid.toString(36)}-`);
  });
});

describe('external target from env', () => {
  it('is undefined without S3_TEST_ENDPOINT', () => {
    expect(externalTargetFromEnv({})).toBeUndefined();
  });

  it('reads endpoint, keys, region, location and lacks', () => {
    const target = externalTargetFromEnv({
      S3_TEST_ENDPOINT: 'http://minio.local:9000/',
      S3_TEST_ACCESS_KEY: 'ak',
      S3_TEST_SECRET_KEY: 'sk',
      S3_TEST_LOCATION: 'eu-west-1',
      S3_TEST_LACKS: 'acl, tagging',
    });
    expect(target).toMatchObject({
      kind: 'external',
      endpoint: 'http://minio.local:9000',
      region: 'us-east-1',
      location: 'eu-west-1',
    });
    expect([...(target?.lacks ?? [])]).toEqual(['acl', 'tagging']);
  });

  it('refuses missing keys and unknown features', () => {
    expect(() => externalTargetFromEnv({ S3_TEST_ENDPOINT: 'http://x:1' })).toThrow(/S3_TEST_ACCESS_KEY/);
    expect(() => parseLacks('acl,versioning')).toThrow(/unknown feature "versioning"/);
    expect(() =>
      externalTargetFromEnv({ S3_TEST_ENDPOINT: 'ftp://x', S3_TEST_ACCESS_KEY: 'a', S3_TEST_SECRET_KEY: 'b' }),
    ).toThrow(/http/);
  });
});

describe('s3Target', () => {
  it('answers HTTP at its endpoint', async () => {
    const target = s3Target();
    const dispatcher = new Agent();
    try {
      const res = await request(`${target.endpoint}/`, { dispatcher });
      // s3rver lists buckets anonymously; a real server answers 403 AccessDenied XML.
      expect([200, 403]).toContain(res.statusCode);
      expect(await res.body.text()).toMatch(/ListAllMyBucketsResult|<Error>/);
    } finally {
      await dispatcher.close();
    }
  });

  it.runIf(s3Target().kind === 's3rver')('says s3rver lacks every optional feature, with a reason', () => {
    for (const feature of S3_FEATURES) {
      expect(serverHas(feature)).toBe(false);
      expect(missingFeatureReason(feature)).toContain('s3rver does not implement');
    }
  });
});
