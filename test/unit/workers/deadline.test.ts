import { getEventListeners } from 'node:events';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ErrorCodes, S3JobsError } from '../../../shared/errors.js';
import { createJobDeadline, JobDeadlineExceeded, resolveJobTimeout } from '../../../workers/deadline.js';
import { LockLost, ShutdownRequested } from '../../../workers/shutdown.js';

const aborted = () => new S3JobsError(ErrorCodes.Aborted, 'PUT k was aborted by the caller', { retryable: true });

afterEach(() => {
  vi.useRealTimers();
});

describe('resolveJobTimeout', () => {
  it("takes the job's own timeout, null meaning none, else the worker default", () => {
    expect(resolveJobTimeout(undefined, 30_000)).toBe(30_000);
    expect(resolveJobTimeout(5_000, 30_000)).toBe(5_000);
    expect(resolveJobTimeout(null, 30_000)).toBeNull();
  });
});

describe('createJobDeadline', () => {
  it('fires at the deadline, and turns the resulting abort into a retryable S3JOBS_TIMEOUT', () => {
    vi.useFakeTimers();
    const d = createJobDeadline({ timeoutMs: 1_000 });
    expect(d.signal.aborted).toBe(false);
    vi.advanceTimersByTime(999);
    expect(d.signal.aborted).toBe(false);
    vi.advanceTimersByTime(1);
    expect(d.signal.aborted).toBe(true);
    expect(d.expired).toBe(true);
    const err = d.errorFor(aborted());
    expect(err).toBeInstanceOf(JobDeadlineExceeded);
    expect(err).toMatchObject({ code: ErrorCodes.Timeout, retryable: true, message: 'job deadline of 1000 ms exceeded' });
    expect((err as Error).cause).toBeInstanceOf(S3JobsError);
    d.dispose();
  });

  it('leaves errors that are not aborts alone, even after the deadline', () => {
    vi.useFakeTimers();
    const d = createJobDeadline({ timeoutMs: 10 });
    vi.advanceTimersByTime(10);
    const notFound = new S3JobsError('NoSuchKey', 'gone');
    expect(d.errorFor(notFound)).toBe(notFound);
  });

  it('composes the outside signals: shutdown aborts it with its own reason, which wins over the deadline', () => {
    vi.useFakeTimers();
    const shutdown = new AbortController();
    const lock = new AbortController();
    const d = createJobDeadline({ timeoutMs: 1_000, signals: [shutdown.signal, lock.signal, undefined] });
    const reason = new ShutdownRequested();
    shutdown.abort(reason);
    expect(d.signal.aborted).toBe(true);
    expect(d.signal.reason).toBe(reason);
    expect(d.abortReason()).toBe(reason);
    vi.advanceTimersByTime(1_000);
    const err = aborted();
    expect(d.errorFor(err)).toBe(err); // a shutdown, not a timeout
    d.dispose();
  });

  it('tells which outside signal fired', () => {
    const lock = new AbortController();
    const d = createJobDeadline({ timeoutMs: null, signals: [new AbortController().signal, lock.signal] });
    lock.abort(new LockLost('j1'));
    expect(d.abortReason()).toBeInstanceOf(LockLost);
  });

  it('without a deadline only outside signals can fire', () => {
    vi.useFakeTimers();
    const d = createJobDeadline({ timeoutMs: null });
    vi.advanceTimersByTime(7 * 24 * 3600 * 1000);
    expect(d.signal.aborted).toBe(false);
    expect(d.timeoutMs).toBeNull();
  });

  it('lift() removes the deadline and hands back the outside signals only', () => {
    vi.useFakeTimers();
    const shutdown = new AbortController();
    const d = createJobDeadline({ timeoutMs: 100, signals: [shutdown.signal] });
    const lifted = d.lift();
    expect(d.lifted).toBe(true);
    vi.advanceTimersByTime(10_000);
    expect(lifted.aborted).toBe(false);
    expect(d.expired).toBe(false);
    shutdown.abort(new ShutdownRequested());
    expect(lifted.aborted).toBe(true);
  });

  it('an outside signal that has already fired aborts it at once, with its reason', () => {
    const shutdown = new AbortController();
    const reason = new ShutdownRequested();
    shutdown.abort(reason);
    const d = createJobDeadline({ timeoutMs: 1_000, signals: [shutdown.signal] });
    expect(d.signal.aborted).toBe(true);
    expect(d.signal.reason).toBe(reason);
    expect(d.abortReason()).toBe(reason);
    d.dispose();
  });

  it('takes the reason of the first outside signal to fire', () => {
    const shutdown = new AbortController();
    const lock = new AbortController();
    const d = createJobDeadline({ timeoutMs: null, signals: [shutdown.signal, lock.signal] });
    const lost = new LockLost('j1');
    lock.abort(lost);
    shutdown.abort(new ShutdownRequested());
    expect(d.signal.reason).toBe(lost);
    d.dispose();
  });

  it('puts one listener on a shared outside signal however many jobs follow it, and dispose() detaches a job', () => {
    const shutdown = new AbortController();
    const deadlines = Array.from({ length: 40 }, () => createJobDeadline({ timeoutMs: 60_000, signals: [shutdown.signal, new AbortController().signal] }));
    expect(getEventListeners(shutdown.signal, 'abort')).toHaveLength(1); // no MaxListenersExceededWarning at concurrency 40
    for (const d of deadlines.slice(0, 10)) d.dispose();
    const reason = new ShutdownRequested();
    shutdown.abort(reason);
    expect(deadlines.slice(0, 10).every((d) => !d.signal.aborted)).toBe(true); // ended before the shutdown
    expect(deadlines.slice(10).every((d) => d.signal.reason === reason && d.abortReason() === reason)).toBe(true);
    for (const d of deadlines) d.dispose();
  });

  it('lift() with several outside signals hands back a signal that follows them all', () => {
    vi.useFakeTimers();
    const shutdown = new AbortController();
    const lock = new AbortController();
    const d = createJobDeadline({ timeoutMs: 100, signals: [shutdown.signal, lock.signal] });
    const lifted = d.lift();
    expect(d.lift()).toBe(lifted);
    vi.advanceTimersByTime(10_000);
    expect(lifted.aborted).toBe(false);
    expect(d.signal.aborted).toBe(false);
    const lost = new LockLost('j1');
    lock.abort(lost);
    expect(lifted.reason).toBe(lost);
    expect(d.signal.reason).toBe(lost);
    d.dispose();
  });

  it('abort() stops the job from outside without a signal of its own: its reason ranks first, the first stop wins', () => {
    vi.useFakeTimers();
    const shutdown = new AbortController();
    const d = createJobDeadline({ timeoutMs: 1_000, signals: [shutdown.signal] });
    const lost = new LockLost('j1');
    d.abort(lost);
    d.abort(new LockLost('again'));
    expect(d.signal.aborted).toBe(true);
    expect(d.signal.reason).toBe(lost);
    shutdown.abort(new ShutdownRequested());
    expect(d.abortReason()).toBe(lost);
    vi.advanceTimersByTime(1_000);
    const err = aborted();
    expect(d.errorFor(err)).toBe(err); // stopped on purpose, not timed out
    d.dispose();
  });

  it('abort() reaches the signal lift() handed out, before or after the lift', () => {
    const later = createJobDeadline({ timeoutMs: 100, signals: [new AbortController().signal] });
    const lifted = later.lift();
    later.abort(new LockLost('j1'));
    expect(lifted.reason).toBeInstanceOf(LockLost);
    later.dispose();
    const earlier = createJobDeadline({ timeoutMs: null });
    earlier.abort();
    expect(earlier.lift().aborted).toBe(true);
    expect(earlier.abortReason()).toMatchObject({ name: 'AbortError' }); // as AbortController.abort()
    earlier.dispose();
  });

  it('refuses a meaningless timeout', () => {
    expect(() => createJobDeadline({ timeoutMs: 0 })).toThrow(RangeError);
    expect(() => createJobDeadline({ timeoutMs: Number.NaN })).toThrow(RangeError);
  });
});
