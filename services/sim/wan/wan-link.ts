/**
 * Userspace WAN emulation for TCP (no netem needed: it runs in user space): part of
 * the simulated environment, used by the layout (services/sim/layout), tests and bench.
 *
 * `createWanLink` is a TCP proxy that adds, per direction, a one-way delay,
 * jitter, loss (as stalls: TCP retransmits a lost segment, so a loss shows up
 * as the stream standing still for about one RTO, never as missing bytes) and a
 * bandwidth cap, and can partition (stall everything, or reset every
 * connection) and heal.
 *
 * Invariant: bytes of one connection are delivered in order and complete.
 * Each chunk gets a release time `max(now + delay ± jitter, previous release)`,
 * so jitter spreads chunks out but never reorders them; a partition in `drop`
 * mode holds bytes (as TCP would keep retransmitting them) and releases them
 * on heal; only `reset` mode (or a socket error) cuts a stream, and then the
 * peer sees the connection end, never a gap.
 *
 * `createWanTopology` lays out regions on loopback blocks (region i on
 * 127.0.i.x) and creates, on demand, a link for "region X reaches service S of
 * region Y", listening on an address of X's block, so all cross-region
 * traffic crosses a link and can be delayed or partitioned per region.
 *
 * Direction names: `up` is client → target, `down` is target → client.
 */
import { createServer, connect, type Server, type Socket, type AddressInfo } from 'node:net';
import { DevnetError } from '../devnet/errors.ts';

/** Default one-way delay between regions of the simulated topology. */
export const DEFAULT_WAN_DELAY_MS = 40;
/** Default jitter of that delay. */
export const DEFAULT_WAN_JITTER_MS = 5;
/** Default stall per lost chunk: Linux's minimum TCP RTO. */
export const DEFAULT_LOSS_STALL_MS = 200;
/** Bytes queued in one direction above which the sender is paused. */
export const QUEUE_HIGH_WATER_BYTES = 4 * 1024 * 1024;

/** A direction through a link: `up` = client → target, `down` = target → client. */
export type WanDirection = 'up' | 'down';

/** Impairments of one direction. */
export interface DirectionOptions {
  /** One-way delay, ms. */
  delayMs: number;
  /** Jitter, ms: each chunk's delay is uniform in [delay - jitter, delay + jitter] (never below 0). */
  jitterMs: number;
  /** Probability that a chunk is "lost" and therefore stalls the stream by `lossStallMs`. */
  lossRate: number;
  /** Stall per lost chunk, ms (default {@link DEFAULT_LOSS_STALL_MS}). */
  lossStallMs: number;
  /** Bandwidth cap in bytes/s (0 or undefined: unlimited). */
  bandwidthBytesPerSec?: number;
}

/** Options of {@link createWanLink}. */
export interface WanLinkOptions {
  /** Address to listen on (a loopback address, e.g. 127.0.1.101). */
  listenHost: string;
  /** Port to listen on (default 0: a free port). */
  listenPort?: number;
  targetHost: string;
  targetPort: number;
  /** Source address for connections to the target (default: OS choice). */
  localAddress?: string;
  delayMs?: number;
  jitterMs?: number;
  lossRate?: number;
  lossStallMs?: number;
  bandwidthBytesPerSec?: number;
  /** Overrides for client → target. */
  up?: Partial<DirectionOptions>;
  /** Overrides for target → client. */
  down?: Partial<DirectionOptions>;
  /** Random source in [0, 1) (default Math.random); inject a seeded one for reproducible runs. */
  random?: () => number;
  /** A name for stats and errors. */
  name?: string;
}

/** How {@link WanLink.partition} cuts traffic. */
export interface PartitionOptions {
  /**
   * `drop`: packets vanish: nothing is forwarded, connections stay open and
   * stall (new connections are accepted but not connected onward), and on heal
   * everything held is delivered, as TCP retransmission would.
   * `reset`: every connection is reset now, and new ones are reset until heal.
   */
  mode: 'drop' | 'reset';
}

