/**
 * A no-op S3 for the queue-only part of the scale benchmark: an undici dispatcher (`MockAgent`)
 * that answers every HEAD and CopyObject of `origin` in-process with the fake S3's canned answers,
 * without a socket. The s3jobs client still builds, signs and parses every request; only the
 * network and the server are gone, so what is measured is the job system around them.
 */
import { MockAgent, type Dispatcher } from 'undici';
import { COPY_RESULT, HEAD_HEADERS } from './canned-s3.js';

export function noopS3Dispatcher(origin: string): Dispatcher {
  const agent = new MockAgent();
  agent.disableNetConnect();
  const pool = agent.get(origin);
  pool.intercept({ path: () => true, method: 'HEAD' }).reply(200, '', { headers: HEAD_HEADERS }).persist();
  pool.intercept({ path: () => true, method: 'PUT' }).reply(200, COPY_RESULT, { headers: { 'content-type': 'application/xml', 'x-amz-request-id': '4442587FB7D0A2F9' } }).persist();
  return agent;
}
