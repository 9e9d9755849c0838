/**
 * The circuit breaker: the pure state machine (opens after N store-down failures in a row, any
 * answer closes it or resets the count, probes back off 1 s → 30 s), and EndpointBreakers' I/O
 * with a probe the test controls — per endpoint, so one endpoint's outage leaves another alone.
 */
import { describe, expect, it } from 'vitest';
import { admits, CLOSED, onAnswer, onProbeFailed, onStoreDown, probeDelay, type BreakerPolicy, type BreakerState } from '../../../workers/breaker/breaker-state.js';
import { EndpointBreakers } from '../../../workers/breaker/endpoint-breakers.js';
import type { DestinationStream } from 'pino';
import { createLogger } from '../../../shared/log/logger.js';

/** Polls (the machine may be slow: no timing is asserted, only order). */
async function until(ok: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error('condition not reached');
    await new Promise((r) => setTimeout(r, 5));
  }
}

const policy: BreakerPolicy = { failures: 3, firstProbeMs: 1_000, maxProbeMs: 30_000 };

describe('breaker state machine', () => {
  it('opens on the Nth store-down failure in a row, not before; an answer in between resets the count', () => {
    let s: BreakerState = CLOSED;
    s = onStoreDown(s, 0, policy).state;
    s = onStoreDown(s, 1, policy).state;
    expect(s).toEqual({ status: 'closed', failures: 2 });
    s = onAnswer(s).state;
    expect(s).toEqual(CLOSED);
    s = onStoreDown(onStoreDown(s, 2, policy).state, 3, policy).state;
    const t = onStoreDown(s, 100, policy);
    expect(t.change).toBe('opened');
    expect(t.state).toEqual({ status: 'open', openedAt: 100, probes: 0, nextProbeAt: 1_100 });
    expect(admits(t.state)).toBe(false);
    // More failures while open change nothing.
    expect(onStoreDown(t.state, 200, policy)).toEqual({ state: t.state, change: undefined });
  });

  it("another worker's open breaker: the first store-down failure opens this one; without it the count goes on", () => {
    expect(onStoreDown(CLOSED, 50, policy, true)).toEqual({ state: { status: 'open', openedAt: 50, probes: 0, nextProbeAt: 1_050 }, change: 'opened' });
    const one = onStoreDown(CLOSED, 0, policy, false).state;
    expect(one).toEqual({ status: 'closed', failures: 1 });
    // A peer's breaker opened after this worker's first failure: the next one opens it.
    expect(onStoreDown(one, 10, policy, true).change).toBe('opened');
    // An answer still wins: peers open or not, an answering store keeps this breaker closed.
    expect(onAnswer(one)).toEqual({ state: CLOSED, change: undefined });
  });

  it('probes back off from 1 s, doubling, to 30 s; an answer closes', () => {
    expect([0, 1, 2, 3, 4, 5, 6, 10].map((n) => probeDelay(n, policy))).toEqual([1_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000, 30_000]);
    let s: BreakerState = { status: 'open', openedAt: 0, probes: 0, nextProbeAt: 1_000 };
    s = onProbeFailed(s, 1_000, policy).state;
    expect(s).toEqual({ status: 'open', openedAt: 0, probes: 1, nextProbeAt: 3_000 });
    s = onProbeFailed(s, 3_000, policy).state;
    expect(s).toMatchObject({ probes: 2, nextProbeAt: 7_000 });
    const closed = onAnswer(s);
    expect(closed).toEqual({ state: CLOSED, change: 'closed' });
    expect(admits(closed.state)).toBe(true);
    expect(onProbeFailed(CLOSED, 0, policy)).toEqual({ state: CLOSED, change: undefined });
  });
});