/** Counters of a link. */
export interface WanLinkStats {
  name: string;
  /** Open client connections. */
  connections: number;
  /** Client connections accepted since start. */
  accepted: number;
  /** Connections reset by a partition. */
  reset: number;
  /** Bytes delivered per direction. */
  bytes: Record<WanDirection, number>;
  /** Bytes waiting in delay queues per direction. */
  queuedBytes: Record<WanDirection, number>;
  /** Chunks that were "lost" (stalled) per direction. */
  lostChunks: Record<WanDirection, number>;
  partitioned: false | 'drop' | 'reset';
  paused: Record<WanDirection, boolean>;
}

/** A running WAN link. */
export interface WanLink {
  /** Listening address (what clients connect to). */
  readonly address: string;
  readonly port: number;
  readonly name: string;
  /** Changes delay/jitter (both directions, or one); applies to chunks arriving from now on. */
  setDelay(delayMs: number, jitterMs?: number, direction?: WanDirection): void;
  /** Changes any impairment of one or both directions. */
  setImpairment(opts: Partial<DirectionOptions>, direction?: WanDirection): void;
  partition(opts?: PartitionOptions): void;
  heal(): void;
  /** Holds one direction (bytes queue up; the sender is paused at the high-water mark). */
  pause(direction: WanDirection): void;
  resume(direction: WanDirection): void;
  stats(): WanLinkStats;
  /** Stops listening and destroys every connection. */
  close(): Promise<void>;
}

/** A WAN link option is invalid (names the option). */
export class WanConfigError extends DevnetError {
  constructor(message: string) {
    super('DEVNET_WAN_CONFIG', message);
    this.name = 'WanConfigError';
  }
}

/** The link could not listen on its address. */
export class WanListenError extends DevnetError {
  constructor(message: string, options?: ErrorOptions) {
    super('DEVNET_WAN_LISTEN', message, options);
    this.name = 'WanListenError';
  }
}

function checkDirection(d: DirectionOptions, what: string): void {
  const bad = (field: string, v: unknown): never => {
    throw new WanConfigError(`${what}.${field} = ${String(v)} is out of range`);
  };
  if (!(Number.isFinite(d.delayMs) && d.delayMs >= 0)) bad('delayMs', d.delayMs);
  if (!(Number.isFinite(d.jitterMs) && d.jitterMs >= 0)) bad('jitterMs', d.jitterMs);
  if (!(d.lossRate >= 0 && d.lossRate < 1)) bad('lossRate', d.lossRate);
  if (!(Number.isFinite(d.lossStallMs) && d.lossStallMs >= 0)) bad('lossStallMs', d.lossStallMs);
  if (d.bandwidthBytesPerSec !== undefined && !(d.bandwidthBytesPerSec >= 0)) bad('bandwidthBytesPerSec', d.bandwidthBytesPerSec);
}

const isLoopback = (host: string): boolean => /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host) || host === '::1' || host === 'localhost';

interface Item {
  chunk: Buffer | null; // null = end of stream (FIN), delivered in order
  releaseAt: number;
}

/**
 * One direction of one connection: a FIFO with monotonically non-decreasing
 * release times and a single timer for its head.
 */
class Pipe {
  readonly queue: Item[] = [];
  queuedBytes = 0;
  lastReleaseAt = 0;
  txFreeAt = 0;
  timer: NodeJS.Timeout | undefined;
  ended = false;
  sourcePausedByUs = false;
  destBlocked = false;

  constructor(
    readonly dir: WanDirection,
    public src: Socket,
    readonly dst: () => Socket | undefined,
    readonly link: LinkImpl,
  ) {}

