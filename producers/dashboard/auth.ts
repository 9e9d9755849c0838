/**
 * Who may see the dashboard: pure functions, no I/O.
 *
 * Two kinds of credential, either or both configured:
 * - basic auth (`user` + `password`), which browsers prompt for;
 * - a bearer token (`Authorization: Bearer <token>`), for scripts and proxies. So that a person
 *   with only the token can still use a browser, the token is also accepted as the basic-auth
 *   password (with any user name).
 *
 * Invariants: comparisons take the same time whatever the input (both sides are hashed to fixed-
 * length digests, then compared with `timingSafeEqual`, and every check runs — no early return on
 * the user name); no function here puts a credential into a message or a response.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { isIP } from 'node:net';
import { ValidationError } from '../../shared/errors.js';

export interface DashboardAuth {
  /** Basic auth. Both fields are required and non-empty. */
  basic?: { user: string; password: string } | undefined;
  /** Bearer token; also accepted as the basic-auth password. Non-empty. */
  token?: string | undefined;
}

/** True when `auth` holds at least one usable credential. */
export function hasCredentials(auth: DashboardAuth | undefined): auth is DashboardAuth {
  return auth !== undefined && (auth.basic !== undefined || auth.token !== undefined);
}

/**
 * Checks the shape of `auth`: a user without a password (or the reverse) or an empty secret is an
 * error naming the setting, never a silently open dashboard. `undefined` means "no auth".
 */
export function validateAuth(auth: DashboardAuth | undefined): void {
  if (auth === undefined) return;
  if (auth.basic !== undefined) {
    if (auth.basic.user === '') throw new ValidationError('auth.basic.user', 'is empty; give a user name with the password');
    if (auth.basic.user.includes(':')) throw new ValidationError('auth.basic.user', 'must not contain ":" (basic auth separates user and password with it)');
    if (auth.basic.password === '') throw new ValidationError('auth.basic.password', 'is empty; give a password with the user');
  }
  if (auth.token !== undefined && auth.token === '') throw new ValidationError('auth.token', 'is empty; give a token or leave it unset');
}

/** `localhost`, 127.0.0.0/8 and ::1: addresses only this machine can reach. */
export function isLoopbackHost(host: string): boolean {
  const bare = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
  if (bare.toLowerCase() === 'localhost') return true;
  if (isIP(bare) === 4) return bare.startsWith('127.');
  if (isIP(bare) !== 6) return false;
  // The URL parser writes IPv6 addresses canonically: ::1, or ::ffff:7fxx:… for ::ffff:127.x.x.x.
  const canonical = new URL(`http://[${bare}]/`).hostname;
  return canonical === '[::1]' || /^\[::ffff:7f[0-9a-f]{2}:[0-9a-f]{1,4}\]$/.test(canonical);
}

/**
 * Refuses to serve the queues beyond this machine without credentials: anyone who can reach the
 * port could read job payloads and retry, promote or delete jobs.
 */
export function assertSafeBinding(host: string, auth: DashboardAuth | undefined): void {
  if (isLoopbackHost(host) || hasCredentials(auth)) return;
  throw new ValidationError(
    'host',
    `"${host}" makes the dashboard reachable beyond this machine, and no auth is configured; ` +
      'set a basic-auth user and password (S3JOBS_DASHBOARD_USER / S3JOBS_DASHBOARD_PASSWORD) or a token (S3JOBS_DASHBOARD_TOKEN), ' +
      'or listen on 127.0.0.1',
  );
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}

/** Constant-time string equality (independent of where the strings differ and of their lengths). */
export function safeEqual(a: string, b: string): boolean {
  return timingSafeEqual(digest(a), digest(b));
}

/** The two credential forms an `Authorization` header may carry (anything else is `undefined`). */
export type PresentedCredentials = { kind: 'basic'; user: string; password: string } | { kind: 'bearer'; token: string };

/** Parses an `Authorization` header value. Malformed headers yield `undefined` (→ 401). */
export function parseAuthorization(header: string | undefined): PresentedCredentials | undefined {
  if (header === undefined) return undefined;
  const match = /^\s*(\S+)\s+(\S+)\s*$/.exec(header);
  if (match === null) return undefined;
  const scheme = match[1]!.toLowerCase();
  const value = match[2]!;
  if (scheme === 'bearer') return { kind: 'bearer', token: value };
  if (scheme !== 'basic') return undefined;
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(value)) return undefined;
  const decoded = Buffer.from(value, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return undefined;
  return { kind: 'basic', user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

/**
 * Whether an `Authorization` header grants access. With no credentials configured everything is
 * allowed (the binding check keeps that to localhost).
 */
export function isAuthorized(auth: DashboardAuth | undefined, header: string | undefined): boolean {
  if (!hasCredentials(auth)) return true;
  const presented = parseAuthorization(header);
  if (presented === undefined) return false;
  if (presented.kind === 'bearer') return auth.token !== undefined && safeEqual(presented.token, auth.token);
  let granted = false;
  if (auth.basic !== undefined) {
    // Both comparisons always run: timing must not tell whether the user name was right.
    const userOk = safeEqual(presented.user, auth.basic.user);
    const passwordOk = safeEqual(presented.password, auth.basic.password);
    granted = userOk && passwordOk;
  }
  if (auth.token !== undefined) granted = safeEqual(presented.password, auth.token) || granted;
  return granted;
}

/** The `WWW-Authenticate` challenges of a 401: Basic first, so that browsers prompt for it. */
export function challenges(auth: DashboardAuth): string[] {
  const realm = 'realm="s3jobs dashboard"';
  const out = [`Basic ${realm}, charset="UTF-8"`];
  if (auth.token !== undefined) out.push(`Bearer ${realm}`);
  return out;
}

/** How the configured auth is described in logs: the kind, and the user name — never a secret. */
export function describeAuth(auth: DashboardAuth | undefined): string {
  if (!hasCredentials(auth)) return 'none (localhost only)';
  const kinds: string[] = [];
  if (auth.basic !== undefined) kinds.push(`basic (user "${auth.basic.user}")`);
  if (auth.token !== undefined) kinds.push('bearer token');
  return kinds.join(' or ');
}
