import { describe, expect, it } from 'vitest';
import { leftUpload } from '../../../workers/left-upload.js';

const copy = { kind: 'copy' as const, payload: { kind: 'copy', profile: 'dst', source: { bucket: 's', key: 'a' }, destination: { bucket: 'd', key: 'x/a.bin' }, acl: 'private' } };
const progress = { transfer: { uploadId: 'u1', destination: 'd/x/a.bin', sourceEtag: '"e"', size: 10, partSize: 5 } };

describe('the upload a dead-lettered copy left', () => {
  it("is the checkpoint's, on the copy's destination with the copy's profile", () => {
    expect(leftUpload(copy, progress)).toEqual({ profile: 'dst', bucket: 'd', key: 'x/a.bin', uploadId: 'u1' });
  });

  it('is none without a checkpoint, for another kind, or when payload and checkpoint disagree', () => {
    expect(leftUpload(copy, 0)).toBeUndefined();
    expect(leftUpload(copy, { transfer: null })).toBeUndefined();
    expect(leftUpload({ ...copy, kind: 'metadata-rewrite' }, progress)).toBeUndefined();
    expect(leftUpload(copy, { transfer: { ...progress.transfer, destination: 'd/other.bin' } })).toBeUndefined();
    expect(leftUpload({ kind: 'copy', payload: 'garbage' }, progress)).toBeUndefined();
    expect(leftUpload({ kind: 'copy', payload: null }, progress)).toBeUndefined();
  });
});
