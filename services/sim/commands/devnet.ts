/**
 * `votecluster devnet`: runs a devnet (a dcrd-compatible simnet chain that judges
 * votes) until SIGINT/SIGTERM, printing RPC URLs and credentials; with
 * `--export-tickets FILE` it writes the tickets a cluster should manage.
 * `votecluster devnet report --rpc URL` prints the per-ticket report of a running node.
 * `votecluster devnet tspend --rpc URL` posts a treasury spend signed with the simnet Pi key
 * fixture (demo of treasury votes: set a policy with `ticket` commands, watch the votes).
 * Flag names follow dcrd where dcrd has one (--rpclisten, --rpcuser, --rpcpass, --simnet, --regnet).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { z } from 'zod';
import { encodeTx, hashToHex, netParamsByMagic, toHex, txHash } from '../../decred/index.ts';
import { bindDevnetMetrics, createTestTSpend, startDevnet, startDevnetNode, type BlockInterval, type DevnetNode } from '../devnet/index.ts';
import type { DevnetReport } from '../devnet/index.ts';
import { createMetrics, startMetricsServer } from '../../telemetry/index.ts';
import { parseMetricsListen } from '../../cli/index.ts';

/** A dcrd JSON-RPC caller over HTTP with Basic auth; errors name `what`, the method and dcrd's code. */
function rpcCaller(url: string, user: string, pass: string | undefined, what: string): (method: string, params: unknown[]) => Promise<unknown> {
  return async (method, params) => {
    const r = await fetch(url, {
      method: 'POST',
      headers: { Authorization: `Basic ${Buffer.from(`${user}:${pass ?? ''}`).toString('base64')}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ jsonrpc: '1.0', id: 1, method, params }),
    });
    if (r.status !== 200) throw new Error(`${what}: HTTP ${r.status} from ${url} (${method})`);
    const body = (await r.json()) as { result: unknown; error: { code: number; message: string } | null };
    if (body.error) throw new Error(`${what}: ${method}: ${body.error.code} ${body.error.message}`);
    return body.result;
  };
}

/** `manual`, `<dur>` (exponential with that mean, like PoW) or `fixed:<dur>`; dur = 500ms | 1s | 5m. */
export function parseBlockInterval(s: string): BlockInterval {
  if (s === 'manual') return { mode: 'manual' };
  const fixed = s.startsWith('fixed:');
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(fixed ? s.slice(6) : s);
  if (!m) throw new Error(`--block-interval: expected manual, <duration> or fixed:<duration> (e.g. 1s, 500ms, 5m), got "${s}"`);
  const ms = Number(m[1]) * (m[2] === 'm' ? 60_000 : m[2] === 'ms' ? 1 : 1_000);
  if (!(ms > 0)) throw new Error('--block-interval: duration must be positive');
  return fixed ? { mode: 'fixed', ms } : { mode: 'exponential', meanMs: ms };
}

function parseListen(s: string): { host: string; port: number } {
  const i = s.lastIndexOf(':');
  const host = i > 0 ? s.slice(0, i) : s;
  const port = i > 0 ? Number(s.slice(i + 1)) : 0;
  if (!/^127\.\d+\.\d+\.\d+$/.test(host) && host !== 'localhost') throw new Error(`--rpclisten: ${s}: only loopback addresses are allowed`);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`--rpclisten: ${s}: bad port`);
  return { host, port };
}

const FlagsSchema = z.object({
  nodes: z.coerce.number().int().min(1).max(16),
  rpclisten: z.array(z.string()),
  rpcuser: z.string().optional(),
  rpcpass: z.string().optional(),
  simnet: z.boolean().optional(),
  regnet: z.boolean().optional(),
  seed: z.string().optional(),
  tickets: z.coerce.number().int().min(5).max(100_000),
  blockInterval: z.string(),
  voteWait: z.coerce.number().int().min(0),
  houseShare: z.coerce.number().min(0).max(1),
  subsidySplit: z.enum(['original', 'dcp0010', 'dcp0012']),
  dcrdVersion: z.enum(['2.1.6', '2.0.6']),
  relayDelay: z.coerce.number().int().min(0),
  tls: z.boolean().optional(),
  stateDir: z.string().optional(),
  exportTickets: z.string().optional(),
  peer: z.array(z.string()),
  follower: z.boolean().optional(),
  metricsListen: z.string().optional(),
});

function describeNode(n: DevnetNode): Record<string, unknown> {
  return { index: n.index, rpcUrl: n.rpcUrl, wsUrl: n.wsUrl, rpcUser: n.rpcUser, rpcPass: n.rpcPass, ...(n.certPem ? { certPem: n.certPem } : {}) };
}

async function waitForSignal(): Promise<string> {
  return new Promise((resolve) => {
    const on = (sig: string) => () => resolve(sig);
    process.once('SIGINT', on('SIGINT'));
    process.once('SIGTERM', on('SIGTERM'));
  });
}

const collect = (v: string, prev: string[]): string[] => [...prev, v];

/** Registers `devnet` and `devnet report`. */
export function register(program: Command): void {
  const cmd = program
    .command('devnet')
    .description('Run a dcrd-compatible simnet devnet that draws winners and judges votes')
    .option('--nodes <n>', 'number of nodes (node 0 mines, the others follow and relay)', '1')
    .option('--rpclisten <host:port>', 'RPC listen address per node (repeat for each node)', collect, [])
    .option('--rpcuser <user>', 'RPC user (default generated)')
    .option('--rpcpass <pass>', 'RPC password (default generated)')
    .option('--simnet', 'use simnet (default)')
    .option('--regnet', 'use regnet')
    .option('--seed <seed>', 'deterministic chain and ticket keys')
    .option('--tickets <n>', 'live ticket pool size at SVH', '64')
    .option('--block-interval <d>', 'manual | <mean> (exponential) | fixed:<d>, e.g. 1s, 300s', '1s')
    .option('--vote-wait <ms>', 'template wait after the 3rd vote', '2500')
    .option('--house-share <f>', 'fraction of tickets the devnet votes itself (not exported)', '0')
    .option('--subsidy-split <s>', 'original | dcp0010 | dcp0012', 'dcp0012')
    .option('--dcrd-version <v>', 'the dcrd release the devnet behaves as: 2.1.6 | 2.0.6 (version, getvoteinfo, vote versions)', '2.1.6')
    .option('--relay-delay <ms>', 'relay delay between in-process nodes', '0')
    .option('--tls', 'serve https/wss with a generated self-signed certificate')
    .option('--state-dir <dir>', 'directory for devnet.json (URLs, credentials, cert)')
    .option('--export-tickets <file>', 'write the tickets a cluster should manage (JSON)')
    .option('--peer <wsurl>', 'run ONE node linked to this peer (repeatable)', collect, [])
    .option('--follower', 'with --peer: run a following (non-mining) node')
    .option('--metrics-listen <host:port>', 'serve Prometheus /metrics here (blocks mined, tickets drawn/missed, process)')
    .action(async (raw: Record<string, unknown>) => {
      const f = FlagsSchema.parse(raw);
      if (f.simnet && f.regnet) throw new Error('--simnet and --regnet are exclusive');
      const network = f.regnet ? 'regnet' : 'simnet';
      const listens = f.rpclisten.map(parseListen);
      const metricsListen = parseMetricsListen(f.metricsListen);
      const common = {
        network,
        tickets: f.tickets,
        blockInterval: parseBlockInterval(f.blockInterval),
        voteWaitMs: f.voteWait,
        houseShare: f.houseShare,
        subsidySplit: f.subsidySplit,
        dcrdVersion: f.dcrdVersion,
        relayDelayMs: f.relayDelay,
        tls: f.tls === true,
        ...(f.seed ? { seed: f.seed } : {}),
        ...(f.rpcuser ? { rpcUser: f.rpcuser } : {}),
        ...(f.rpcpass ? { rpcPass: f.rpcpass } : {}),
      } as const;
      let nodes: DevnetNode[];
      let stop: () => Promise<void>;
      let exportTickets: () => unknown[];
      let report: () => DevnetReport;
      if (f.peer.length > 0 || f.follower) {
        const one = await startDevnetNode({ ...common, miner: f.follower !== true, peers: f.peer, ...(listens[0] ?? {}) });
        nodes = [one];
        stop = () => one.stop();
        exportTickets = () => one.exportTickets();
        report = () => one.report();
      } else {
        const dn = await startDevnet({ ...common, nodes: f.nodes, hosts: listens.map((l) => l.host), ports: listens.map((l) => l.port) });
        nodes = dn.nodes;
        stop = () => dn.stop();
        exportTickets = () => dn.exportTickets();
        report = () => dn.report();
      }
      const info = { network, nodes: nodes.map(describeNode) };
      for (const n of nodes) process.stdout.write(`devnet node ${n.index}: rpc ${n.rpcUrl} ws ${n.wsUrl} user ${n.rpcUser} pass ${n.rpcPass}\n`);
      if (f.stateDir) {
        mkdirSync(f.stateDir, { recursive: true });
        writeFileSync(join(f.stateDir, 'devnet.json'), JSON.stringify(info, null, 2), { mode: 0o600 });
      }
      if (f.exportTickets) {
        writeFileSync(f.exportTickets, JSON.stringify(exportTickets(), null, 2), { mode: 0o600 });
        process.stdout.write(`devnet: exported tickets to ${f.exportTickets}\n`);
      }
      const metrics = metricsListen ? createMetrics({ service: 'devnet' }) : undefined;
      const binding = metrics ? bindDevnetMetrics({ report }, metrics) : undefined;
      const metricsServer = metrics && metricsListen ? await startMetricsServer({ ...metricsListen, registry: metrics.registry }) : undefined;
      if (metricsServer) process.stdout.write(`devnet: metrics ${metricsServer.url}\n`);
      process.stdout.write('devnet: ready\n');
      const sig = await waitForSignal();
      process.stdout.write(`devnet: ${sig}, stopping\n`);
      binding?.stop();
      await metricsServer?.stop();
      await stop();
    });

  cmd
    .command('tspend')
    .description('Post a treasury spend signed with the simnet Pi key fixture to a running simnet devnet node; prints {txid, expiry, piKey}')
    .requiredOption('--rpc <url>', 'node RPC URL, e.g. http://127.0.0.1:19556/')
    .option('--rpcuser <user>', 'RPC user (default devnet)')
    .option('--rpcpass <pass>', 'RPC password')
    .option('--tag <n>', 'makes tspends of one height distinct', '1')
    .option('--expiry <height>', 'tx expiry (default: dcrd CalcTSpendExpiry for the next block)')
    .action(async (own: { rpc: string; rpcuser?: string; rpcpass?: string; tag: string; expiry?: string }, sub: Command) => {
      const parent = (sub.parent?.opts() ?? {}) as { rpcuser?: string; rpcpass?: string };
      const call = rpcCaller(own.rpc, own.rpcuser ?? parent.rpcuser ?? 'devnet', own.rpcpass ?? parent.rpcpass, 'devnet tspend');
      const params = netParamsByMagic(Number(await call('getcurrentnet', [])));
      if (params?.name !== 'simnet') throw new Error('devnet tspend: the node is not a simnet devnet (the Pi key fixture is simnet only)');
      const tag = z.coerce.number().int().min(0).max(1_000_000).parse(own.tag);
      const expiry = own.expiry === undefined ? undefined : z.coerce.number().int().min(0).max(0xffffffff).parse(own.expiry);
      const height = Number(await call('getblockcount', []));
      const tx = createTestTSpend(params, { nextHeight: height + 1, tag, ...(expiry === undefined ? {} : { expiry }) });
      const txid = await call('sendrawtransaction', [toHex(encodeTx(tx))]);
      if (txid !== hashToHex(txHash(tx))) throw new Error(`devnet tspend: node answered txid ${String(txid)}`);
      process.stdout.write(`${JSON.stringify({ txid, expiry: tx.expiry, piKey: toHex(params.piKeys[0] as Uint8Array) })}\n`);
    });

  cmd
    .command('report')
    .description('Print the per-ticket vote report of a running devnet node (getdevnetreport)')
    .requiredOption('--rpc <url>', 'node RPC URL, e.g. http://127.0.0.1:19556/')
    .option('--rpcuser <user>', 'RPC user (default devnet)')
    .option('--rpcpass <pass>', 'RPC password')
    .action(async (own: { rpc: string; rpcuser?: string; rpcpass?: string }, sub: Command) => {
      // The parent `devnet` command defines --rpcuser/--rpcpass too; commander may bind them there.
      const parent = (sub.parent?.opts() ?? {}) as { rpcuser?: string; rpcpass?: string };
      const o = { rpc: own.rpc, rpcuser: own.rpcuser ?? parent.rpcuser ?? 'devnet', rpcpass: own.rpcpass ?? parent.rpcpass };
      const r = await fetch(o.rpc, {
        method: 'POST',
        headers: { Authorization: `Basic ${Buffer.from(`${o.rpcuser}:${o.rpcpass ?? ''}`).toString('base64')}`, 'Content-Type': 'application/json' },
        body: JSON.stringify({ jsonrpc: '1.0', id: 1, method: 'getdevnetreport', params: [] }),
      });
      if (r.status !== 200) throw new Error(`devnet report: HTTP ${r.status} from ${o.rpc}`);
      const body = (await r.json()) as { result: unknown; error: { code: number; message: string } | null };
      if (body.error) throw new Error(`devnet report: ${body.error.code} ${body.error.message}`);
      process.stdout.write(`${JSON.stringify(body.result)}\n`);
    });
}