  push(chunk: Buffer | null): void {
    const o = this.link.dirOpts[this.dir];
    const now = performance.now();
    let departAt = now;
    if (chunk && o.bandwidthBytesPerSec) {
      departAt = Math.max(now, this.txFreeAt) + (chunk.length * 1000) / o.bandwidthBytesPerSec;
      this.txFreeAt = departAt;
    }
    let delay = o.delayMs + (o.jitterMs > 0 ? (this.link.random() * 2 - 1) * o.jitterMs : 0);
    if (chunk && o.lossRate > 0 && this.link.random() < o.lossRate) {
      delay += o.lossStallMs;
      this.link.counters.lostChunks[this.dir]++;
    }
    const releaseAt = Math.max(departAt + Math.max(0, delay), this.lastReleaseAt);
    this.lastReleaseAt = releaseAt;
    this.queue.push({ chunk, releaseAt });
    if (chunk) {
      this.queuedBytes += chunk.length;
      this.link.counters.queuedBytes[this.dir] += chunk.length;
      if (this.queuedBytes > QUEUE_HIGH_WATER_BYTES && !this.sourcePausedByUs) {
        this.sourcePausedByUs = true;
        this.src.pause();
      }
    }
    this.schedule();
  }

  canRelease(): boolean {
    return !this.link.partitioned && !this.link.paused[this.dir] && !this.destBlocked && this.dst() !== undefined;
  }

  schedule(): void {
    if (this.timer || this.queue.length === 0 || !this.canRelease()) return;
    const wait = Math.max(0, this.queue[0]!.releaseAt - performance.now());
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.flush();
    }, wait);
  }

  flush(): void {
    const dst = this.dst();
    if (!dst || !this.canRelease()) return;
    const now = performance.now();
    // Release everything due, in order. setTimeout may fire up to ~1 ms early
    // relative to performance.now(), so allow half a millisecond of slack.
    while (this.queue.length > 0 && this.queue[0]!.releaseAt <= now + 0.5) {
      const item = this.queue.shift()!;
      if (item.chunk === null) {
        this.ended = true;
        dst.end();
        continue;
      }
      this.queuedBytes -= item.chunk.length;
      this.link.counters.queuedBytes[this.dir] -= item.chunk.length;
      this.link.counters.bytes[this.dir] += item.chunk.length;
      const ok = dst.write(item.chunk);
      if (!ok) {
        this.destBlocked = true;
        dst.once('drain', () => {
          this.destBlocked = false;
          this.flush();
        });
        break;
      }
    }
    if (this.sourcePausedByUs && this.queuedBytes < QUEUE_HIGH_WATER_BYTES / 2) {
      this.sourcePausedByUs = false;
      this.src.resume();
    }
    this.schedule();
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.link.counters.queuedBytes[this.dir] -= this.queuedBytes;
    this.queuedBytes = 0;
    this.queue.length = 0;
  }
}

class Conn {
  upstream: Socket | undefined;
  readonly up: Pipe;
  readonly down: Pipe;
  closed = false;
  clientClosed = false;
  upstreamClosed = false;

  constructor(
    readonly client: Socket,
    readonly link: LinkImpl,
  ) {
    this.up = new Pipe('up', client, () => this.upstream, link);
    // `down`'s source becomes the upstream socket in connectUpstream.
    this.down = new Pipe('down', client, () => (this.clientClosed ? undefined : this.client), link);
    this.wire(client, this.up, this.down, () => {
      this.clientClosed = true;
    });
  }

  /**
   * Wires one side's socket: what it sends (and its FIN) feeds `from`; when it closes, `to`
   * (which writes to it) stops. An error on it (refused or reset, e.g. by the target) resets
   * the other side too, as over a real network.
   */
  private wire(sock: Socket, from: Pipe, to: Pipe, onClose: () => void): void {
    sock.setNoDelay(true);
    sock.on('data', (c: Buffer) => from.push(c));
    sock.on('end', () => from.push(null));
    sock.on('error', () => this.fail());
    sock.on('close', () => {
      onClose();
      to.stop();
      this.maybeDone();
    });
  }

  connectUpstream(): void {
    if (this.upstream || this.closed) return;
    const opts: { host: string; port: number; localAddress?: string; allowHalfOpen: boolean } = {
      host: this.link.targetHost,
      port: this.link.targetPort,
      allowHalfOpen: true, // we deliver the FIN ourselves, after the delayed bytes
    };
    if (this.link.localAddress) opts.localAddress = this.link.localAddress;
    const up = connect(opts);
    this.upstream = up;
    this.down.src = up;
    up.on('connect', () => this.up.schedule());
    this.wire(up, this.down, this.up, () => {
      this.upstreamClosed = true;
    });
  }

