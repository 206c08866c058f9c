import { createHash, randomBytes } from 'node:crypto';
import { createServer, connect, type Server, type Socket, type AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { waitFor } from '../harness/wait-for.ts';
import {
  createWanLink,
  createWanTopology,
  parseDelay,
  WanConfigError,
  type WanLink,
  type WanTopology,
} from '../../services/sim/devnet/index.ts';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

interface TestServer {
  server: Server;
  port: number;
  sockets: Socket[];
  received: Buffer[];
  /** Arrival time (performance.now) of each chunk. */
  arrivals: number[];
}

/** A server that records what it receives and optionally echoes it. */
async function startServer(host: string, opts: { echo?: boolean } = {}): Promise<TestServer> {
  const t: TestServer = { server: createServer(), port: 0, sockets: [], received: [], arrivals: [] };
  t.server.on('connection', (s) => {
    t.sockets.push(s);
    s.setNoDelay(true);
    s.on('error', () => {});
    s.on('data', (c: Buffer) => {
      t.arrivals.push(performance.now());
      t.received.push(c);
      if (opts.echo) s.write(c);
    });
  });
  await new Promise<void>((r) => t.server.listen(0, host, r));
  t.port = (t.server.address() as AddressInfo).port;
  cleanups.push(
    () =>
      new Promise<void>((r) => {
        for (const s of t.sockets) s.destroy();
        t.server.close(() => r());
      }),
  );
  return t;
}

async function dial(host: string, port: number): Promise<Socket> {
  const s = connect({ host, port });
  s.setNoDelay(true);
  s.on('error', () => {});
  await new Promise<void>((resolve, reject) => {
    s.once('connect', resolve);
    s.once('error', reject);
  });
  cleanups.push(() => void s.destroy());
  return s;
}

async function link(opts: Parameters<typeof createWanLink>[0]): Promise<WanLink> {
  const l = await createWanLink(opts);
  cleanups.push(() => l.close());
  return l;
}

const bytesOf = (bufs: Buffer[]): number => bufs.reduce((n, b) => n + b.length, 0);

describe('createWanLink', () => {
  it('binds addresses of the region blocks (127.0.1.x, 127.0.2.x, 127.0.3.x)', async () => {
    for (const host of ['127.0.1.1', '127.0.2.1', '127.0.3.1']) {
      const srv = await startServer(host);
      const s = await dial(host, srv.port);
      expect(s.remoteAddress).toBe(host);
    }
  });

  it('delays each direction by the configured one-way delay', async () => {
    const srv = await startServer('127.0.2.1', { echo: true });
    const l = await link({ listenHost: '127.0.1.101', targetHost: '127.0.2.1', targetPort: srv.port, delayMs: 40, jitterMs: 0 });
    const c = await dial(l.address, l.port);
    const oneWay: number[] = [];
    const rtt: number[] = [];
    for (let i = 0; i < 10; i++) {
      const before = srv.arrivals.length;
      const sent = performance.now();
      const echoed = new Promise<number>((r) => c.once('data', () => r(performance.now())));
      c.write(`ping ${i}`);
      const back = await echoed;
      oneWay.push(srv.arrivals[before]! - sent);
      rtt.push(back - sent);
    }
    oneWay.sort((a, b) => a - b);
    rtt.sort((a, b) => a - b);
    console.log(`wan link 40 ms: one-way min ${oneWay[0]!.toFixed(2)} median ${oneWay[5]!.toFixed(2)} max ${oneWay[9]!.toFixed(2)} ms; rtt median ${rtt[5]!.toFixed(2)} ms`);
    // Never earlier than configured (allow timer granularity of ~1 ms) ...
    expect(oneWay[0]!).toBeGreaterThanOrEqual(39);
    expect(rtt[0]!).toBeGreaterThanOrEqual(78);
    // ... and close to it: the minimum over samples is immune to scheduler
    // noise; the median gets a generous bound for a loaded 2-core CI box.
    expect(oneWay[0]!).toBeLessThan(40 + 10);
    expect(oneWay[5]!).toBeLessThan(40 + 60);
    expect(rtt[5]!).toBeLessThan(80 + 120);
  });

  it('applies per-direction overrides and setDelay', async () => {
    const srv = await startServer('127.0.2.2', { echo: true });
    const l = await link({ listenHost: '127.0.1.102', targetHost: '127.0.2.2', targetPort: srv.port, delayMs: 0, down: { delayMs: 30 } });
    const c = await dial(l.address, l.port);
    /** One echo: [up one-way, down one-way] in ms. */
    const probe = async (): Promise<[number, number]> => {
      const before = srv.arrivals.length;
      const t0 = performance.now();
      const back = new Promise<number>((r) => c.once('data', () => r(performance.now())));
      c.write('x');
      const t2 = await back;
      const t1 = srv.arrivals[before]!;
      return [t1 - t0, t2 - t1];
    };
    const samples: Array<[number, number]> = [];
    for (let i = 0; i < 5; i++) samples.push(await probe());
    // Lower bounds are strict (the link never delivers early); upper bounds use
    // the minimum over samples, which scheduler noise on a busy box cannot inflate.
    expect(Math.min(...samples.map((s) => s[1]))).toBeGreaterThanOrEqual(29);
    expect(Math.min(...samples.map((s) => s[0]))).toBeLessThan(15);
    l.setDelay(20, 0, 'up');
    const after = await probe();
    expect(after[0]).toBeGreaterThanOrEqual(19);
    expect(after[1]).toBeGreaterThanOrEqual(29);
  });

  it('keeps a multi-megabyte stream intact and in order under heavy jitter, both ways', async () => {
    const srv = await startServer('127.0.2.3', { echo: true });
    // Jitter as large as the delay: without the in-order rule chunks would overtake each other.
    const l = await link({ listenHost: '127.0.1.103', targetHost: '127.0.2.3', targetPort: srv.port, delayMs: 5, jitterMs: 5 });
    const c = await dial(l.address, l.port);
    const payload = randomBytes(4 * 1024 * 1024);
    const got: Buffer[] = [];
    c.on('data', (b: Buffer) => got.push(b));
    // Many writes of varied size, so the link sees many chunks.
    for (let off = 0; off < payload.length; ) {
      const n = 1 + Math.floor(Math.random() * 32 * 1024);
      c.write(payload.subarray(off, off + n));
      off += n;
    }
    await waitFor(() => bytesOf(got) >= payload.length, { timeoutMs: 20_000, message: 'echo of 4 MB' });
    const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');
    expect(bytesOf(srv.received)).toBe(payload.length);
    expect(sha(Buffer.concat(srv.received))).toBe(sha(payload));
    expect(sha(Buffer.concat(got))).toBe(sha(payload));
    expect(l.stats().bytes).toEqual({ up: payload.length, down: payload.length });
  });

  it('delivers a half-close (FIN) after the delayed bytes', async () => {
    const srv = await startServer('127.0.2.4');
    const ended = new Promise<void>((r) => srv.server.on('connection', (s) => s.on('end', () => r())));
    const l = await link({ listenHost: '127.0.1.104', targetHost: '127.0.2.4', targetPort: srv.port, delayMs: 20 });
    const c = await dial(l.address, l.port);
    c.end('last words');
    await ended;
    expect(Buffer.concat(srv.received).toString()).toBe('last words');
  });

  it('caps bandwidth', async () => {
    const srv = await startServer('127.0.2.5');
    const l = await link({ listenHost: '127.0.1.105', targetHost: '127.0.2.5', targetPort: srv.port, bandwidthBytesPerSec: 1_000_000 });
    const c = await dial(l.address, l.port);
    const t0 = performance.now();
    c.write(randomBytes(200_000));
    await waitFor(() => bytesOf(srv.received) === 200_000, { timeoutMs: 5_000 });
    const ms = performance.now() - t0;
    console.log(`wan link 1 MB/s: 200 kB in ${ms.toFixed(1)} ms`);
    expect(ms).toBeGreaterThanOrEqual(195);
  });

  it('emulates loss as stalls, never as missing bytes', async () => {
    const srv = await startServer('127.0.2.6');
    // Deterministic "random": every other chunk is lost (writes may coalesce into few chunks).
    let n = 0;
    const random = (): number => (n++ % 2 === 0 ? 0 : 0.99);
    const l = await link({ listenHost: '127.0.1.106', targetHost: '127.0.2.6', targetPort: srv.port, lossRate: 0.3, lossStallMs: 20, random });
    const c = await dial(l.address, l.port);
    const payload = randomBytes(256 * 1024);
    for (let off = 0; off < payload.length; off += 4096) c.write(payload.subarray(off, off + 4096));
    await waitFor(() => bytesOf(srv.received) === payload.length, { timeoutMs: 10_000 });
    expect(Buffer.concat(srv.received).equals(payload)).toBe(true);
    expect(l.stats().lostChunks.up).toBeGreaterThan(0);
  });

  it('drop partition stops traffic (existing and new connections) and heal delivers it', async () => {
    const srv = await startServer('127.0.2.7');
    const l = await link({ listenHost: '127.0.1.107', targetHost: '127.0.2.7', targetPort: srv.port, delayMs: 1 });
    const c = await dial(l.address, l.port);
    c.write('before');
    await waitFor(() => bytesOf(srv.received) === 6);
    l.partition({ mode: 'drop' });
    c.write('during');
    const c2 = await dial(l.address, l.port); // accepted by the link, but not connected onward
    c2.write('new');
    await waitFor(() => l.stats().queuedBytes.up === 9, { message: 'bytes held by the partition' });
    // Held, not delivered: the delay is 1 ms, so they would have arrived long ago.
    expect(bytesOf(srv.received)).toBe(6);
    expect(srv.sockets.length).toBe(1);
    expect(l.stats().partitioned).toBe('drop');
    l.heal();
    await waitFor(() => bytesOf(srv.received) === 15, { message: 'held bytes after heal' });
    expect(srv.sockets.length).toBe(2);
    const text = srv.received.map((b) => b.toString()).join('');
    expect(text.startsWith('before')).toBe(true);
    expect(text.includes('during') && text.includes('new')).toBe(true);
  });

  it('reset partition closes every connection and refuses new ones until heal', async () => {
    const srv = await startServer('127.0.2.8');
    const l = await link({ listenHost: '127.0.1.108', targetHost: '127.0.2.8', targetPort: srv.port });
    const c = await dial(l.address, l.port);
    await waitFor(() => srv.sockets.length === 1);
    const clientClosed = new Promise<void>((r) => c.once('close', () => r()));
    const serverClosed = new Promise<void>((r) => srv.sockets[0]!.once('close', () => r()));
    l.partition({ mode: 'reset' });
    await clientClosed;
    await serverClosed;
    // A new connection is accepted by the kernel and then reset.
    const c2 = connect({ host: l.address, port: l.port });
    const err = await new Promise<string>((r) => {
      c2.once('error', (e: NodeJS.ErrnoException) => r(e.code ?? 'error'));
      c2.once('close', () => r('closed'));
    });
    expect(['ECONNRESET', 'closed', 'EPIPE']).toContain(err);
    expect(l.stats().reset).toBeGreaterThanOrEqual(2);
    l.heal();
    const c3 = await dial(l.address, l.port);
    c3.write('ok');
    await waitFor(() => srv.received.some((b) => b.toString() === 'ok'));
  });

  it('pause holds one direction only', async () => {
    const srv = await startServer('127.0.2.9', { echo: true });
    const l = await link({ listenHost: '127.0.1.109', targetHost: '127.0.2.9', targetPort: srv.port });
    const c = await dial(l.address, l.port);
    const got: Buffer[] = [];
    c.on('data', (b: Buffer) => got.push(b));
    l.pause('down');
    c.write('abc');
    await waitFor(() => bytesOf(srv.received) === 3, { message: 'up still flows' });
    await waitFor(() => l.stats().queuedBytes.down === 3, { message: 'echo held' });
    expect(bytesOf(got)).toBe(0);
    l.resume('down');
    await waitFor(() => bytesOf(got) === 3);
  });

  it('rejects non-loopback addresses and bad impairments with typed errors', async () => {
    await expect(createWanLink({ listenHost: '10.0.0.1', targetHost: '127.0.0.1', targetPort: 1 })).rejects.toMatchObject({ code: 'DEVNET_WAN_CONFIG' });
    await expect(createWanLink({ listenHost: '127.0.0.1', targetHost: '192.168.1.1', targetPort: 1 })).rejects.toBeInstanceOf(WanConfigError);
    await expect(createWanLink({ listenHost: '127.0.0.1', targetHost: '127.0.0.1', targetPort: 1, delayMs: -1 })).rejects.toThrow(/delayMs/);
    await expect(createWanLink({ listenHost: '127.0.0.1', targetHost: '127.0.0.1', targetPort: 1, lossRate: 1 })).rejects.toThrow(/lossRate/);
    expect(parseDelay('40ms')).toBe(40);
    expect(parseDelay('0.04s')).toBe(40);
    expect(() => parseDelay('fast')).toThrow(WanConfigError);
  });
});

describe('createWanTopology', () => {
  let wan: WanTopology | undefined;
  afterEach(async () => {
    await wan?.close();
    wan = undefined;
  });

  it('routes cross-region traffic through a link in the source block; partition and heal a region', async () => {
    wan = createWanTopology({ regions: ['a', 'b', 'c'], delayMs: 10, jitterMs: 2 });
    expect(wan.region('c').host(1)).toBe('127.0.3.1');
    const srvB = await startServer(wan.region('b').host(11), { echo: true });
    // Same region: direct.
    expect(await wan.reach('b', 'b', wan.region('b').host(11), srvB.port)).toEqual({ host: '127.0.2.11', port: srvB.port });
    const fromA = await wan.reachHost('a', wan.region('b').host(11), srvB.port);
    const fromC = await wan.reach('c', 'b', wan.region('b').host(11), srvB.port);
    expect(wan.regionOfHost(fromA.host)?.name).toBe('a');
    expect(wan.regionOfHost(fromC.host)?.name).toBe('c');
    // The same route is reused.
    expect(await wan.reach('a', 'b', wan.region('b').host(11), srvB.port)).toEqual(fromA);
    const ca = await dial(fromA.host, fromA.port);
    const cc = await dial(fromC.host, fromC.port);
    ca.write('from-a');
    cc.write('from-c');
    await waitFor(() => srvB.sockets.length === 2 && bytesOf(srvB.received) === 12);
    // The server sees the sources in their own regions' blocks.
    expect(srvB.sockets.map((s) => wan!.regionOfHost(s.remoteAddress ?? '')?.name).sort()).toEqual(['a', 'c']);

    wan.partition('a', { mode: 'drop' });
    ca.write('held');
    cc.write('flows');
    await waitFor(() => srvB.received.some((b) => b.toString() === 'flows'), { message: 'c still reaches b' });
    await waitFor(() => wan!.links().some((x) => x.key.from === 'a' && x.link.stats().queuedBytes.up === 4));
    expect(srvB.received.some((b) => b.toString().includes('held'))).toBe(false);
    wan.heal('a');
    await waitFor(() => srvB.received.some((b) => b.toString().includes('held')), { message: 'a heals' });
    expect(() => wan!.region('z')).toThrow(WanConfigError);
  });

  it('ingress links delay every inbound connection to a service with one advertised address', async () => {
    wan = createWanTopology({ regions: ['a', 'b'], delayMs: 15, jitterMs: 0 });
    const srv = await startServer(wan.region('b').host(12), { echo: true });
    const ing = await wan.ingress('b', wan.region('b').host(12), srv.port);
    expect(wan.regionOfHost(ing.host)?.name).toBe('b');
    expect(Number(ing.host.split('.')[3])).toBeGreaterThan(200);
    const c = await dial(ing.host, ing.port);
    const t0 = performance.now();
    const back = new Promise<number>((r) => c.once('data', () => r(performance.now())));
    c.write('peer');
    expect((await back) - t0).toBeGreaterThanOrEqual(29);
    wan.partition('b', { mode: 'reset' });
    await waitFor(() => c.destroyed, { message: 'ingress connection reset by partition' });
    wan.heal();
    const c2 = await dial(ing.host, ing.port);
    c2.write('again');
    await waitFor(() => srv.received.some((b) => b.toString() === 'again'));
  });
});