describe('EndpointBreakers', () => {
  it('per endpoint: opens, probes until an answer, closes and hands back the jobs it held', async () => {
    const events: string[] = [];
    let answer: number | undefined;
    let probes = 0;
    const breakers = new EndpointBreakers({
      policy: { failures: 2, firstProbeMs: 20, maxProbeMs: 40 },
      logger: createLogger({ level: 'silent' }),
      onOpen: (b) => events.push(`open ${b.endpoint}`),
      onClose: (endpoint, _ms, ids) => events.push(`close ${endpoint} ${ids.join(',')}`),
      onDefer: (endpoint) => events.push(`defer ${endpoint}`),
    });
    const probe = async (): Promise<number> => {
      probes++;
      if (answer === undefined) throw new Error('ECONNREFUSED');
      return answer;
    };
    try {
      expect(breakers.storeDown('http://a', probe)).toBe(false);
      expect(breakers.storeDown('http://a', probe)).toBe(true);
      expect(breakers.admits('http://a')).toBe(false);
      expect(breakers.admits('http://b')).toBe(true);
      expect(breakers.retryAt('http://a')).toBeGreaterThan(Date.now());
      breakers.deferred('http://a', 'job-1');
      breakers.deferred('http://a', 'job-2');
      expect(breakers.open()).toMatchObject([{ endpoint: 'http://a', probes: 0, deferredJobs: 2 }]);
      await until(() => probes >= 2);
      expect(breakers.admits('http://a')).toBe(false);
      // A gateway's 503 is not the store answering.
      answer = 503;
      const before = probes;
      await until(() => probes >= before + 2);
      expect(breakers.admits('http://a')).toBe(false);
      answer = 404;
      await until(() => breakers.admits('http://a'));
      expect(events).toEqual(['open http://a', 'defer http://a', 'defer http://a', 'close http://a job-1,job-2']);
      expect(breakers.open()).toEqual([]);
    } finally {
      breakers.close();
    }
  });

  it('a job that gets an answer while the breaker is open closes it at once', () => {
    const closed: string[] = [];
    const breakers = new EndpointBreakers({ policy: { failures: 1, firstProbeMs: 60_000, maxProbeMs: 60_000 }, logger: createLogger({ level: 'silent' }), onClose: (e) => closed.push(e) });
    try {
      expect(breakers.storeDown('http://a', async () => 200)).toBe(true);
      breakers.answered('http://a');
      expect(breakers.admits('http://a')).toBe(true);
      expect(closed).toEqual(['http://a']);
    } finally {
      breakers.close();
    }
  });

  it("opens at the first failure at an endpoint a peer's breaker holds open, and says so; other endpoints keep their count", () => {
    const lines: string[] = [];
    const sink: DestinationStream = { write: (chunk: string) => void lines.push(chunk) };
    const counted: string[] = [];
    const breakers = new EndpointBreakers({ policy: { failures: 5, firstProbeMs: 60_000, maxProbeMs: 60_000 }, logger: createLogger({ level: 'warn' }, sink), onCounted: (e) => counted.push(e) });
    const probe = async (): Promise<number> => 200;
    try {
      breakers.setPeers([{ endpoint: 'http://a', worker: 'host:1:abc' }]);
      expect(breakers.storeDown('http://a', probe)).toBe(true);
      expect(breakers.admits('http://a')).toBe(false);
      expect(breakers.storeDown('http://b', probe)).toBe(false);
      expect(breakers.admits('http://b')).toBe(true);
      const opened = lines.map((l) => JSON.parse(l) as { msg: string; failures: number; peers?: string[] });
      expect(opened).toHaveLength(1);
      expect(opened[0]).toMatchObject({ failures: 1, peers: ['host:1:abc'] });
      expect(opened[0]!.msg).toContain('1 store-down failure here while worker host:1:abc has its breaker open');
      // The peer's breaker closed (its record gone): failures count to the policy again.
      breakers.setPeers([]);
      for (let i = 0; i < 3; i++) expect(breakers.storeDown('http://b', probe)).toBe(false);
      expect(breakers.storeDown('http://b', probe)).toBe(true);
      // Each failure counted while closed is a cue to read the peers again; the ones that opened are not.
      expect(counted).toEqual(['http://b', 'http://b', 'http://b', 'http://b']);
    } finally {
      breakers.close();
    }
  });

  it('confirmDown: a probe right after a failure that gets no answer opens the breaker at once; one probe serves every job failing meanwhile', async () => {
    const opened: string[] = [];
    let probes = 0;
    let answer: number | undefined;
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const probe = async (): Promise<number> => {
      probes++;
      await gate;
      if (answer === undefined) throw new Error('ECONNREFUSED');
      return answer;
    };
    const breakers = new EndpointBreakers({ policy: { failures: 5, firstProbeMs: 60_000, maxProbeMs: 60_000 }, logger: createLogger({ level: 'silent' }), onOpen: (b) => opened.push(b.endpoint) });
    try {
      expect(breakers.storeDown('http://a', probe)).toBe(false);
      const first = breakers.confirmDown('http://a', probe);
      expect(breakers.storeDown('http://a', probe)).toBe(false);
      const second = breakers.confirmDown('http://a', probe);
      release();
      expect(await Promise.all([first, second])).toEqual([true, true]);
      expect(probes).toBe(1);
      expect(breakers.admits('http://a')).toBe(false);
      expect(opened).toEqual(['http://a']);
      expect(await breakers.confirmDown('http://a', probe)).toBe(true);
      expect(probes).toBe(1);

      // The store answers (a 404 for the probed bucket is an answer): the failure was the job's own.
      answer = 404;
      expect(breakers.storeDown('http://b', probe)).toBe(false);
      expect(await breakers.confirmDown('http://b', probe)).toBe(false);
      expect(breakers.admits('http://b')).toBe(true);
      // ...and the count started again: four more failures do not open it (the policy's five would).
      for (let i = 0; i < 4; i++) expect(breakers.storeDown('http://b', probe)).toBe(false);
      expect(breakers.storeDown('http://b', probe)).toBe(true);

      // A gateway's 503 to the probe is no answer from the store.
      answer = 503;
      expect(breakers.storeDown('http://c', probe)).toBe(false);
      expect(await breakers.confirmDown('http://c', probe)).toBe(true);
      expect(opened).toEqual(['http://a', 'http://b', 'http://c']);
    } finally {
      breakers.close();
    }
  });
});