  maybeDone(): void {
    if (this.clientClosed && (this.upstream === undefined || this.upstreamClosed)) {
      this.closed = true;
      this.link.conns.delete(this);
    } else if (this.clientClosed && this.upstream && !this.upstreamClosed && this.up.queue.length === 0 && this.up.ended) {
      // Both FINs were delivered: nothing more can flow.
      this.upstream.destroy();
    }
  }

  /** A socket failed: reset the other side too. */
  fail(): void {
    this.reset();
  }

  /** Tears the connection down with RST on both sides. */
  reset(): void {
    if (this.closed) return;
    this.closed = true;
    this.up.stop();
    this.down.stop();
    if (!this.client.destroyed) this.client.resetAndDestroy();
    if (this.upstream && !this.upstream.destroyed) this.upstream.resetAndDestroy();
    this.link.conns.delete(this);
  }

  kick(): void {
    this.up.schedule();
    this.down.schedule();
  }
}

class LinkImpl implements WanLink {
  readonly conns = new Set<Conn>();
  readonly dirOpts: Record<WanDirection, DirectionOptions>;
  readonly counters = {
    accepted: 0,
    reset: 0,
    bytes: { up: 0, down: 0 },
    queuedBytes: { up: 0, down: 0 },
    lostChunks: { up: 0, down: 0 },
  };
  partitioned: false | 'drop' | 'reset' = false;
  readonly paused: Record<WanDirection, boolean> = { up: false, down: false };
  address = '';
  port = 0;
  readonly name: string;
  readonly targetHost: string;
  readonly targetPort: number;
  readonly localAddress: string | undefined;
  readonly random: () => number;
  server: Server | undefined;
  closing: Promise<void> | undefined;

  constructor(opts: WanLinkOptions) {
    const base: DirectionOptions = {
      delayMs: opts.delayMs ?? 0,
      jitterMs: opts.jitterMs ?? 0,
      lossRate: opts.lossRate ?? 0,
      lossStallMs: opts.lossStallMs ?? DEFAULT_LOSS_STALL_MS,
    };
    if (opts.bandwidthBytesPerSec !== undefined) base.bandwidthBytesPerSec = opts.bandwidthBytesPerSec;
    this.dirOpts = { up: { ...base, ...opts.up }, down: { ...base, ...opts.down } };
    checkDirection(this.dirOpts.up, 'up');
    checkDirection(this.dirOpts.down, 'down');
    for (const [k, h] of [['listenHost', opts.listenHost], ['targetHost', opts.targetHost]] as const) {
      if (!isLoopback(h)) throw new WanConfigError(`${k} ${h} is not a loopback address (traffic must stay on 127.0.0.0/8)`);
    }
    if (!Number.isInteger(opts.targetPort) || opts.targetPort <= 0 || opts.targetPort > 65535) {
      throw new WanConfigError(`targetPort ${String(opts.targetPort)} is not a port`);
    }
    this.targetHost = opts.targetHost;
    this.targetPort = opts.targetPort;
    this.localAddress = opts.localAddress;
    this.random = opts.random ?? Math.random;
    this.name = opts.name ?? `${opts.listenHost}->${opts.targetHost}:${opts.targetPort}`;
  }

