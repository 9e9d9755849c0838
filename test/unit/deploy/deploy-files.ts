/**
 * Readers for the deployment files (docker-compose.yml, Dockerfile, .dockerignore), just enough
 * of each format to check them against the code: pure functions over the files' text.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';

export const REPO = fileURLToPath(new URL('../../../', import.meta.url));

export function readRepoFile(path: string): string {
  return readFileSync(new URL(path, `file://${REPO}`), 'utf8');
}

export type Env = Record<string, string | undefined>;

/**
 * Compose's variable interpolation: `$$` (a literal `$`), `$VAR`, `${VAR}`, `${VAR:-default}`,
 * `${VAR-default}`, `${VAR:?error}`, `${VAR?error}`, `${VAR:+alt}`, `${VAR+alt}`. A required
 * variable that is missing throws with compose's message, as `docker compose` would refuse.
 */
export function interpolate(text: string, env: Env): string {
  return text.replace(/\$(\$|\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?+])((?:[^{}]|\{[^{}]*\})*))?\}|([A-Za-z_][A-Za-z0-9_]*))/g, (_m, dollar: string, name?: string, op?: string, arg?: string, bare?: string) => {
    if (dollar === '$') return '$';
    if (bare !== undefined) return env[bare] ?? '';
    const value = env[name!];
    const unset = op?.startsWith(':') ? value === undefined || value === '' : value === undefined;
    switch (op) {
      case undefined:
        return value ?? '';
      case ':-':
      case '-':
        return unset ? interpolate(arg ?? '', env) : value!;
      case ':?':
      case '?':
        if (unset) throw new Error(`required variable ${name} is missing a value: ${arg ?? ''}`);
        return value!;
      case ':+':
      case '+':
        return unset ? '' : interpolate(arg ?? '', env);
      default:
        throw new Error(`unsupported interpolation ${op}`);
    }
  });
}

/** Interpolates every string in a parsed YAML tree. */
function interpolateTree(value: unknown, env: Env): unknown {
  if (typeof value === 'string') return interpolate(value, env);
  if (Array.isArray(value)) return value.map((v) => interpolateTree(v, env));
  if (value !== null && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, interpolateTree(v, env)]));
  return value;
}

export interface ComposeService {
  image?: string;
  build?: string | { context?: string; dockerfile?: string };
  command?: string | string[];
  entrypoint?: string | string[];
  environment?: Record<string, string | number | boolean | null> | string[];
  ports?: (string | { target: number; published?: string | number; host_ip?: string })[];
  volumes?: (string | { type: string; source?: string; target: string })[];
  depends_on?: string[] | Record<string, { condition?: string }>;
  deploy?: { replicas?: number };
  profiles?: string[];
  stop_grace_period?: string;
  healthcheck?: { test: string | string[] };
}

export interface ComposeFile {
  name?: string;
  services: Record<string, ComposeService>;
  volumes?: Record<string, unknown>;
}

/** docker-compose.yml parsed (anchors and `<<` merge keys resolved) and interpolated with `env`. */
export function loadCompose(text: string, env: Env): ComposeFile {
  const raw = parse(text, { merge: true }) as unknown;
  return interpolateTree(raw, env) as ComposeFile;
}

/** A service's environment as a map (compose allows a map or a list of `KEY=VALUE`). */
export function environmentOf(service: ComposeService): Record<string, string> {
  const env = service.environment;
  if (env === undefined) return {};
  if (Array.isArray(env)) {
    return Object.fromEntries(
      env.map((item) => {
        const eq = item.indexOf('=');
        return eq < 0 ? [item, ''] : [item.slice(0, eq), item.slice(eq + 1)];
      }),
    );
  }
  return Object.fromEntries(Object.entries(env).map(([k, v]) => [k, v === null ? '' : String(v)]));
}

