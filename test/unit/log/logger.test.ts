import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger, scrubSecrets } from '../../../shared/log/logger.js';

const SIG = 'a'.repeat(24) + '0123456789abcdef'.repeat(2) + 'b'.repeat(8);
const presigned = `http://127.0.0.1:4568/b/k?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKID%2F20260101%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20260101T000000Z&X-Amz-Expires=60&X-Amz-SignedHeaders=host&X-Amz-Signature=${SIG}`;
const authorization = `AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/s3/aws4_request, SignedHeaders=host;x-amz-date, Signature=${SIG}`;

describe('scrubSecrets', () => {
  it('redacts the signature and credential of a presigned URL', () => {
    const out = scrubSecrets(`bad request ${presigned}`);
    expect(out).not.toContain(SIG);
    expect(out).toContain('X-Amz-Signature=[redacted]');
    expect(out).toContain('X-Amz-Credential=[redacted]');
    expect(out).toContain('X-Amz-Expires=60');
  });

  it('redacts the signature of an Authorization header echoed in an error (found by the reliability leak scan)', () => {
    const out = scrubSecrets(`InvalidArgument: Invalid request (Authorization: ${authorization})`);
    expect(out).not.toContain(SIG);
    expect(out).toContain('SignedHeaders=host;x-amz-date, Signature=[redacted])');
  });

  it('leaves other text alone', () => {
    expect(scrubSecrets('NoSuchKey: The specified key does not exist. (b/Signature=short)')).toBe('NoSuchKey: The specified key does not exist. (b/Signature=short)');
  });

  it('the logger scrubs error messages and stacks', () => {
    const lines: string[] = [];
    const logger = createLogger({ level: 'info' }, new Writable({ write: (chunk: Buffer, _e, done) => (lines.push(chunk.toString()), done()) }));
    logger.warn({ err: new Error(`failed (Authorization: ${authorization})`) }, 'attempt failed');
    expect(lines.join('')).not.toContain(SIG);
    expect(lines.join('')).toContain('Signature=[redacted]');
  });
});