  async listen(host: string, port: number): Promise<void> {
    const server = createServer({ noDelay: true, allowHalfOpen: true }, (client) => this.accept(client));
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', (err) => reject(new WanListenError(`WAN link ${this.name} cannot listen on ${host}:${port}: ${err.message}`, { cause: err })));
      server.listen(port, host, () => resolve());
    });
    const a = server.address() as AddressInfo;
    this.address = a.address;
    this.port = a.port;
  }

  accept(client: Socket): void {
    this.counters.accepted++;
    if (this.partitioned === 'reset') {
      this.counters.reset++;
      client.on('error', () => {}); // the reset we are about to cause may echo back as an error
      client.resetAndDestroy();
      return;
    }
    const conn = new Conn(client, this);
    this.conns.add(conn);
    // In a `drop` partition a SYN would be lost: connect onward only on heal.
    if (!this.partitioned) conn.connectUpstream();
  }

  setDelay(delayMs: number, jitterMs?: number, direction?: WanDirection): void {
    const o: Partial<DirectionOptions> = { delayMs };
    if (jitterMs !== undefined) o.jitterMs = jitterMs;
    this.setImpairment(o, direction);
  }

  setImpairment(opts: Partial<DirectionOptions>, direction?: WanDirection): void {
    for (const d of direction ? [direction] : (['up', 'down'] as const)) {
      const next = { ...this.dirOpts[d], ...opts };
      checkDirection(next, d);
      this.dirOpts[d] = next;
    }
  }

  partition(opts: PartitionOptions = { mode: 'drop' }): void {
    this.partitioned = opts.mode;
    if (opts.mode === 'reset') {
      for (const c of [...this.conns]) {
        this.counters.reset++;
        c.reset();
      }
    }
    // In `drop` mode pending timers fire and find canRelease() false: bytes stay queued until heal().
  }

  heal(): void {
    this.partitioned = false;
    for (const c of this.conns) {
      c.connectUpstream();
      c.kick();
    }
  }

  pause(direction: WanDirection): void {
    this.paused[direction] = true;
  }

  resume(direction: WanDirection): void {
    this.paused[direction] = false;
    for (const c of this.conns) c.kick();
  }

  stats(): WanLinkStats {
    return {
      name: this.name,
      connections: this.conns.size,
      accepted: this.counters.accepted,
      reset: this.counters.reset,
      bytes: { ...this.counters.bytes },
      queuedBytes: { ...this.counters.queuedBytes },
      lostChunks: { ...this.counters.lostChunks },
      partitioned: this.partitioned,
      paused: { ...this.paused },
    };
  }

  close(): Promise<void> {
    this.closing ??= new Promise<void>((resolve) => {
      for (const c of [...this.conns]) c.reset();
      if (!this.server) return resolve();
      this.server.close(() => resolve());
    });
    return this.closing;
  }
}

/**
 * Starts a WAN link. Rejects with {@link WanConfigError} for bad options
 * (including any non-loopback address) and {@link WanListenError} if the
 * address cannot be bound.
 */
export async function createWanLink(opts: WanLinkOptions): Promise<WanLink> {
  const link = new LinkImpl(opts);
  await link.listen(opts.listenHost, opts.listenPort ?? 0);
  return link;
}

/** One region of a topology. */
export interface WanRegion {
  readonly name: string;
  /** 1-based index; the region's block is 127.0.<index>.0/24. */
  readonly index: number;
  /** Address `127.0.<index>.<n>` of this region's block (n in 1..254). */
  host(n: number): string;
}

/** Options of {@link createWanTopology}. */
export interface WanTopologyOptions {
  regions: readonly string[];
  delayMs?: number;
  jitterMs?: number;
  lossRate?: number;
  lossStallMs?: number;
  bandwidthBytesPerSec?: number;
  random?: () => number;
}

/** Identifies a cross-region link. */
export interface WanLinkKey {
  from: string;
  to: string;
  targetHost: string;
  targetPort: number;
}

