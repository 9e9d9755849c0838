/**
 * The dashboard's exposure rules, as deployed: who may listen where, and which Authorization
 * headers grant access. Pure functions, tables of cases.
 */
import { describe, expect, it } from 'vitest';
import { assertSafeBinding, describeAuth, isAuthorized, isLoopbackHost, parseAuthorization, safeEqual, validateAuth, type DashboardAuth } from '../../../producers/dashboard/auth.js';
import { parseDashboardArgs } from '../../../producers/dashboard/command.js';

const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

describe('isLoopbackHost', () => {
  it.each([
    ['127.0.0.1', true],
    ['127.1.2.3', true],
    ['localhost', true],
    ['LOCALHOST', true],
    ['::1', true],
    ['[::1]', true],
    ['0:0:0:0:0:0:0:1', true],
    ['::ffff:127.0.0.1', true],
    ['0.0.0.0', false],
    ['::', false],
    ['192.168.1.10', false],
    ['10.0.0.1', false],
    ['::ffff:10.0.0.1', false],
    ['dashboard.internal', false],
    ['127.0.0.1.example.com', false],
  ])('%s → %s', (host, expected) => {
    expect(isLoopbackHost(host)).toBe(expected);
  });
});

describe('assertSafeBinding', () => {
  it('lets loopback run without auth, and anything else only with it', () => {
    expect(() => assertSafeBinding('127.0.0.1', undefined)).not.toThrow();
    expect(() => assertSafeBinding('0.0.0.0', { token: 't' })).not.toThrow();
    expect(() => assertSafeBinding('0.0.0.0', { basic: { user: 'u', password: 'p' } })).not.toThrow();
    expect(() => assertSafeBinding('0.0.0.0', undefined)).toThrow(/reachable beyond this machine, and no auth is configured/);
    expect(() => assertSafeBinding('::', {})).toThrow(/no auth is configured/);
  });
});

describe('isAuthorized', () => {
  const both: DashboardAuth = { basic: { user: 'ops', password: 's3cret' }, token: 'tok-123' };
  it.each([
    [undefined, undefined, true],
    [{ basic: { user: 'ops', password: 's3cret' } }, undefined, false],
    [both, basic('ops', 's3cret'), true],
    [both, basic('ops', 's3cret!'), false],
    [both, basic('Ops', 's3cret'), false],
    [both, basic('', 's3cret'), false],
    [both, 'Bearer tok-123', true],
    [both, 'bearer tok-123', true],
    [both, 'Bearer tok-1234', false],
    [both, 'Bearer s3cret', false],
    [both, basic('anyone', 'tok-123'), true],
    [{ basic: { user: 'ops', password: 's3cret' } }, 'Bearer s3cret', false],
    [{ token: 'tok-123' }, basic('ops', 's3cret'), false],
    [both, 'Basic', false],
    [both, 'Basic !!!', false],
    [both, `Basic ${Buffer.from('no-colon').toString('base64')}`, false],
    [both, 'Digest username="ops"', false],
  ] as [DashboardAuth | undefined, string | undefined, boolean][])('%j with %s → %s', (auth, header, expected) => {
    expect(isAuthorized(auth, header)).toBe(expected);
  });

  it('keeps a password containing ":" whole', () => {
    expect(parseAuthorization(basic('ops', 'a:b:c'))).toEqual({ kind: 'basic', user: 'ops', password: 'a:b:c' });
    expect(isAuthorized({ basic: { user: 'ops', password: 'a:b:c' } }, basic('ops', 'a:b:c'))).toBe(true);
  });

  it('compares strings of any lengths without throwing', () => {
    expect(safeEqual('a', 'a')).toBe(true);
    expect(safeEqual('a', 'ab')).toBe(false);
    expect(safeEqual('', 'x'.repeat(10_000))).toBe(false);
  });
});

describe('validateAuth and describeAuth', () => {
  it('refuses empty secrets and a user name with ":"', () => {
    expect(() => validateAuth({ basic: { user: '', password: 'p' } })).toThrow(/auth.basic.user: is empty/);
    expect(() => validateAuth({ basic: { user: 'u', password: '' } })).toThrow(/auth.basic.password: is empty/);
    expect(() => validateAuth({ basic: { user: 'a:b', password: 'p' } })).toThrow(/must not contain ":"/);
    expect(() => validateAuth({ token: '' })).toThrow(/auth.token: is empty/);
  });

  it('describes the auth without any secret', () => {
    const text = describeAuth({ basic: { user: 'ops', password: 'p4ss' }, token: 't0ken' });
    expect(text).toBe('basic (user "ops") or bearer token');
    expect(text).not.toMatch(/p4ss|t0ken/);
    expect(describeAuth(undefined)).toBe('none (localhost only)');
  });
});

describe('parseDashboardArgs', () => {
  it('defaults to 127.0.0.1:3000 without auth', () => {
    expect(parseDashboardArgs([], {})).toMatchObject({ help: false, host: '127.0.0.1', port: 3000, auth: undefined, readOnly: false, json: false });
  });

  it('takes credentials from the environment, flags winning, empty values meaning unset', () => {
    const env = { S3JOBS_DASHBOARD_USER: 'ops', S3JOBS_DASHBOARD_PASSWORD: 'envpw', S3JOBS_DASHBOARD_TOKEN: '' };
    expect(parseDashboardArgs(['--host', '0.0.0.0'], env)).toMatchObject({ auth: { basic: { user: 'ops', password: 'envpw' } } });
    expect(parseDashboardArgs(['--password', 'flagpw'], env)).toMatchObject({ auth: { basic: { user: 'ops', password: 'flagpw' } } });
    expect(parseDashboardArgs(['--token', 't'], {})).toMatchObject({ auth: { token: 't' } });
  });

  it.each([
    [['--host', '0.0.0.0'], {}, /^--host: "0\.0\.0\.0" makes the dashboard reachable beyond this machine/],
    [['--user', 'ops'], {}, /^--password: is missing/],
    [[], { S3JOBS_DASHBOARD_PASSWORD: 'p' }, /^--user: is missing/],
    [['--port', '70000'], {}, /^--port: "70000" is not a port/],
    [['--port', 'abc'], {}, /^--port: "abc" is not a port/],
    [['--bogus'], {}, /^--bogus: .*Unknown option/],
    [['extra'], {}, /unexpected argument; 'dashboard' takes no arguments/],
    [['--user', 'a:b', '--password', 'p'], {}, /^--user: must not contain ":"/],
  ] as [string[], Record<string, string>, RegExp][])('%j %j → %s', (argv, env, message) => {
    expect(() => parseDashboardArgs(argv, env)).toThrow(message);
  });

  it('answers --help before validating anything else', () => {
    expect(parseDashboardArgs(['--help'], {})).toEqual({ help: true });
  });
});
