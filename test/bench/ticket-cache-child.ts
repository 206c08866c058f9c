/**
 * Child process of the ticket-cache bench: parses N ticket records as they come
 * from etcd and keeps them in one form, then prints one JSON line with the memory
 * they hold (after a full GC; run with --expose-gc).
 *
 * argv: form (`compact`: the ticket cache's form, services/cluster/ticket-cache.ts;
 * `plain`: the parsed records as they are), number of tickets.
 */
import { createHash, randomBytes } from 'node:crypto';
import { Keyspace, TicketRecordSchema } from '../../services/cluster/index.ts';
import { TicketRecordCache } from '../../services/cluster/ticket-cache.ts';

const [form = 'compact', nArg = '100000'] = process.argv.slice(2);
const n = Number(nArg);
const ks = new Keyspace('simnet');
const hash = (s: string, i: number): string => createHash('sha256').update(`${s}${i}`).digest('hex');
const now = new Date().toISOString();
/** One record as `ticket import` writes it: a ~300-byte ticket, a sealed key, two choices, tickets of one block together. */
function value(i: number): string {
  return JSON.stringify({
    ticketHash: hash('ticket', i), ticketHex: randomBytes(300).toString('hex'), network: 'simnet',
    votingKey: { v: 1, alg: 'A256GCM', kid: '0123456789abcdef', nonce: randomBytes(12).toString('hex'), ct: randomBytes(48).toString('hex') },
    voteChoices: { treasury: 'yes', other: 'no' }, treasuryPolicy: {}, tspendPolicy: {}, status: 'live',
    importedAt: now, updatedAt: now, revision: 1, blockHash: hash('block', i >> 4), blockHeight: 1_000 + (i >> 4),
  });
}
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with --expose-gc');
// The cache's compact form, without etcd (the watch is never started).
const cache = new TicketRecordCache({ client: {} as never, keyspace: ks });
const compact = (cache as unknown as { compact(key: string, rec: unknown): unknown }).compact.bind(cache);
gc();
const before = process.memoryUsage();
const kept: unknown[] = [];
for (let i = 0; i < n; i++) {
  const rec = TicketRecordSchema.parse(JSON.parse(value(i)));
  kept.push(form === 'plain' ? rec : compact(ks.ticket(rec.ticketHash), rec));
}
gc();
const after = process.memoryUsage();
const mb = (x: number): number => Math.round((x / 2 ** 20) * 10) / 10;
const heapMB = mb(after.heapUsed - before.heapUsed);
const buffersMB = mb(after.arrayBuffers - before.arrayBuffers);
console.log(JSON.stringify({ form, tickets: kept.length, heapMB, buffersMB, totalMB: Math.round((heapMB + buffersMB) * 10) / 10 }));