/** Regions on loopback blocks with links between them. */
export interface WanTopology {
  readonly regions: readonly WanRegion[];
  region(name: string): WanRegion;
  /** The region whose block contains `host`, if any. */
  regionOfHost(host: string): WanRegion | undefined;
  /**
   * How region `from` reaches `targetHost:targetPort` (which lives in region
   * `to`): the target itself if `from === to`, else the listening address of a
   * link (created on first use, then reused).
   */
  reach(from: string, to: string, targetHost: string, targetPort: number): Promise<{ host: string; port: number }>;
  /**
   * The loopback address region `from`'s links to region `to` listen on (what a client in
   * `from` dials to reach a service in `to`): certificates of services in `to` name it.
   */
  gateway(from: string, to: string): string;
  /** Like {@link reach}, inferring `to` from the target's address block. */
  reachHost(from: string, targetHost: string, targetPort: number): Promise<{ host: string; port: number }>;
  /**
   * An ingress link for a service that must advertise ONE address to every
   * other region (an etcd member's peer URL, a devnet relay listener): it
   * listens on `127.0.<region>.<200 + n>` and delays every connection, so use
   * it only for services whose clients are all in other regions (one etcd
   * member per region). Its key has `from: '*'`. Limit: the link cannot tell
   * which region a connection comes from, so `partition(r)` cuts the ingress
   * links OF region r (nothing reaches r's service), not r's own outbound
   * connections to other regions' ingress links: an asymmetric partition.
   */
  ingress(region: string, targetHost: string, targetPort: number): Promise<{ host: string; port: number }>;
  /** Every link created so far, with its key. */
  links(): ReadonlyArray<{ key: WanLinkKey; link: WanLink }>;
  /** Partitions every link to or from `region` (optionally only those `filter` accepts). */
  partition(region: string, opts?: PartitionOptions & { filter?: (key: WanLinkKey) => boolean }): void;
  /** Heals every link to or from `region` (default: all links). */
  heal(region?: string): void;
  /** Sets delay/jitter on every link (and as the default for new ones). */
  setDelay(delayMs: number, jitterMs?: number): void;
  close(): Promise<void>;
}

/**
 * Lays out regions on loopback blocks: region i (1-based, in the order given)
 * owns 127.0.i.0/24. Services should bind `region.host(n)` for small n
 * (1..99); link listeners use 127.0.<from>.<100 + to>, so the link for
 * "a reaches b" listens in a's block and connects out from the same address.
 *
 * @example
 * const wan = createWanTopology({ regions: ['a', 'b', 'c'], delayMs: 40, jitterMs: 5 });
 * const etcdB = await wan.reach('a', 'b', wan.region('b').host(1), etcdPortB); // a's view of b's etcd
 */
