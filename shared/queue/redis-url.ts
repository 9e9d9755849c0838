/**
 * Where Redis is, as one URL: a standalone server (`redis://`, `rediss://`, as ioredis reads them)
 * or a Redis Cluster (`redis+cluster://`, `rediss+cluster://`: a comma list of seed nodes). Pure:
 * config validation, connection setup and log redaction all read URLs through here.
 *
 *   redis+cluster://[[user][:password]@]host[:port][,host[:port]…][/0]
 *
 * - Ports default to 6379; IPv6 hosts go in brackets (`[::1]:7000`).
 * - User and password are percent-decoded and used on every node; `rediss+cluster://` turns TLS on
 *   for every node.
 * - Seed nodes are where the client starts: it learns the rest of the cluster (and every later
 *   change) from them, so a few masters are enough.
 * - A cluster has only database 0, and the URL takes no query options.
 */
import { ErrorCodes, ValidationError } from '../errors.js';

export const CLUSTER_SCHEMES = ['redis+cluster:', 'rediss+cluster:'] as const;
export const STANDALONE_SCHEMES = ['redis:', 'rediss:'] as const;

export interface ClusterNode {
  host: string;
  port: number;
}

export type RedisTarget =
  | { mode: 'standalone'; url: string }
  | {
      mode: 'cluster';
      /** Seed nodes, in the order given. */
      nodes: ClusterNode[];
      username: string | undefined;
      password: string | undefined;
      tls: boolean;
    };

const DEFAULT_PORT = 6379;
const HOST_NAME = /^[A-Za-z0-9](?:[A-Za-z0-9.-]{0,252})$/;
const IPV6 = /^[0-9A-Fa-f:.]+(?:%[A-Za-z0-9]+)?$/;

function invalid(message: string, field = 'redisUrl'): ValidationError {
  return new ValidationError(field, message, ErrorCodes.InvalidConfig);
}

/** The scheme of a URL, lower-cased with its colon (`redis+cluster:`), or undefined. */
function schemeOf(url: string): string | undefined {
  return /^([A-Za-z][A-Za-z0-9+.-]*:)\/\//.exec(url)?.[1]?.toLowerCase();
}

export function isClusterUrl(url: string): boolean {
  const scheme = schemeOf(url);
  return scheme !== undefined && (CLUSTER_SCHEMES as readonly string[]).includes(scheme);
}

function decode(part: string, what: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    throw invalid(`the ${what} is not validly percent-encoded`);
  }
}

/** `host`, `host:port`, `[v6]`, `[v6]:port`. Messages quote the node, never the credentials. */
export function parseNode(text: string): ClusterNode {
  let host: string;
  let portText: string | undefined;
  if (text.startsWith('[')) {
    const close = text.indexOf(']');
    if (close < 0) throw invalid(`seed node "${text}" opens "[" without closing it`);
    host = text.slice(1, close);
    const rest = text.slice(close + 1);
    if (rest !== '' && !rest.startsWith(':')) throw invalid(`seed node "${text}": expected ":port" after "]"`);
    portText = rest === '' ? undefined : rest.slice(1);
    if (!IPV6.test(host)) throw invalid(`seed node "${text}": "${host}" is not an IPv6 address`);
  } else {
    const colon = text.lastIndexOf(':');
    host = colon < 0 ? text : text.slice(0, colon);
    portText = colon < 0 ? undefined : text.slice(colon + 1);
    if (host.includes(':')) throw invalid(`seed node "${text}": put IPv6 addresses in brackets, e.g. [::1]:7000`);
    if (!HOST_NAME.test(host)) throw invalid(`seed node "${text}": "${host}" is not a host name or IPv4 address`);
  }
  let port = DEFAULT_PORT;
  if (portText !== undefined) {
    port = /^\d{1,5}$/.test(portText) ? Number(portText) : NaN;
    if (!(port >= 1 && port <= 65535)) throw invalid(`seed node "${text}": the port must be 1-65535`);
  }
  return { host, port };
}

