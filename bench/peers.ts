/**
 * The benchmark's command-line peers (Debian's awscli and rclone), installed by the benchmark
 * itself when missing, so one command reproduces a table on a fresh machine.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

/** Debian package → the binary it provides. */
const PEERS = { awscli: '/usr/bin/aws', rclone: '/usr/bin/rclone' } as const;

/** Installs the missing peers with apt-get (as root, or through sudo); throws saying what to do if it cannot. */
export function ensurePeers(log: (line: string) => void): void {
  const missing = Object.entries(PEERS)
    .filter(([, bin]) => !existsSync(bin))
    .map(([pkg]) => pkg);
  if (missing.length === 0) return;
  log(`migration: installing ${missing.join(', ')} with apt-get`);
  const root = process.getuid?.() === 0;
  const run = (args: string[]): boolean =>
    spawnSync(root ? args[0]! : 'sudo', root ? args.slice(1) : ['-n', ...args], { stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } }).status === 0;
  if (!run(['apt-get', 'install', '-y', '-q', ...missing])) run(['apt-get', 'update', '-q']) && run(['apt-get', 'install', '-y', '-q', ...missing]);
  const still = Object.entries(PEERS).filter(([, bin]) => !existsSync(bin));
  if (still.length > 0) throw new Error(`benchmark peers missing: ${still.map(([pkg, bin]) => `${bin} (Debian package ${pkg})`).join(', ')}; install them with apt-get and run again`);
}
