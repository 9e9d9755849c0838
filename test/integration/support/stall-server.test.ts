import { Agent, request } from 'undici';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startStallServer, type StallServer } from '../../support/stall-server.js';

describe('stall-server', () => {
  let server: StallServer;
  let dispatcher: Agent;

  beforeEach(() => {
    dispatcher = new Agent();
  });
  afterEach(async () => {
    await server.close();
    await dispatcher.destroy();
  });

  it('answers after the scripted delay', async () => {
    server = await startStallServer({ type: 'respond', delayMs: 150, body: 'late' });
    const started = Date.now();
    const res = await request(server.url, { dispatcher });
    expect(await res.body.text()).toBe('late');
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
    expect(server.requests[0]?.outcome).toBe('finished');
  });

  it('reports that the client destroyed its socket while waiting for headers', async () => {
    server = await startStallServer({ type: 'stall' });
    await expect(
      request(server.url, { dispatcher, signal: AbortSignal.timeout(200) }),
    ).rejects.toMatchObject({ name: expect.stringMatching(/AbortError|TimeoutError/) });

    const aborted = await server.waitForClientAbort();
    expect(aborted.outcome).toBe('client-aborted');
    await server.waitForNoOpenSockets();
    expect(server.sockets[0]?.closedBy).toBe('client');
  });

  it('sends headers, then stalls the body until the client gives up on it', async () => {
    server = await startStallServer({ type: 'headers-then-stall', body: 'partial', contentLength: 100 });
    const res = await request(server.url, { dispatcher, bodyTimeout: 200 });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-length']).toBe('100');
    await expect(res.body.text()).rejects.toMatchObject({ code: 'UND_ERR_BODY_TIMEOUT' });

    const aborted = await server.waitForClientAbort();
    expect(aborted.behavior).toBe('headers-then-stall');
    await server.waitForNoOpenSockets();
  });

  it('tells a real abort from a client that merely stopped waiting', async () => {
    server = await startStallServer({ type: 'stall' });
    // A timer racing the request rejects the caller but leaves the request running:
    const running = request(server.url, { dispatcher });
    running.catch(() => undefined);
    const raced = Promise.race([
      running,
      new Promise((_, reject) => setTimeout(() => reject(new Error('gave up')), 100)),
    ]);
    await expect(raced).rejects.toThrow('gave up');
    await new Promise((r) => setTimeout(r, 100));
    expect(server.requests[0]?.outcome).toBe('pending');
    expect(server.openSockets()).toBe(1);
    await expect(server.waitForClientAbort(200)).rejects.toThrow(/timed out/);
  });

  it('trickles a body in chunks', async () => {
    server = await startStallServer({ type: 'trickle', chunk: 'ab', intervalMs: 20, count: 5 });
    const started = Date.now();
    const res = await request(server.url, { dispatcher });
    expect(await res.body.text()).toBe('ababababab');
    expect(Date.now() - started).toBeGreaterThanOrEqual(90);
  });

  it('resets the connection on cue', async () => {
    server = await startStallServer({ type: 'reset' });
    const err = await request(server.url, { dispatcher }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toMatchObject({ code: expect.stringMatching(/^(ECONNRESET|UND_ERR_SOCKET)$/) });
    await server.waitForNoOpenSockets();
    expect(server.sockets[0]?.closedBy).toBe('server');
    expect(server.requests[0]?.outcome).toBe('server-reset');
  });

  it('plays queued behaviors in order, then the default', async () => {
    server = await startStallServer({ type: 'respond', body: 'default' });
    server.enqueue({ type: 'respond', status: 503, body: 'first' }, { type: 'respond', body: 'second' });
    const bodies: string[] = [];
    for (let i = 0; i < 3; i++) {
      const res = await request(server.url, { dispatcher });
      bodies.push(`${res.statusCode}:${await res.body.text()}`);
    }
    expect(bodies).toEqual(['503:first', '200:second', '200:default']);
    expect(server.requests.map((r) => r.seq)).toEqual([1, 2, 3]);
  });

  it('records the request body size and headers', async () => {
    server = await startStallServer({ type: 'respond' });
    const res = await request(`${server.url}/up?x=1`, {
      dispatcher,
      method: 'PUT',
      body: Buffer.alloc(70_000, 1),
      headers: { 'x-test': 'yes' },
    });
    await res.body.dump();
    const rec = await server.waitForRequest(1);
    expect(rec).toMatchObject({ method: 'PUT', url: '/up?x=1', bodyBytes: 70_000 });
    expect(rec.headers['x-test']).toBe('yes');
  });

  it('closes cleanly while requests are stalled', async () => {
    server = await startStallServer({ type: 'stall' });
    const pending = request(server.url, { dispatcher }).catch((e: unknown) => e);
    await server.waitForRequest(1);
    await server.close();
    expect(await pending).toBeInstanceOf(Error);
    expect(server.openSockets()).toBe(0);
    expect(server.requests[0]?.outcome).toBe('server-reset');
  });
});
