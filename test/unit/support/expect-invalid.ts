import { expect } from 'vitest';
import { ErrorCodes, ValidationError } from '../../../shared/errors.js';

/**
 * Runs `fn` and expects the core's bad-input error: a ValidationError with code `code` (default
 * S3JOBS_INVALID_INPUT; `validateJob` raises S3JOBS_INVALID_JOB), never retryable, naming `field`
 * first in its message, and matching `message`.
 */
export function expectInvalid(fn: () => unknown, field: string, message: RegExp, code: string = ErrorCodes.InvalidInput): void {
  let caught: unknown;
  try {
    fn();
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(ValidationError);
  const error = caught as ValidationError;
  expect(error.code).toBe(code);
  expect(error.retryable).toBe(false);
  expect(error.field).toBe(field);
  expect(error.message.startsWith(`${field}: `)).toBe(true);
  expect(error.message).toMatch(message);
}
