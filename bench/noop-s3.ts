/**
 * A no-op S3 for the queue-only part of the scale benchmark: an undici dispatcher that answers
 * every HEAD and CopyObject in-process with the fake S3's canned answers, without a socket. The
 * s3jobs client still builds, signs and parses every request; only the network and the server are
 * gone, so what is measured is the job system around them.
 *
 * (undici's MockAgent would do too, but it matches interceptors and keeps per-call bookkeeping,
 * which cost more than the job system it is meant to isolate.)
 */
import { Dispatcher } from 'undici';
import { COPY_RESULT, HEAD_HEADERS } from './canned-s3.js';

const raw = (headers: Record<string, string>): Buffer[] => Object.entries(headers).flatMap(([name, value]) => [Buffer.from(name), Buffer.from(value)]);
const HEAD_RAW = raw(HEAD_HEADERS);
const COPY_RAW = raw({ 'content-type': 'application/xml', 'content-length': String(COPY_RESULT.length), 'x-amz-request-id': '4442587FB7D0A2F9' });

/** The legacy handler interface undici's `request()` hands to `dispatch`. */
interface LegacyHandler {
  onConnect?(abort: (err?: Error) => void): void;
  onHeaders?(status: number, rawHeaders: Buffer[], resume: () => void, statusText: string): boolean;
  onData?(chunk: Buffer): boolean;
  onComplete?(trailers: Buffer[]): void;
  onError?(err: Error): void;
}

class NoopS3 extends Dispatcher {
  override dispatch(options: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler): boolean {
    const h = handler as unknown as LegacyHandler;
    const head = options.method === 'HEAD';
    setImmediate(() => {
      let aborted = false;
      h.onConnect?.((err) => {
        aborted = true;
        h.onError?.(err ?? new Error('aborted'));
      });
      if (aborted) return;
      h.onHeaders?.(200, head ? HEAD_RAW : COPY_RAW, () => undefined, 'OK');
      if (!head) h.onData?.(COPY_RESULT);
      h.onComplete?.([]);
    });
    return true;
  }

  override close(): Promise<void> {
    return Promise.resolve();
  }

  override destroy(): Promise<void> {
    return Promise.resolve();
  }
}

export function noopS3Dispatcher(): Dispatcher {
  return new NoopS3();
}
