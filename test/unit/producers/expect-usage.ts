import { expect } from 'vitest';
import { ExitCode, exitCodeFor, UsageError } from '../../../producers/cli/exit-codes.js';

/** Runs `fn`, expects a UsageError naming `flag` (exit 2) whose message matches `message`. */
export function expectUsage(fn: () => unknown, flag: string, message: RegExp): UsageError {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  expect(caught, 'expected a UsageError').toBeInstanceOf(UsageError);
  const err = caught as UsageError;
  expect(err.field).toBe(flag);
  expect(err.message.startsWith(`${flag}: `)).toBe(true);
  expect(err.message).toMatch(message);
  expect(exitCodeFor(err)).toBe(ExitCode.Usage);
  return err;
}