export function createWanTopology(opts: WanTopologyOptions): WanTopology {
  if (opts.regions.length === 0 || opts.regions.length > 99) throw new WanConfigError('regions: need 1..99 regions');
  if (new Set(opts.regions).size !== opts.regions.length) throw new WanConfigError('regions: names must be unique');
  const regions: WanRegion[] = opts.regions.map((name, i) => ({
    name,
    index: i + 1,
    host(n: number): string {
      if (!Number.isInteger(n) || n < 1 || n > 254) throw new WanConfigError(`region ${name}: host number ${n} not in 1..254`);
      return `127.0.${i + 1}.${n}`;
    },
  }));
  const byName = new Map(regions.map((r) => [r.name, r]));
  const region = (name: string): WanRegion => {
    const r = byName.get(name);
    if (!r) throw new WanConfigError(`unknown region ${JSON.stringify(name)} (have ${opts.regions.join(', ')})`);
    return r;
  };
  let delayMs = opts.delayMs ?? DEFAULT_WAN_DELAY_MS;
  let jitterMs = opts.jitterMs ?? DEFAULT_WAN_JITTER_MS;
  interface LinkEntry { key: WanLinkKey; pending: Promise<WanLink>; link?: WanLink }
  const created = new Map<string, LinkEntry>();
  const partitions = new Map<string, PartitionOptions & { filter?: (key: WanLinkKey) => boolean }>();

  const regionOfHost = (host: string): WanRegion | undefined => {
    const m = /^127\.0\.(\d{1,3})\.\d{1,3}$/.exec(host);
    return m ? regions[Number(m[1]) - 1] : undefined;
  };

  const applyPartitions = (key: WanLinkKey, link: WanLink): void => {
    for (const [r, p] of partitions) {
      if ((key.from === r || key.to === r) && (!p.filter || p.filter(key))) link.partition({ mode: p.mode });
    }
  };

  /** Creates and registers one link with the topology's shared impairments; partitions in force apply at once. */
  const startLink = (id: string, key: WanLinkKey, linkOpts: WanLinkOptions): LinkEntry => {
    if (opts.lossRate !== undefined) linkOpts.lossRate = opts.lossRate;
    if (opts.lossStallMs !== undefined) linkOpts.lossStallMs = opts.lossStallMs;
    if (opts.bandwidthBytesPerSec !== undefined) linkOpts.bandwidthBytesPerSec = opts.bandwidthBytesPerSec;
    if (opts.random) linkOpts.random = opts.random;
    const e: LinkEntry = {
      key,
      pending: createWanLink(linkOpts).then((l) => {
        e.link = l;
        applyPartitions(key, l);
        return l;
      }),
    };
    created.set(id, e);
    return e;
  };

  const topo: WanTopology = {
    regions,
    region,
    regionOfHost,
    async reach(from, to, targetHost, targetPort) {
      const rf = region(from);
      const rt = region(to);
      if (rf === rt) return { host: targetHost, port: targetPort };
      const id = `${from}>${to}>${targetHost}:${targetPort}`;
      let entry = created.get(id);
      if (!entry) {
        const gw = topo.gateway(from, to);
        const key: WanLinkKey = { from, to, targetHost, targetPort };
        const linkOpts: WanLinkOptions = {
          name: `${from}->${to} ${targetHost}:${targetPort}`,
          listenHost: gw,
          localAddress: gw,
          targetHost,
          targetPort,
          delayMs,
          jitterMs,
        };
        entry = startLink(id, key, linkOpts);
      }
      const l = await entry.pending;
      return { host: l.address, port: l.port };
    },
    gateway(from, to) {
      return `127.0.${region(from).index}.${100 + region(to).index}`;
    },
    async reachHost(from, targetHost, targetPort) {
      const to = regionOfHost(targetHost);
      if (!to) throw new WanConfigError(`${targetHost} is not in any region's block`);
      return topo.reach(from, to.name, targetHost, targetPort);
    },
    async ingress(r, targetHost, targetPort) {
      const rt = region(r);
      const id = `*>${r}>${targetHost}:${targetPort}`;
      let entry = created.get(id);
      if (!entry) {
        const n = [...created.keys()].filter((k) => k.startsWith(`*>${r}>`)).length + 1;
        if (n > 54) throw new WanConfigError(`region ${r}: too many ingress links`);
        const key: WanLinkKey = { from: '*', to: r, targetHost, targetPort };
        const linkOpts: WanLinkOptions = {
          name: `*->${r} ${targetHost}:${targetPort}`,
          listenHost: `127.0.${rt.index}.${200 + n}`,
          targetHost,
          targetPort,
          delayMs,
          jitterMs,
        };
        entry = startLink(id, key, linkOpts);
      }
      const l = await entry.pending;
      return { host: l.address, port: l.port };
    },
    links() {
      const out: Array<{ key: WanLinkKey; link: WanLink }> = [];
      for (const e of created.values()) if (e.link) out.push({ key: e.key, link: e.link });
      return out;
    },
    partition(r, p = { mode: 'drop' }) {
      region(r);
      partitions.set(r, p);
      for (const { key, link } of topo.links()) {
        if ((key.from === r || key.to === r) && (!p.filter || p.filter(key))) link.partition({ mode: p.mode });
      }
    },
    heal(r) {
      if (r === undefined) partitions.clear();
      else partitions.delete(r);
      for (const { key, link } of topo.links()) {
        const still = [...partitions].some(([pr, p]) => (key.from === pr || key.to === pr) && (!p.filter || p.filter(key)));
        if (!still && (r === undefined || key.from === r || key.to === r)) link.heal();
      }
    },
    setDelay(d, j) {
      delayMs = d;
      if (j !== undefined) jitterMs = j;
      for (const { link } of topo.links()) link.setDelay(d, j);
    },
    async close() {
      const all = await Promise.allSettled([...created.values()].map((e) => e.pending));
      await Promise.all(all.map((r) => (r.status === 'fulfilled' ? r.value.close() : undefined)));
      created.clear();
    },
  };
  return topo;
}

/** Parses a delay flag such as `40ms`, `0.04s` or `40` (ms). */
export function parseDelay(text: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s)?$/.exec(text.trim());
  if (!m) throw new WanConfigError(`delay ${JSON.stringify(text)} is not like 40ms or 0.04s`);
  const v = Number(m[1]);
  return m[2] === 's' ? v * 1000 : v;
}
