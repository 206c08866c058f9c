/**
 * The cluster tip under hostile writes, against real etcd: random interleavings of voters
 * hearing blocks (some behind the tip), the tip and its markers overwritten with garbage or
 * deleted as etcd's root, the admin changing a ticket's choices, and draws voted from a current
 * view or read from etcd on the record-first path. Whatever the order, what applied to a draw
 * once it was voted never changes afterwards (the proof of chain-tip.ts: a repair never lowers
 * the tip below a height in use, so a write accepted later applies from above every voted draw),
 * every write refused on an unreadable tip wrote nothing, and the tip ends readable.
 */
import { Etcd3 } from 'etcd3';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ChainTipCorruptError, generateClusterKey, openCluster, padHeight, type Cluster } from '../../services/cluster/index.ts';
import { SecretKey } from '../../services/telemetry/index.ts';
import { startTestEtcd, type TestEtcd } from '../harness/etcd.ts';
import { waitFor } from '../harness/wait-for.ts';
import { fuzzRuns, fuzzSeed } from './fuzz-runs.ts';

let etcd: TestEtcd;
let root: Etcd3;
let admin: Cluster;
let voters: Cluster[];

beforeAll(async () => {
  etcd = await startTestEtcd({ preferLocal: true });
  root = new Etcd3(etcd.clientOptions('root'));
  const clusterKey = new Uint8Array(generateClusterKey().expose());
  const cfg = (nodeId: string, who: 'admin' | 'voter') => ({
    endpoints: etcd.endpoints, etcdAccess: etcd.access(who), network: 'simnet' as const, nodeId, region: 'a', clusterKey, join: false,
  });
  admin = await openCluster(cfg('fuzz-admin', 'admin'));
  voters = [await openCluster(cfg('fuzz-voter-a', 'voter')), await openCluster(cfg('fuzz-voter-b', 'voter'))];
  await voters[0]!.advanceTip(10);
  await voters[0]!.config.proposeVoteVersion(10);
});
afterAll(async () => {
  for (const v of voters ?? []) await v.close();
  await admin?.close();
  root?.close();
  await etcd?.stop();
});

type Op =
  | { kind: 'advance'; who: number; delta: number }
  | { kind: 'corrupt'; keys: number[]; value: string | null }
  | { kind: 'write'; choice: string }
  | { kind: 'draw'; who: number };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constant('advance' as const), who: fc.integer({ min: 0, max: 1 }), delta: fc.integer({ min: -2, max: 2 }) }),
  fc.record({
    kind: fc.constant('corrupt' as const),
    keys: fc.subarray([0, 1, 2], { minLength: 1 }),
    value: fc.constantFrom<string | null>('garbage', '', '{"tip":1}', '00000', null),
  }),
  fc.record({ kind: fc.constant('write' as const), choice: fc.constantFrom('yes', 'no', 'abstain') }),
  fc.record({ kind: fc.constant('draw' as const), who: fc.integer({ min: 0, max: 1 }) }),
);

const tipKeys = (): string[] => [admin.keyspace.chainTip(), admin.keyspace.ticketsTipMarker(), admin.keyspace.tspendsTipMarker()];

describe('the cluster tip under corrupt and deleted values', () => {
  it('no voted draw\'s inputs ever change; refused writes write nothing; the tip ends readable', async () => {
    let run = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(opArb, { minLength: 3, maxLength: 10 }), async (ops) => {
        run += 1;
        const v0 = voters[0] as Cluster;
        // A readable tip and a ticket whose inputs are committed before the first draw.
        await v0.tip.repair();
        let heard = ((await v0.tip.read()) ?? 10) + 1;
        await v0.advanceTip(heard);
        const t = Buffer.from(`fuzz-tip-${run}`.padEnd(32, '#')).toString('hex');
        await admin.tickets.importTicket({ ticketHash: t, ticketHex: '01000000', votingKey: new SecretKey(new Uint8Array(32).fill(run % 250 + 1)) });
        heard += 2;
        await v0.advanceTip(heard);
        const voted = new Map<number, string>();
        for (const op of ops) {
          if (op.kind === 'advance') {
            const h = Math.max(0, heard + op.delta);
            heard = Math.max(heard, h);
            await (voters[op.who] as Cluster).advanceTip(h);
          } else if (op.kind === 'corrupt') {
            for (const i of op.keys) {
              const k = tipKeys()[i] as string;
              if (op.value === null) await root.delete().key(k).exec();
              else await root.put(k).value(op.value).exec();
            }
          } else if (op.kind === 'write') {
            const k = admin.keyspace.ticket(t);
            const before = (await root.get(k).exec()).kvs[0]?.mod_revision;
            try {
              await admin.tickets.mergeVoteChoices(t, { agenda: op.choice });
            } catch (err) {
              expect(err).toBeInstanceOf(ChainTipCorruptError);
              expect((await root.get(k).exec()).kvs[0]?.mod_revision).toBe(before);
            }
          } else {
            // A draw at the next height: voted from the view when it is provably current,
            // else from etcd after raising the tip (the record-first path).
            const who = voters[op.who] as Cluster;
            const H = heard + 1;
            heard = H;
            const c = who.canonicalInputs(t, H);
            let state: string | undefined;
            if (c.ok) state = JSON.stringify(c.inputs.ticket);
            else {
              const f = await who.freshInputs(t, H);
              if (f.canonical) state = JSON.stringify(f.inputs.ticket);
            }
            if (state !== undefined) {
              const was = voted.get(H);
              if (was !== undefined) expect(state, `draw at ${H} voted twice with different inputs`).toBe(was);
              voted.set(H, state);
            }
          }
        }
        // Heal: a voter's next block repairs whatever is left; the tip is readable and above every draw.
        heard += 1;
        await v0.advanceTip(heard);
        const tip = (await v0.tip.read()) as number;
        expect(tip).toBeGreaterThanOrEqual(heard);
        expect(await Promise.all(tipKeys().map((k) => root.get(k).string()))).toEqual([padHeight(tip), padHeight(tip), padHeight(tip)]);
        await waitFor(() => (voters.every((v) => v.voteView.viewHeight() >= tip) ? true : undefined), { timeoutMs: 5_000, message: 'views healed' });
        // What applied to every voted draw still does, read from etcd and from each view.
        for (const [H, state] of voted) {
          const f = await v0.freshInputs(t, H);
          expect(JSON.stringify(f.inputs.ticket), `inputs of the draw at ${H} changed after it was voted`).toBe(state);
          for (const v of voters) {
            const c = v.canonicalInputs(t, H);
            expect(c.ok && JSON.stringify(c.inputs.ticket), `view of the draw at ${H}`).toBe(state);
          }
        }
      }),
      { numRuns: fuzzRuns(25), seed: fuzzSeed() },
    );
  });
});
