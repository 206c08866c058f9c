/**
 * The devnet answers `version` and `getvoteinfo` as the dcrd release it behaves as
 * (decred/dcrd internal/rpcserver/rpcserver.go handleVersion, handleGetVoteInfo;
 * chaincfg/simnetparams.go Deployments at release-v2.0.6 and release-v2.1.6), and a
 * node proxy beside it finds the vote version a wallet of that release writes
 * (dcrwallet wallet/wallet.go voteVersion: simnet 11 at release-v2.0.6, 12 at 2.1.x).
 */
import { afterAll, describe, expect, it } from 'vitest';
import { startDevnet, type Devnet } from '../../services/sim/devnet/index.ts';
import { createNodeProxy, createNodeProxyClient, type NodeProxy } from '../../services/nodeproxy/index.ts';
import { createLogger } from '../../services/telemetry/index.ts';
import { httpCall } from './devnet-rpc-client.ts';
import { startTestTls } from '../harness/tls.ts';

/** Mutual TLS on every proxy link, as in production (a test CA, a proxy and a voter certificate). */
const tls = await startTestTls();
afterAll(() => tls.stop());

const CASES = [
  { release: '2.0.6' as const, patch: [2, 0, 6], known: { 11: ['blake3pow', 'changesubsidysplitr2'] }, unknown: 12, walletVoteVersion: 11 },
  { release: '2.1.6' as const, patch: [2, 1, 6], known: { 11: ['blake3pow', 'changesubsidysplitr2'], 12: ['maxtreasuryspend'] }, unknown: 13, walletVoteVersion: 12 },
];

const open: Array<{ stop(): Promise<void> }> = [];
afterAll(async () => {
  for (const x of open.reverse()) await x.stop();
});

describe.each(CASES)('devnet as dcrd $release', (c) => {
  let dn: Devnet;
  const call = (method: string, params: unknown[] = []) => {
    const n = dn.nodes[0]!;
    return httpCall(n.rpcUrl, n.rpcUser, n.rpcPass, method, params);
  };

  it('answers version, getvoteinfo for the versions it defines and -8 for others', async () => {
    dn = await startDevnet({ tickets: 16, dcrdVersion: c.release });
    open.push(dn);
    const v = (await call('version')).result as Record<string, { major: number; minor: number; patch: number; versionstring: string }>;
    expect([v['dcrd']!.major, v['dcrd']!.minor, v['dcrd']!.patch]).toEqual(c.patch);
    expect(v['dcrdjsonrpcapi']).toMatchObject({ major: 8, minor: 3, patch: 0 });
    for (const [version, ids] of Object.entries(c.known)) {
      const r = await call('getvoteinfo', [Number(version)]);
      expect(r.error).toBeNull();
      const info = r.result as { voteversion: number; agendas: Array<{ id: string; mask: number; choices: Array<{ id: string; bits: number }> }> };
      expect(info.voteversion).toBe(Number(version));
      expect(info.agendas.map((a) => a.id)).toEqual(ids);
      for (const a of info.agendas) expect(a.choices.map((x) => x.id)).toEqual(['abstain', 'no', 'yes']);
      // chaincfg/simnetparams.go forces "yes" on every agenda (ForcedChoiceID): dcrd reports it active from
      // the first block (internal/blockchain/chain.go determineForcedThresholdState) and tallies no choices
      // (internal/rpcserver/rpcserver.go handleGetVoteInfo counts only started agendas); seen on a real
      // dcrd 2.0.6 simnet for vote versions 4..11.
      const states = info as unknown as { agendas: Array<{ status: string; quorumprogress: number; choices: Array<{ count: number }> }> };
      for (const a of states.agendas) {
        expect(a.status).toBe('active');
        expect(a.quorumprogress).toBe(0);
        expect(a.choices.map((x) => x.count)).toEqual([0, 0, 0]);
      }
    }
    // handleGetVoteInfo: rpcInvalidError("%d: unrecognized vote version", version)
    expect((await call('getvoteinfo', [c.unknown])).error).toEqual({ code: -8, message: `${c.unknown}: unrecognized vote version` });
  });

  it('a node proxy finds the vote version a wallet of that release writes and passes dcrd\'s version through', async () => {
    const n = dn.nodes[0]!;
    const proxy: NodeProxy = createNodeProxy(
      { network: 'simnet', dcrd: { url: n.wsUrl, user: n.rpcUser, pass: n.rpcPass }, listen: '127.0.0.1:0', tls: tls.proxy },
      { logger: createLogger({ service: 'nodeproxy', level: 'silent' }) },
    );
    const { address } = await proxy.start();
    open.push(proxy);
    const client = createNodeProxyClient(address, { clientId: 'vote-version-test', tls: tls.clientPem });
    try {
      const st = await client.getStatus();
      expect(st.vote_version).toBe(c.walletVoteVersion);
      expect(st.dcrd_version_result.find((x) => x.component === 'dcrd')).toMatchObject({ major: c.patch[0], minor: c.patch[1], patch: c.patch[2] });
      const vi = await client.getVoteInfo(0);
      expect(vi['vote_version']).toBe(c.walletVoteVersion);
    } finally {
      client.close();
    }
  });
});