/** A command as argv: compose's string form is split on whitespace (enough for our files). */
export function argvOf(command: string | string[] | undefined): string[] {
  if (command === undefined) return [];
  return Array.isArray(command) ? command.map(String) : command.trim().split(/\s+/);
}

/** `"30s"`, `"1m30s"`, `"500ms"` → milliseconds. */
export function durationMs(text: string): number {
  let total = 0;
  const re = /(\d+(?:\.\d+)?)(ms|h|m|s|us)/g;
  let consumed = 0;
  for (const m of text.matchAll(re)) {
    const n = Number(m[1]);
    total += n * { h: 3_600_000, m: 60_000, s: 1_000, ms: 1, us: 0.001 }[m[2] as 'h' | 'm' | 's' | 'ms' | 'us'];
    consumed += m[0].length;
  }
  if (consumed !== text.length || consumed === 0) throw new Error(`not a compose duration: ${text}`);
  return total;
}

export interface DockerInstruction {
  /** Upper-cased instruction (FROM, RUN, COPY, USER, …). */
  op: string;
  /** The rest of the logical line (continuations joined); for a heredoc, the line that opens it. */
  args: string;
  /** Bodies of heredocs opened on this line, by delimiter. */
  heredocs: Record<string, string>;
}

export interface DockerStage {
  name: string | undefined;
  from: string;
  instructions: DockerInstruction[];
}

/** Splits a Dockerfile into stages of instructions (comments dropped, `\` continuations and heredocs handled). */
export function parseDockerfile(text: string): DockerStage[] {
  const lines = text.split('\n');
  const stages: DockerStage[] = [];
  for (let i = 0; i < lines.length; i++) {
    let line = lines[i]!;
    if (/^\s*(#|$)/.test(line)) continue;
    while (line.endsWith('\\') && i + 1 < lines.length) line = `${line.slice(0, -1)} ${lines[++i]!.trim()}`;
    const m = /^\s*([A-Za-z]+)\s+(.*)$/.exec(line);
    if (m === null) throw new Error(`Dockerfile line ${i + 1} is not an instruction: ${line}`);
    const heredocs: Record<string, string> = {};
    for (const h of m[2]!.matchAll(/<<-?['"]?([A-Za-z_][A-Za-z0-9_]*)['"]?/g)) {
      const body: string[] = [];
      while (i + 1 < lines.length && lines[i + 1] !== h[1]) body.push(lines[++i]!);
      i++; // the delimiter
      heredocs[h[1]!] = body.join('\n');
    }
    const instruction = { op: m[1]!.toUpperCase(), args: m[2]!.trim(), heredocs };
    if (instruction.op === 'FROM') {
      const from = /^(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?$/i.exec(instruction.args);
      stages.push({ from: from?.[1] ?? instruction.args, name: from?.[2], instructions: [] });
    } else if (instruction.op !== 'ARG' || stages.length > 0) {
      if (stages.length === 0) throw new Error(`Dockerfile: ${instruction.op} before FROM`);
      stages[stages.length - 1]!.instructions.push(instruction);
    }
  }
  return stages;
}

/** An exec-form (`["a", "b"]`) instruction argument as argv; shell form is split on spaces. */
export function execForm(args: string): string[] {
  return args.startsWith('[') ? (JSON.parse(args) as string[]) : args.split(/\s+/);
}

/**
 * Whether `.dockerignore` patterns exclude `path` (last match wins, `!` re-includes). Patterns
 * are matched as path prefixes with `*` globs, which is all ours use.
 */
export function isDockerIgnored(patterns: readonly string[], path: string): boolean {
  let ignored = false;
  for (const raw of patterns) {
    const negate = raw.startsWith('!');
    const pattern = (negate ? raw.slice(1) : raw).replace(/^\/+|\/+$/g, '');
    const re = new RegExp(`^${pattern.split('*').map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('[^/]*')}(/.*)?$`);
    if (re.test(path)) ignored = !negate;
  }
  return ignored;
}

export function dockerignorePatterns(text: string): string[] {
  return text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
}
