/** The workers' circuit-breaker records as `s3jobs queue` and the dashboard read them. */
import { describe, expect, it } from 'vitest';
import { formatBreakerRecord, liveBreakerRecords, type BreakerRecord } from '../../../shared/queue/breakers.js';
import { formatBreakers } from '../../../producers/cli/status.js';

const now = Date.UTC(2026, 11, 4, 0, 0, 30);
const record = (over: Partial<BreakerRecord>): BreakerRecord => ({ endpoint: 'http://127.0.0.1:7480', worker: 'vm:1:abc', state: 'open', openedAt: now - 30_000, probes: 3, nextProbeAt: now + 4_000, deferredJobs: 120, expiresAt: now + 10_000, ...over });

describe('breaker records', () => {
  it('keeps live records oldest first; drops expired and unreadable ones (to be deleted)', () => {
    const values = {
      'w1 a': JSON.stringify(record({ worker: 'w1', openedAt: now - 5_000 })),
      'w2 a': JSON.stringify(record({ worker: 'w2' })),
      'w3 a': JSON.stringify(record({ worker: 'w3', expiresAt: now - 1 })),
      'w4 a': '{not json',
    };
    const { live, stale } = liveBreakerRecords(values, now);
    expect(live.map((r) => r.worker)).toEqual(['w2', 'w1']);
    expect(stale.sort()).toEqual(['w3 a', 'w4 a']);
  });

  it('one line per open breaker, or that every endpoint answers', () => {
    expect(formatBreakerRecord(record({}), now)).toBe(
      'S3 endpoint http://127.0.0.1:7480 unavailable for 30 s (since 2026-12-04T00:00:00Z): worker vm:1:abc holds its jobs back (120 put back without using an attempt; probe 4 at 2026-12-04T00:00:34Z)',
    );
    expect(formatBreakers([], now)).toBe('S3 endpoints: all answering (no circuit breaker open)\n');
    expect(formatBreakers([record({})], now)).toMatch(/^S3 endpoints held back by workers .*\n {2}S3 endpoint http:\/\/127\.0\.0\.1:7480 unavailable for 30 s/);
  });
});
