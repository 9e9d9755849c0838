/**
 * Ctrl-C for the commands that follow a run (the run commands, `run report --wait`): the first one
 * stops following (the run itself lives in Redis and goes on), a second one exits at once. Its own
 * file so that both `migrate.ts` and `runs.ts` use it without importing each other.
 */
import { processIo, type CliIo } from './io.js';

/** Exit code of a command stopped by Ctrl-C (128 + SIGINT), as shells report it. */
export const EXIT_INTERRUPTED = 130;

/** A `CliIo` that may bring its own interrupt source (tests); the process's own io uses SIGINT. */
export interface InterruptibleIo extends CliIo {
  /** Calls `handler` on Ctrl-C; returns the function that removes it. */
  onInterrupt?: ((handler: () => void) => () => void) | undefined;
}

/** How `io` reports Ctrl-C: its own `onInterrupt`, or SIGINT for the process's io. */
export function interruptsOf(io: InterruptibleIo): InterruptibleIo['onInterrupt'] {
  if (io !== processIo) return io.onInterrupt;
  return (handler) => {
    let count = 0;
    const listener = (): void => {
      count++;
      // A second Ctrl-C means "now": what the first one stopped is resumable all the same.
      if (count > 1) process.exit(EXIT_INTERRUPTED);
      handler();
    };
    process.on('SIGINT', listener);
    return () => process.off('SIGINT', listener);
  };
}
