import { EventEmitter } from 'node:events';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createLogger } from '../../../shared/log/logger.js';
import { installSignalHandlers, isRequeueReason, LockLost, ShutdownRequested } from '../../../workers/shutdown.js';

const logger = createLogger({ level: 'silent' });

afterEach(() => {
  vi.useRealTimers();
});

describe('installSignalHandlers', () => {
  it('first signal: graceful close with the grace; second: close now, and a hard exit only if that hangs', async () => {
    vi.useFakeTimers();
    const emitter = new EventEmitter();
    const closes: number[] = [];
    const exits: number[] = [];
    const target = { close: (graceMs?: number) => (closes.push(graceMs ?? -1), new Promise<void>(() => undefined)) };
    const uninstall = installSignalHandlers(target, { graceMs: 25_000, logger, emitter, forceExit: (c) => exits.push(c), forceExitMs: 5_000 });

    emitter.emit('SIGTERM', 'SIGTERM');
    expect(closes).toEqual([25_000]);
    emitter.emit('SIGINT', 'SIGINT');
    expect(closes).toEqual([25_000, 0]);
    vi.advanceTimersByTime(4_999);
    expect(exits).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(exits).toEqual([1]);
    emitter.emit('SIGINT', 'SIGINT');
    expect(closes).toHaveLength(2);

    uninstall();
    expect(emitter.listenerCount('SIGTERM') + emitter.listenerCount('SIGINT')).toBe(0);
  });

  it('no hard exit once uninstalled (the worker closed in time)', () => {
    vi.useFakeTimers();
    const emitter = new EventEmitter();
    const exits: number[] = [];
    const uninstall = installSignalHandlers({ close: async () => undefined }, { graceMs: 1, logger, emitter, forceExit: (c) => exits.push(c) });
    emitter.emit('SIGTERM', 'SIGTERM');
    emitter.emit('SIGTERM', 'SIGTERM');
    uninstall();
    vi.advanceTimersByTime(60_000);
    expect(exits).toEqual([]);
  });
});

describe('isRequeueReason', () => {
  it('is true for a shutdown or a lost lock, also across module copies, and false for anything else', () => {
    expect(isRequeueReason(new ShutdownRequested())).toBe(true);
    expect(isRequeueReason(new LockLost('1'))).toBe(true);
    expect(isRequeueReason(Object.assign(new Error('x'), { name: 'ShutdownRequested' }))).toBe(true);
    expect(isRequeueReason('cancelled')).toBe(false);
    expect(isRequeueReason(undefined)).toBe(false);
    expect(isRequeueReason(new Error('deadline'))).toBe(false);
  });
});
