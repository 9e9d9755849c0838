/**
 * `workers/main.ts` with a V8 CPU profile of the part a benchmark times: the profile starts on
 * SIGUSR2 (sent when the timed run starts) and is written on SIGTERM, before the worker's own
 * shutdown, to `$S3JOBS_BENCH_CPU_PROF/worker-<pid>.cpuprofile`. (`node --cpu-prof` is not allowed
 * in NODE_OPTIONS, and would profile start-up too.) Read it with `tsx bench/profile-summary.ts`.
 */
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import { join } from 'node:path';

const dir = process.env.S3JOBS_BENCH_CPU_PROF;
if (dir !== undefined && dir !== '') {
  const session = new Session();
  session.connect();
  let started = false;
  process.on('SIGUSR2', () => {
    if (started) return;
    started = true;
    session.post('Profiler.enable', () => session.post('Profiler.start'));
  });
  // Registered before the worker's own handler, so it runs first. The in-process session answers synchronously.
  process.prependListener('SIGTERM', () => {
    if (!started) return;
    session.post('Profiler.stop', (err, result) => {
      if (err === null) writeFileSync(join(dir, `worker-${process.pid}.cpuprofile`), JSON.stringify(result.profile));
    });
  });
}

await import('../workers/main.js');
