/**
 * The Ceph RGW store of the benchmarks' Ceph rows: the project's own `test/stores/ceph-rgw.sh`,
 * started if it is not running (idempotent) and never stopped or wiped here — other work shares it.
 *
 * S3JOBS_BENCH_CEPH=0 skips the Ceph rows. When the store cannot be started (not installable, a
 * start that fails), the reason is returned for the benchmark to say so loudly, never a silent pass.
 */
import { spawnSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { REPO_DIR } from './harness.js';
import { processCpuMs, type Target } from './migration-tools.js';

const SCRIPT = join(REPO_DIR, 'test', 'stores', 'ceph-rgw.sh');

export interface CephStore {
  /** Endpoint and keys; `bucket` is left for the benchmark to choose. */
  target: Omit<Target, 'bucket'>;
  /** What `radosgw --version` says, for the report. */
  version: string;
  /** CPU (ms) the store's daemons (monitor, OSD, gateway) used so far; undefined when unreadable. */
  cpuMs(): number | undefined;
}

export type CephOutcome = { available: true; store: CephStore } | { available: false; reason: string };

/** Whether the Ceph rows are wanted at all (S3JOBS_BENCH_CEPH=0 says no). */
export function cephWanted(): boolean {
  return process.env.S3JOBS_BENCH_CEPH !== '0';
}

/** Starts (or finds running) the project's Ceph RGW and reads its endpoint and keys from `ceph-rgw.sh env`. */
export function startCeph(log: (line: string) => void): CephOutcome {
  if (!cephWanted()) return { available: false, reason: 'skipped with S3JOBS_BENCH_CEPH=0' };
  log(`ceph: ${SCRIPT} start (idempotent; the store is left running afterwards)`);
  // stderr to a file, not a pipe: a daemon the script (re)starts must not hold our end open until the timeout.
  const errFile = join(mkdtempSync(join(tmpdir(), 's3jobs-bench-ceph-')), 'start.stderr');
  const errFd = openSync(errFile, 'w');
  const started = spawnSync(SCRIPT, ['start'], { stdio: ['ignore', 'inherit', errFd], timeout: 300_000 });
  closeSync(errFd);
  const stderr = readFileSync(errFile, 'utf8');
  rmSync(dirname(errFile), { recursive: true, force: true });
  process.stderr.write(stderr);
  if (started.status !== 0) {
    const why = started.status === 3 ? 'Ceph RGW cannot be installed on this machine' : `Ceph RGW did not start (ceph-rgw.sh start exited ${started.status ?? started.signal})`;
    return { available: false, reason: `${why}: ${stderr.trim().split('\n').slice(-3).join(' / ')}` };
  }
  const env = spawnSync(SCRIPT, ['env'], { encoding: 'utf8' });
  const vars = Object.fromEntries([...(env.stdout ?? '').matchAll(/^export (\w+)=(.*)$/gm)].map((m) => [m[1]!, m[2]!.replace(/^'|'$/g, '')]));
  const { S3_TEST_ENDPOINT: endpoint, S3_TEST_ACCESS_KEY: accessKey, S3_TEST_SECRET_KEY: secretKey, S3_TEST_REGION: region } = vars;
  if (endpoint === undefined || accessKey === undefined || secretKey === undefined) return { available: false, reason: `Ceph RGW not usable: ceph-rgw.sh env gave no endpoint and keys (exit ${env.status})` };
  if (!/^http:\/\/127\.0\.0\.1:\d+$/.test(endpoint)) return { available: false, reason: `Ceph RGW not usable: ceph-rgw.sh env gave ${endpoint}, not a loopback endpoint, and the benchmark only talks to 127.0.0.1` };
  const version = (spawnSync('radosgw', ['--version'], { encoding: 'utf8' }).stdout ?? '').trim().replace(/\s*\(\w+\)\s*$/, '').replace(/ \([0-9a-f]{40}\)/, '') || 'radosgw';
  const dir = process.env.CEPH_RGW_DIR ?? '/tmp/s3jobs-ceph';
  const pidOf = (daemon: string): number | undefined => {
    try {
      return Number(readFileSync(join(dir, 'pids', daemon), 'utf8').trim());
    } catch {
      return undefined;
    }
  };
  const pids = ['mon', 'osd', 'rgw'].map(pidOf);
  return {
    available: true,
    store: {
      target: { endpoint, accessKey, secretKey, region: region ?? 'us-east-1' },
      version,
      cpuMs: () => {
        const each = pids.map(processCpuMs);
        return each.some((v) => v === undefined) ? undefined : each.reduce((a, b) => a! + b!, 0);
      },
    },
  };
}
