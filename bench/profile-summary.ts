/**
 * `tsx bench/profile-summary.ts FILE.cpuprofile [N]`: the top N functions by self time in a V8 CPU
 * profile (`node --cpu-prof`), and the same time grouped by where the code lives (our code, BullMQ,
 * ioredis, undici, Node internals, GC, …) — what the migration benchmark's worker profile is read with.
 */
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

/** Where a function lives, from its script URL. */
export function area(url: string, name: string): string {
  if (url === '') return name.startsWith('(') ? name : '(native)';
  if (url.startsWith('node:')) return 'node internals';
  const m = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (m !== null) return m[1]!;
  const ours = /\/(shared|workers|producers|bench)\//.exec(url);
  return ours === null ? url : `s3jobs ${ours[1]}/`;
}

function main(): void {
  const [file, topArg] = process.argv.slice(2);
  if (file === undefined) throw new Error('usage: tsx bench/profile-summary.ts FILE.cpuprofile [N]');
  const top = Number(topArg ?? 25);
  const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map<number, number>();
  profile.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));
  const total = [...self.values()].reduce((a, b) => a + b, 0);
  const idle = [...self.entries()].filter(([id]) => byId.get(id)?.callFrame.functionName === '(idle)').reduce((a, [, us]) => a + us, 0);
  const busy = total - idle;
  const fns = new Map<string, number>();
  const areas = new Map<string, number>();
  for (const [id, us] of self) {
    const { functionName, url, lineNumber } = byId.get(id)!.callFrame;
    if (functionName === '(idle)') continue;
    const where = url === '' ? '' : ` ${url.replace(/^file:\/\/.*?\/(node_modules\/|(?=shared|workers|producers|bench))/, '')}:${lineNumber + 1}`;
    const label = `${functionName || '(anonymous)'}${where}`;
    fns.set(label, (fns.get(label) ?? 0) + us);
    const a = area(url, functionName);
    areas.set(a, (areas.get(a) ?? 0) + us);
  }
  const pct = (us: number): string => `${((us / busy) * 100).toFixed(1).padStart(5)}%`;
  const ms = (us: number): string => `${(us / 1000).toFixed(0).padStart(7)} ms`;
  console.log(`${file}: ${(total / 1e6).toFixed(1)} s sampled, ${(busy / 1e6).toFixed(1)} s busy (main thread; percentages of busy)`);
  console.log('\nby area:');
  for (const [a, us] of [...areas].sort((x, y) => y[1] - x[1]).slice(0, 15)) console.log(`${ms(us)} ${pct(us)}  ${a}`);
  console.log(`\ntop ${top} functions by self time:`);
  for (const [label, us] of [...fns].sort((x, y) => y[1] - x[1]).slice(0, top)) console.log(`${ms(us)} ${pct(us)}  ${label}`);
}

main();
