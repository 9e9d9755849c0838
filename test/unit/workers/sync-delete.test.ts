import { describe, expect, it } from 'vitest';
import { deleteFailure } from '../../../workers/processors/sync.js';
import { classify } from '../../../workers/retry/classify.js';

const firstOfThree = { attemptsMade: 1, attempts: 3 };

const denied = { key: 'keep/a', code: 'AccessDenied', message: 'Access Denied' };
const slow = { key: 'b', code: 'SlowDown', message: 'Reduce your request rate' };
const odd = { key: 'c', code: 'SomethingNew', message: '?' };

describe('sync --delete: a page of deletes some of which failed', () => {
  it('is not retried when every failure is one S3 answers the same way every time', () => {
    const err = deleteFailure([denied, { ...denied, key: 'keep/b' }], 10);
    expect(err).toMatchObject({ code: 'AccessDenied', retryable: false });
    expect(err.message).toBe('sync --delete: 2 of 10 deletes failed (AccessDenied), e.g. keep/a: Access Denied');
    expect(classify(err, firstOfThree)).toMatchObject({ action: 'dead-letter', reason: 'permanent' });
  });

  it('is retried when any failure may pass next time, under that failure code (even listed after a permanent one)', () => {
    for (const transient of [slow, odd]) {
      const err = deleteFailure([denied, transient], 3);
      expect(err).toMatchObject({ code: transient.code, retryable: true });
      expect(err.message).toContain(`(AccessDenied, ${transient.code})`);
      expect(classify(err, firstOfThree)).toMatchObject({ action: 'retry', code: transient.code });
    }
  });
});
