/**
 * vitest globalSetup (runs once, in the main process, before any test file):
 * - checks Redis answers at REDIS_URL, failing the run with a clear message if not;
 * - unless S3_TEST_ENDPOINT names an external server, starts one s3rver child (restarted if it
 *   crashes, on the same port and storage) and hands its details to workers via `provide`;
 * - the returned teardown stops it.
 */
import type { TestProject } from 'vitest/node';
import './provided-context.js';
import { assertRedisAnswers } from './redis.js';
import { startS3rver, type S3rverProcess } from './s3rver-process.js';

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  await assertRedisAnswers();

  let s3rver: S3rverProcess | undefined;
  if (process.env.S3_TEST_ENDPOINT?.trim()) {
    project.provide('s3rver', null);
  } else {
    s3rver = await startS3rver({ restartOnExit: true });
    project.provide('s3rver', {
      endpoint: s3rver.endpoint,
      accessKey: s3rver.accessKey,
      secretKey: s3rver.secretKey,
      region: s3rver.region,
    });
  }

  return async () => {
    await s3rver?.stop();
  };
}
