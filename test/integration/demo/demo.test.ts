import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { redisUrl } from '../../support/redis.js';

/** The README's main command must keep working: run the demo as a user would and read its story. */
describe('npm run demo', () => {
  it('runs every step end to end and cleans up', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'examples/demo.ts'], { env: { ...process.env, REDIS_URL: redisUrl() }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(err).toBe('');
    expect(code).toBe(0);
    expect(out).toMatch(/bucket create media-demo-\w+: \{"kind":"bucket","action":"create","changed":true/);
    expect(out).toContain('Cache-Control "max-age=60" (kept from the source)');
    expect(out).toMatch(/listed 8, enqueued 8, completed 8, changed 8, dead-lettered 0/);
    expect(out).toMatch(/site\/index.html: text\/html; charset=utf-8, Cache-Control "max-age=60", metadata \{"origin":"upload","migrated":"yes"\}/);
    expect(out).toMatch(/state: dead-lettered, attempts made: 1/);
    expect(out).toMatch(/"action":"delete","changed":true,"deletedObjects":1/);
    expect(out).toContain('Everything the demo created has been removed.');
    expect(out).not.toContain('S3RVER"'); // the demo never prints credentials
  }, 120_000);
});