/**
 * Reads a Redis URL. Standalone URLs are only checked for their scheme (ioredis parses them);
 * cluster URLs are parsed here. Throws a ValidationError (`S3JOBS_INVALID_CONFIG`, field
 * `redisUrl`) that never repeats the password.
 */
export function parseRedisUrl(url: string): RedisTarget {
  const scheme = schemeOf(url);
  if (scheme !== undefined && (STANDALONE_SCHEMES as readonly string[]).includes(scheme)) return { mode: 'standalone', url };
  if (scheme === undefined || !(CLUSTER_SCHEMES as readonly string[]).includes(scheme))
    throw invalid('must be a redis:// or rediss:// URL, or redis+cluster://host:port,host:port (rediss+cluster:// for TLS) for a Redis Cluster');

  let rest = url.slice(scheme.length + 2);
  // Host lists never hold "@": the last one ends the credentials, whatever they contain.
  const at = rest.lastIndexOf('@');
  const userinfo = at < 0 ? undefined : rest.slice(0, at);
  rest = at < 0 ? rest : rest.slice(at + 1);
  const end = rest.search(/[/?#]/);
  const hostList = end < 0 ? rest : rest.slice(0, end);
  const tail = end < 0 ? '' : rest.slice(end);
  if (/[?#]/.test(tail)) throw invalid('cluster URLs take no query options or fragment');
  if (tail !== '' && tail !== '/' && tail !== '/0') throw invalid(`"${tail}": a Redis Cluster has only database 0`);

  const entries = hostList.split(',').map((s) => s.trim());
  if (hostList.trim() === '' || entries.some((e) => e === '')) throw invalid('a cluster URL lists its seed nodes as host:port,host:port (none may be empty)');
  const nodes = entries.map(parseNode);

  let username: string | undefined;
  let password: string | undefined;
  if (userinfo !== undefined) {
    const colon = userinfo.indexOf(':');
    const user = colon < 0 ? userinfo : userinfo.slice(0, colon);
    username = user === '' ? undefined : decode(user, 'user name');
    password = colon < 0 ? undefined : decode(userinfo.slice(colon + 1), 'password');
    if (password === '') password = undefined;
  }
  return { mode: 'cluster', nodes, username, password, tls: scheme === 'rediss+cluster:' };
}

/** The URL with its password replaced by `****` (cluster URLs too), for logs and `config check`. */
export function redactClusterUrl(url: string): string {
  const scheme = schemeOf(url) ?? '';
  const rest = url.slice(scheme.length + 2);
  const at = rest.lastIndexOf('@');
  if (at < 0) return url;
  const userinfo = rest.slice(0, at);
  const colon = userinfo.indexOf(':');
  const shown = colon < 0 ? userinfo : `${userinfo.slice(0, colon)}:****`;
  return `${scheme}//${shown}@${rest.slice(at + 1)}`;
}

/**
 * The Redis Cluster hash tag of a BullMQ prefix: what lies between its first `{` and the next `}`,
 * or undefined when there is none (or it is empty, which Redis ignores). Keys are
 * `<prefix>:<queue>:…`, and queue names hold no braces, so a prefix with a tag puts every key of
 * every queue under it (job hashes, lists, the events stream, the run store) in one slot.
 */
export function hashTagOf(prefix: string): string | undefined {
  const open = prefix.indexOf('{');
  if (open < 0) return undefined;
  const close = prefix.indexOf('}', open + 1);
  if (close < 0 || close === open + 1) return undefined;
  return prefix.slice(open + 1, close);
}

/**
 * In cluster mode the prefix must carry a hash tag: BullMQ's Lua scripts touch several keys of a
 * queue at once (and s3jobs moves jobs between a queue and its dead-letter queue), which Redis
 * Cluster only allows when all of them hash to one slot (CROSSSLOT otherwise).
 */
export function assertClusterPrefix(prefix: string): void {
  if (hashTagOf(prefix) === undefined)
    throw invalid(
      `"${prefix}" has no Redis Cluster hash tag, and redisUrl is a cluster: use a prefix with a non-empty "{…}", such as "{s3jobs}" (the default), so each queue's keys share one slot`,
      'prefix',
    );
}
