/**
 * `npm run bench [-- [--quick] [--no-write] name…]`: runs the named benchmarks (all when none is
 * named), writes each one's results JSON to bench/results/ and rewrites its own section of
 * BENCHMARKS.md, between `<!-- bench:NAME -->` and `<!-- /bench:NAME -->`. Other sections are kept.
 *
 * --quick     much less work per benchmark; checks that everything runs, figures not for publishing
 * --no-write  leave BENCHMARKS.md alone (results JSON is still written)
 *
 * `client` and `migration` bring their Ceph RGW rows along (`client-ceph`, `migration-ceph`: own
 * sections, so either part can be re-run alone without losing the other's figures); S3JOBS_BENCH_CEPH=0
 * leaves the Ceph rows out. A benchmark that could not measure (`skipped`: the store is not there)
 * leaves the figures its section holds; an empty section gets its note. (`--no-companions` is how
 * this script runs one benchmark per child.)
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import type { Benchmark } from './bench-types.js';
import { cephWanted } from './ceph.js';
import { machineInfo, REPO_DIR, replaceSection, writeResults } from './harness.js';

/** Every benchmark, in the order `npm run bench` runs them. Later issue-7 benchmarks add a line here. */
const REGISTRY: Record<string, () => Promise<{ benchmark: Benchmark }>> = {
  signer: () => import('./signer.bench.js'),
  client: () => import('./client.bench.js'),
  'client-ceph': () => import('./client-ceph.bench.js'),
  queue: () => import('./queue.bench.js'),
  producer: () => import('./producer.bench.js'),
  migration: () => import('./migration.bench.js'),
  'migration-ceph': () => import('./migration-ceph.bench.js'),
  scale: () => import('./scale.bench.js'),
  batching: () => import('./batching.bench.js'),
  large: () => import('./large.bench.js'),
  'cross-store': () => import('./cross-store.bench.js'),
  'bulk-copy': () => import('./bulk-copy.bench.js'),
};

/** A benchmark named on the command line brings its Ceph RGW rows along (unless S3JOBS_BENCH_CEPH=0). */
const CEPH_COMPANIONS: Record<string, string> = { client: 'client-ceph', migration: 'migration-ceph' };

const BENCHMARKS_MD = join(REPO_DIR, 'BENCHMARKS.md');

const PREAMBLE = `# Benchmarks

Each figure is a **ratio against a peer measured in the same run**, on the same machine and the same local
servers: absolute numbers move with the machine, the ratios much less. Run everything with \`npm run bench\`,
or some benchmarks with \`npm run bench -- signer client\`. The peers are exact-version dev dependencies, so
\`npm ci && npm run bench\` reproduces a table. Raw results (every round) land in \`bench/results/\`
(git-ignored). Each section below is rewritten by its benchmark, between its marker comments; text outside
the markers is kept. Benchmarks are never timed assertions in tests.
`;

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const quick = args.includes('--quick');
  const write = !args.includes('--no-write');
  const names = args.filter((a) => !a.startsWith('--'));
  const unknown = names.filter((n) => !(n in REGISTRY));
  if (unknown.length > 0) {
    console.error(`unknown benchmark(s): ${unknown.join(', ')}; known: ${Object.keys(REGISTRY).join(', ')}`);
    process.exit(2);
  }
  // Children get one name each and `--no-companions`: they run exactly that one.
  const companions = !args.includes('--no-companions') && cephWanted();
  const selected = [...new Set((names.length > 0 ? names : Object.keys(REGISTRY)).flatMap((n) => (companions && CEPH_COMPANIONS[n] !== undefined ? [n, CEPH_COMPANIONS[n]] : [n])))];
  if (selected.length > 1) {
    // One child process per benchmark: a benchmark's memory figures (peak RSS of this process)
    // must not include what an earlier benchmark left behind.
    for (const name of selected) {
      const flags = [...args.filter((a) => a.startsWith('--') && a !== '--no-companions'), '--no-companions'];
      const code = await new Promise<number | null>((done) => {
        const child = spawn(process.execPath, [...process.execArgv, process.argv[1]!, ...flags, name], { stdio: 'inherit' });
        child.on('exit', done);
      });
      if (code !== 0) {
        console.error(`bench: ${name} failed (exit ${code})`);
        process.exit(1);
      }
    }
    return;
  }
  const machine = machineInfo();
  const log = (line: string): void => void process.stderr.write(`${line}\n`);
  log(`bench: ${selected.join(', ')}${quick ? ' (quick)' : ''} on ${machine.nproc} × ${machine.cpuModel}, Node ${machine.node}`);

  for (const name of selected) {
    const started = Date.now();
    const { benchmark } = await REGISTRY[name]!();
    const outcome = await benchmark.run({ machine, quick, log });
    const file = await writeResults(name, outcome.data);
    log(`bench: ${name} done in ${((Date.now() - started) / 1000).toFixed(1)} s; results in ${relative(REPO_DIR, file)}`);
    process.stdout.write(`\n${outcome.markdown}\n\n`);
    if (write) {
      // Re-read for every benchmark: the file is only ever touched section by section.
      const current = existsSync(BENCHMARKS_MD) ? await readFile(BENCHMARKS_MD, 'utf8') : PREAMBLE;
      const held = new RegExp(`<!-- bench:${name} -->([\\s\\S]*?)<!-- /bench:${name} -->`).exec(current)?.[1]?.trim() ?? '';
      if (outcome.skipped !== undefined && held !== '') {
        log(`bench: ${name} NOT MEASURED (${outcome.skipped}); BENCHMARKS.md section "${name}" keeps its earlier figures`);
        continue;
      }
      await writeFile(BENCHMARKS_MD, replaceSection(current, name, outcome.markdown));
      log(`bench: BENCHMARKS.md section "${name}" rewritten`);
    }
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
