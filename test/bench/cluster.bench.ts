/**
 * services/cluster on a real local etcd (single member, loopback, data dir on
 * /dev/shm when available):
 * - create-if-absent txn latency, p50/p99: owner claims and vote records (the
 *   etcd step of the takeover path, DESIGN.md §3 invariants 1-2);
 * - importing 100,000 tickets (envelope-encrypted keys), then a fresh process
 *   opening the cluster and loading the ticket cache: time, RSS, and the etcd
 *   keyspace size (DESIGN.md §9: 100k tickets, start < 10 s, < 300 MB RSS).
 */
import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { generateClusterKey, openCluster, type VoteRecord } from '../../services/cluster/index.ts';
import { startEtcd } from '../../services/devnet/index.ts';
import { SecretKey } from '../../services/telemetry/index.ts';

const ROOT = resolve(import.meta.dirname, '..', '..');

function quantile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] as number;
}
function summary(xs: number[]): { n: number; p50Ms: number; p90Ms: number; p99Ms: number; maxMs: number } {
  const s = [...xs].sort((a, b) => a - b);
  const r = (v: number): number => Math.round(v * 1000) / 1000;
  return { n: s.length, p50Ms: r(quantile(s, 0.5)), p90Ms: r(quantile(s, 0.9)), p99Ms: r(quantile(s, 0.99)), maxMs: r(s[s.length - 1] as number) };
}
/** A deterministic 32-byte hash (hex) for index i. */
function h(tag: string, i: number): string {
  return Buffer.from(`${tag}:${i}`.padEnd(32, '.').slice(0, 32)).toString('hex');
}

async function etcdMetric(endpoint: string, name: string): Promise<number | undefined> {
  const text = await (await fetch(`${endpoint}/metrics`)).text();
  const m = new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'm').exec(text);
  return m ? Number(m[1]) : undefined;
}

function runChild(args: string[]): Promise<Record<string, number>> {
  return new Promise((res, rej) => {
    const child = spawn(process.execPath, ['--expose-gc', '--import', 'tsx', 'test/bench/cluster-open-child.ts', ...args], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    child.on('error', rej);
    child.on('exit', (code) => {
      const line = out.trim().split('\n').pop() ?? '';
      if (code === 0 && line.startsWith('{')) res(JSON.parse(line) as Record<string, number>);
      else rej(new Error(`cluster-open-child exited ${code}: ${out}`));
    });
  });
}

/** Runs the cluster bench; returns its figures (also printed by test/bench/run.ts). */
export async function runClusterBench(opts: { tickets?: number; txns?: number } = {}): Promise<Record<string, unknown>> {
  const nTickets = opts.tickets ?? 100_000;
  const nTxns = opts.txns ?? 1_000;
  const etcd = await startEtcd();
  const keyBytes = generateClusterKey().expose().slice();
  const cluster = await openCluster({ endpoints: etcd.endpoints, network: 'simnet', nodeId: 'bench-a1', region: 'a', clusterKey: keyBytes });
  try {
    // Warm up the connection.
    for (let i = 0; i < 50; i++) await cluster.owners.claim(h('warm', i));
    const claim: number[] = [];
    for (let i = 0; i < nTxns; i++) {
      const t0 = performance.now();
      await cluster.owners.claim(h('claim', i));
      claim.push(performance.now() - t0);
    }
    const record: number[] = [];
    const lost: number[] = [];
    for (let i = 0; i < nTxns; i++) {
      const rec: VoteRecord = {
        height: 1000, blockHash: h('block', 0), ticketHash: h('vote', i), voteTxHex: 'ab'.repeat(150), voteTxid: h('txid', i),
        signer: 'bench-a1', choicesRevision: 1, voteBits: 1, voteVersion: 10, treasuryVotes: [], createdAt: new Date().toISOString(),
      };
      let t0 = performance.now();
      await cluster.votes.recordVote(rec);
      record.push(performance.now() - t0);
      t0 = performance.now();
      await cluster.votes.recordVote({ ...rec, signer: 'bench-b1', voteTxHex: 'cd'.repeat(150) });
      lost.push(performance.now() - t0);
    }

    // 100k ticket import, 64 in flight.
    const ticketHex = '01'.repeat(300); // ~ a ticket's size
    const t0 = performance.now();
    let next = 0;
    const worker = async (): Promise<void> => {
      for (let i = next++; i < nTickets; i = next++) {
        const k = new Uint8Array(32);
        k.set(Buffer.from(h('k', i), 'hex'));
        await cluster.tickets.importTicket({ ticketHash: h('ticket', i), ticketHex, votingKey: new SecretKey(k) });
      }
    };
    await Promise.all(Array.from({ length: 64 }, worker));
    const importMs = performance.now() - t0;
    const endpoint = etcd.endpoints[0] as string;
    const dbBytes = await etcdMetric(endpoint, 'etcd_mvcc_db_total_size_in_bytes');
    const keys = await etcdMetric(endpoint, 'etcd_debugging_mvcc_keys_total');

    const open = await runChild([endpoint, Buffer.from(keyBytes).toString('hex'), 'true']);
    const openNoVerify = await runChild([endpoint, Buffer.from(keyBytes).toString('hex'), 'false']);
    return {
      etcd: 'single member, loopback',
      claimTxn: summary(claim),
      recordTxnCreated: summary(record),
      recordTxnLost: summary(lost),
      import: { tickets: nTickets, ms: Math.round(importMs), perSec: Math.round((nTickets / importMs) * 1000), concurrency: 64 },
      etcdKeyspace: { dbSizeMB: dbBytes !== undefined ? Math.round((dbBytes / 2 ** 20) * 10) / 10 : null, keys: keys ?? null },
      freshOpen: {
        tickets: open.tickets,
        loadMs: Math.round(open.openMs as number),
        rssMB: Math.round(open.rssMB as number),
        rssBeforeMB: Math.round(open.rssBeforeMB as number),
        heapUsedMB: Math.round(open.heapUsedMB as number),
        loadMsWithoutKeyVerify: Math.round(openNoVerify.openMs as number),
      },
    };
  } finally {
    await cluster.close();
    await etcd.stop();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  console.log(JSON.stringify(await runClusterBench()));
}
