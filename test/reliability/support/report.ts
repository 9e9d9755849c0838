/**
 * Where the suite's measurements go: one JSON file per measurement in `RELIABILITY_RESULTS_DIR`
 * (default `<tmp>/s3jobs-reliability`), and one readable line on the console, so that a run's
 * numbers can be copied into RELIABILITY.md and compared between runs.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';

export function resultsDir(): string {
  return process.env.RELIABILITY_RESULTS_DIR?.trim() || join(tmpdir(), 's3jobs-reliability');
}

/**
 * Writes one measurement. The machine's 1-minute load average goes with it: on a shared 2-core
 * machine, throughput and latency mean little without knowing what else ran.
 */
export function report(name: string, data: Record<string, unknown>): void {
  const dir = resultsDir();
  mkdirSync(dir, { recursive: true });
  const machine = { cores: cpus().length, loadAverage1m: Number(loadavg()[0]!.toFixed(2)) };
  writeFileSync(join(dir, `${name}.json`), `${JSON.stringify({ name, at: new Date().toISOString(), machine, ...data }, null, 2)}\n`);
  console.log(`[reliability] ${name}: ${JSON.stringify({ ...data, machine })}`);
}
