/**
 * vitest globalSetup (runs once, in the main process, before any test file):
 * - checks Redis answers at REDIS_URL, failing the run with a clear message if not;
 * - unless S3_TEST_ENDPOINT names an external server (then it only checks that it answers HTTP),
 *   starts one s3rver child (restarted if it crashes, on the same port and storage) and hands its
 *   details to workers via `provide`;
 * - the returned teardown stops it.
 */
import { request } from 'undici';
import type { TestProject } from 'vitest/node';
import './provided-context.js';
import { assertRedisAnswers } from './redis.js';
import { startS3rver, type S3rverProcess } from './s3rver-process.js';

/** Any HTTP answer will do (a real S3 answers 403 to an anonymous `GET /`); no answer is fatal. */
async function assertHttpAnswers(endpoint: string): Promise<void> {
  try {
    const res = await request(`${endpoint.replace(/\/+$/, '')}/`, { signal: AbortSignal.timeout(5000) });
    await res.body.dump();
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    throw new Error(`S3_TEST_ENDPOINT ${endpoint} does not answer HTTP (${reason})`);
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  await assertRedisAnswers();

  let s3rver: S3rverProcess | undefined;
  const external = process.env.S3_TEST_ENDPOINT?.trim();
  if (external) {
    await assertHttpAnswers(external);
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
