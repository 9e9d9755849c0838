/** The part size of a file upload: the one asked, raised so that no file needs more than 10,000 parts. Pure. */
import { describe, expect, it } from 'vitest';
import { MAX_PARTS, MIN_PART_BYTES, partSizeFor } from '../../../shared/s3/upload-file.js';

const MiB = 1024 * 1024;

describe('partSizeFor', () => {
  it('keeps the size asked while 10,000 parts are enough', () => {
    expect(partSizeFor(10 * MiB, 16 * MiB)).toBe(16 * MiB);
    expect(partSizeFor(MAX_PARTS * 16 * MiB, 16 * MiB)).toBe(16 * MiB);
  });

  it('raises it to whole MiB for larger files (a 300 GB report), never under S3\'s 5 MiB', () => {
    const size = 300 * 1000 ** 3;
    expect(partSizeFor(size, 16 * MiB)).toBe(29 * MiB);
    const part = partSizeFor(size, 16 * MiB);
    expect(part % MiB).toBe(0);
    expect(Math.ceil(size / part)).toBeLessThanOrEqual(MAX_PARTS);
    expect(Math.ceil(size / (part - MiB))).toBeGreaterThan(MAX_PARTS);
    expect(partSizeFor(1, 1)).toBe(MIN_PART_BYTES);
  });
});
