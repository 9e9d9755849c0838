import { existsSync } from 'node:fs';
import { Agent, request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { uniqueBucketName } from '../../support/s3-env.js';
import { startS3rver, type S3rverProcess } from '../../support/s3rver-process.js';

/** These tests run their own s3rver child (one crashes it on purpose), never the shared one. */
describe('startS3rver', () => {
  let s3rver: S3rverProcess;
  const deaths: string[] = [];
  const dispatcher = new Agent();

  beforeAll(async () => {
    s3rver = await startS3rver({ restartOnExit: true, onUnexpectedExit: (line) => deaths.push(line) });
  });
  afterAll(async () => {
    await dispatcher.destroy();
    await s3rver.stop();
  });

  const call = async (method: string, path: string, body?: string, headers?: Record<string, string>) => {
    const res = await request(`${s3rver.endpoint}${path}`, { method, body, headers, dispatcher });
    return { status: res.statusCode, headers: res.headers, body: await res.body.text() };
  };

  it('listens on 127.0.0.1 with the S3RVER credentials and a fresh storage dir', async () => {
    expect(s3rver.endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(s3rver).toMatchObject({ accessKey: 'S3RVER', secretKey: 'S3RVER', region: 'us-east-1' });
    expect(existsSync(s3rver.directory)).toBe(true);
    expect(s3rver.isRunning()).toBe(true);
  });

  it('answers S3 XML errors (NoSuchBucket unsigned, SignatureDoesNotMatch on a bad signature)', async () => {
    const missing = await call('GET', `/${uniqueBucketName('missing')}`);
    expect(missing.status).toBe(404);
    expect(missing.body).toContain('<Error><Code>NoSuchBucket</Code>');

    const amzDate = new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
    const bad = await call('GET', '/', undefined, {
      'x-amz-date': amzDate,
      'x-amz-content-sha256': 'UNSIGNED-PAYLOAD',
      authorization: `AWS4-HMAC-SHA256 Credential=S3RVER/${amzDate.slice(0, 8)}/us-east-1/s3/aws4_request, SignedHeaders=host;x-amz-date, Signature=${'0'.repeat(64)}`,
    });
    expect(bad.status).toBe(403);
    expect(bad.body).toContain('<Code>SignatureDoesNotMatch</Code>');
  });

  it('paginates listings (needs --openssl-legacy-provider on Node 20)', async () => {
    const bucket = uniqueBucketName('paginate');
    expect((await call('PUT', `/${bucket}`)).status).toBe(200);
    for (const key of ['a', 'b', 'c']) expect((await call('PUT', `/${bucket}/${key}`, key)).status).toBe(200);

    const page1 = await call('GET', `/${bucket}?list-type=2&max-keys=2`);
    expect(page1.status).toBe(200);
    expect(page1.body).toContain('<IsTruncated>true</IsTruncated>');
    const token = /<NextContinuationToken>([^<]+)<\/NextContinuationToken>/.exec(page1.body)?.[1];
    expect(token).toBeDefined();
    const page2 = await call('GET', `/${bucket}?list-type=2&max-keys=2&continuation-token=${encodeURIComponent(token ?? '')}`);
    expect(page2.status).toBe(200);
    expect(page2.body).toContain('<Key>c</Key>');
    expect(page2.body).toContain('<IsTruncated>false</IsTruncated>');
  });

  it('comes back on the same port with the same data after a crash', async () => {
    const bucket = uniqueBucketName('crash');
    expect((await call('PUT', `/${bucket}`)).status).toBe(200);
    expect((await call('PUT', `/${bucket}/kept`, 'still here')).status).toBe(200);
    const pidBefore = s3rver.pid;

    // Known s3rver crash: CompleteMultipartUpload naming a part that was never uploaded.
    const created = await call('POST', `/${bucket}/mpu?uploads`);
    const uploadId = /<UploadId>([^<]+)<\/UploadId>/.exec(created.body)?.[1] ?? '';
    expect(uploadId).not.toBe('');
    const complete =
      '<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>"0"</ETag></Part></CompleteMultipartUpload>';
    await expect(call('POST', `/${bucket}/mpu?uploadId=${uploadId}`, complete)).rejects.toThrow();

    await expect.poll(() => s3rver.restarts, { timeout: 15_000 }).toBe(1);
    expect(s3rver.pid).not.toBe(pidBefore);
    expect(deaths.join('\n')).toMatch(/died \(code 1/);
    expect(await call('GET', `/${bucket}/kept`)).toMatchObject({ status: 200, body: 'still here' });
  });

  it('restart() replaces the child on demand', async () => {
    const pidBefore = s3rver.pid;
    const restartsBefore = s3rver.restarts;
    await s3rver.restart();
    expect(s3rver.pid).not.toBe(pidBefore);
    expect(s3rver.restarts).toBe(restartsBefore + 1);
    expect((await call('GET', '/')).status).toBe(200);
  });

  it('stop() ends the child and removes the temp storage', async () => {
    const other = await startS3rver();
    const pid = other.pid;
    await other.stop();
    expect(other.isRunning()).toBe(false);
    expect(existsSync(other.directory)).toBe(false);
    if (pid === undefined) throw new Error('child had no pid');
    expect(() => process.kill(pid, 0)).toThrow(/ESRCH/);
  });
});
