import { Cluster, Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { ErrorCodes } from '../../../shared/errors.js';
import { buildConfig, maskConfig, redactUrl } from '../../../shared/config/index.js';
import { createRedisConnection, duplicateConnection, isClusterConnection, setRetryStrategy } from '../../../shared/queue/connection.js';
import { hashTagOf, isClusterUrl, parseRedisUrl } from '../../../shared/queue/redis-url.js';

describe('parseRedisUrl', () => {
  it.each<[string, ReturnType<typeof parseRedisUrl>]>([
    ['redis://127.0.0.1:6379', { mode: 'standalone', url: 'redis://127.0.0.1:6379' }],
    ['rediss://u:p@h:6380/2', { mode: 'standalone', url: 'rediss://u:p@h:6380/2' }],
    ['redis+cluster://10.0.0.1:7000,10.0.0.2:7001', { mode: 'cluster', nodes: [{ host: '10.0.0.1', port: 7000 }, { host: '10.0.0.2', port: 7001 }], username: undefined, password: undefined, tls: false }],
    ['redis+cluster://node-a.internal', { mode: 'cluster', nodes: [{ host: 'node-a.internal', port: 6379 }], username: undefined, password: undefined, tls: false }],
    ['rediss+cluster://app:p%40ss%2Fw@a:7000,b:7000/', { mode: 'cluster', nodes: [{ host: 'a', port: 7000 }, { host: 'b', port: 7000 }], username: 'app', password: 'p@ss/w', tls: true }],
    ['redis+cluster://:secret@[::1]:7000,[fe80::1%25eth0]/0', { mode: 'cluster', nodes: [{ host: '::1', port: 7000 }, { host: 'fe80::1%25eth0', port: 6379 }], username: undefined, password: 'secret', tls: false }],
    // An unencoded "@" or "/" in the password: the last "@" ends the credentials.
    ['redis+cluster://u:a@b/c@h1:1,h2:2', { mode: 'cluster', nodes: [{ host: 'h1', port: 1 }, { host: 'h2', port: 2 }], username: 'u', password: 'a@b/c', tls: false }],
  ])('%s', (url, expected) => {
    expect(parseRedisUrl(url)).toEqual(expected);
  });

  it.each<[string, RegExp]>([
    ['http://h:1', /must be a redis:\/\/ or rediss:\/\/ URL, or redis\+cluster:\/\//],
    ['127.0.0.1:6379', /must be a redis:\/\//],
    ['redis+cluster://', /seed nodes/],
    ['redis+cluster://a:1,,b:2', /none may be empty/],
    ['redis+cluster://a:0', /port must be 1-65535/],
    ['redis+cluster://a:70000', /port must be 1-65535/],
    ['redis+cluster://a:x', /port must be 1-65535/],
    ['redis+cluster://::1:7000', /IPv6 addresses in brackets/],
    ['redis+cluster://[::1:7000', /without closing/],
    ['redis+cluster://a_b:1', /not a host name/],
    ['redis+cluster://a:1/3', /only database 0/],
    ['redis+cluster://a:1?tls=true', /no query options/],
  ])('refuses %s', (url, message) => {
    expect(() => parseRedisUrl(url)).toThrow(message);
    try {
      parseRedisUrl(url);
    } catch (err) {
      expect(err).toMatchObject({ code: ErrorCodes.InvalidConfig, field: 'redisUrl' });
    }
  });

  it('never repeats the password in an error', () => {
    expect(() => parseRedisUrl('redis+cluster://u:hunter2@a:99999')).toThrow(/^(?!.*hunter2)/s);
  });

  it('isClusterUrl', () => {
    expect(isClusterUrl('redis+cluster://a:1')).toBe(true);
    expect(isClusterUrl('REDISS+CLUSTER://a:1')).toBe(true);
    expect(isClusterUrl('redis://a:1')).toBe(false);
  });
});

describe('hashTagOf', () => {
  it.each<[string, string | undefined]>([
    ['{s3jobs}', 's3jobs'],
    ['app-{jobs}', 'jobs'],
    ['{a}{b}', 'a'],
    ['s3jobs', undefined],
    ['{}', undefined],
    ['{}x{y}', undefined], // Redis uses the first "{": an empty tag means the whole key is hashed
    ['{open', undefined],
    ['close}', undefined],
  ])('%s → %s', (prefix, tag) => {
    expect(hashTagOf(prefix)).toBe(tag);
  });
});

describe('config with a cluster URL', () => {
  it('accepts it with the default prefix, and masks its password', () => {
    const config = buildConfig({ env: { REDIS_URL: 'redis+cluster://app:s3cret@10.0.0.1:7000,10.0.0.2:7000' } });
    expect(config.prefix).toBe('{s3jobs}');
    expect(maskConfig(config).redisUrl).toBe('redis+cluster://app:****@10.0.0.1:7000,10.0.0.2:7000');
    expect(redactUrl('redis+cluster://u:a/b@c@h:1')).toBe('redis+cluster://u:****@h:1');
    expect(redactUrl('redis+cluster://h:1,h:2')).toBe('redis+cluster://h:1,h:2');
  });

  it.each(['s3jobs', '{}', 'jobs{'])('refuses the prefix %s, naming the setting and the fix', (prefix) => {
    try {
      buildConfig({ env: { REDIS_URL: 'redis+cluster://h:7000', S3JOBS_PREFIX: prefix } });
      throw new Error('expected a config error');
    } catch (err) {
      expect(err).toMatchObject({ code: ErrorCodes.InvalidConfig, field: 'prefix' });
      expect((err as Error).message).toMatch(/hash tag.*"\{s3jobs\}"/);
    }
  });

  it('keeps allowing any prefix with a standalone Redis', () => {
    expect(buildConfig({ env: { S3JOBS_PREFIX: 'plain' } }).prefix).toBe('plain');
  });

  it('refuses a malformed seed list at the edge', () => {
    expect(() => buildConfig({ env: { REDIS_URL: 'redis+cluster://h:7000,h:bad' } })).toThrow(/redisUrl: seed node "h:bad"/);
  });
});

describe('createRedisConnection', () => {
  it('opens a Redis for redis:// and a Cluster for redis+cluster://, blocking ones without a retry limit', () => {
    const plain = createRedisConnection('redis://127.0.0.1:1', { lazyConnect: true });
    const cluster = createRedisConnection('rediss+cluster://u:p@127.0.0.1:1,127.0.0.1:2', { lazyConnect: true, blocking: true, connectTimeout: 1234, retryStrategy: () => null });
    try {
      expect(plain).toBeInstanceOf(Redis);
      expect(isClusterConnection(plain)).toBe(false);
      expect(cluster).toBeInstanceOf(Cluster);
      expect(isClusterConnection(cluster)).toBe(true);
      if (!isClusterConnection(cluster)) throw new Error('unreachable');
      expect(cluster.options.lazyConnect).toBe(true);
      expect(typeof cluster.options.clusterRetryStrategy).toBe('function');
      expect(cluster.options.redisOptions).toMatchObject({ username: 'u', password: 'p', tls: {}, maxRetriesPerRequest: null, connectTimeout: 1234 });
      expect(cluster.options.redisOptions).not.toHaveProperty('lazyConnect');
      expect(cluster.options.redisOptions).not.toHaveProperty('retryStrategy');
    } finally {
      plain.disconnect();
      cluster.disconnect();
    }
  });

  it('duplicates each kind its own way, keeping options and adding blocking', () => {
    const cluster = createRedisConnection('redis+cluster://127.0.0.1:1', { lazyConnect: true, connectTimeout: 999 });
    const plain = createRedisConnection('redis://127.0.0.1:1', { lazyConnect: true });
    const copies = [duplicateConnection(cluster, { blocking: true }), duplicateConnection(plain, { blocking: true })];
    try {
      const [clusterCopy, plainCopy] = copies;
      if (clusterCopy === undefined || !isClusterConnection(clusterCopy) || plainCopy === undefined || isClusterConnection(plainCopy)) throw new Error('wrong kinds');
      expect(clusterCopy.options.redisOptions).toMatchObject({ connectTimeout: 999, maxRetriesPerRequest: null });
      expect(plainCopy.options.maxRetriesPerRequest).toBeNull();
      setRetryStrategy(clusterCopy, () => 5);
      setRetryStrategy(plainCopy, () => 6);
      expect(clusterCopy.options.clusterRetryStrategy?.(1)).toBe(5);
      expect(plainCopy.options.retryStrategy?.(1)).toBe(6);
    } finally {
      for (const c of [cluster, plain, ...copies]) c.disconnect();
    }
  });
});
