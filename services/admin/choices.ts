/**
 * Vote choices and treasury policies, per ticket or as the cluster default
 * (decred/dcrwallet: wallet/wallet.go SetAgendaChoices). Choices are validated against the chain's
 * agendas (getvoteinfo through a proxy) or, without a proxy, dcrd's agendas
 * for the network's vote version. Every change is merged into the stored value
 * by the store in one guarded write (concurrent changes all land); voters pick
 * them up from their etcd watch.
 */
import type { NetParams } from '../decred/index.ts';
import type { Logger } from '../telemetry/index.ts';
import { effectiveChoices, resolveChoice, voteBitsFor, type AgendaSet, type ResolvedChoice } from './agendas.ts';
import { AdminChainUnavailableError, AdminNoChainError, AdminUnknownTicketError } from './errors.ts';
import { parsePiKey, parsePolicy, parseTicketHash, parseTSpendHash, type TreasuryPolicy } from './policies.ts';
import type { ChainLookup, TicketStore } from './ports.ts';

/** What the choice operations need. */
export interface ChoicesDeps {
  store: TicketStore;
  chain?: ChainLookup;
  params: NetParams;
  log: Logger;
}

/**
 * The agendas choices are checked against, always the chain's. When the cluster has committed a
 * vote version (`config/vote-version`: what votes carry), that version's: `getvoteinfo N` through
 * the proxy, else the copy voters stored in etcd. Otherwise (or when neither knows them):
 * `getvoteinfo` through the proxy at the vote version a wallet writes behind its dcrd; when no
 * proxy is configured or it does not answer, the set the voters last stored in etcd (the highest
 * stored vote version, or the proxy's version when it named one). Without either, choices cannot
 * be checked: AdminNoChainError.
 */
export async function currentAgendas(deps: Pick<ChoicesDeps, 'chain' | 'params' | 'store' | 'log'>): Promise<AgendaSet> {
  const committed = await deps.store.committedVoteVersion?.();
  if (committed !== undefined) {
    if (deps.chain) {
      try {
        return await deps.chain.getVoteInfo(committed);
      } catch (err) {
        // A dcrd older than the committed version does not know it (-8): the stored copy serves.
        if (!(err instanceof AdminChainUnavailableError)) throw err;
      }
    }
    const stored = await deps.store.getStoredAgendas?.(committed);
    if (stored) return stored;
  }
  let voteVersion: number | undefined;
  if (deps.chain) {
    try {
      return await deps.chain.getVoteInfo(0);
    } catch (err) {
      if (!(err instanceof AdminChainUnavailableError)) throw err;
      voteVersion = await deps.chain.getDcrdInfo?.().then((i) => i.voteVersion || undefined, () => undefined);
      const stored = await deps.store.getStoredAgendas?.(voteVersion);
      if (stored) {
        deps.log.warn({ err, voteVersion: stored.voteVersion }, 'the proxy did not answer getvoteinfo; using the agendas stored in etcd');
        return stored;
      }
      throw err;
    }
  }
  const stored = await deps.store.getStoredAgendas?.();
  if (stored) return stored;
  throw new AdminNoChainError('the agendas of the chain are not known: no node proxy is configured and no voter has stored them in etcd yet');
}

/** Result of a choice change: the vote bits that now apply. */
export interface ChoiceResult {
  ticketHash?: string;
  voteBits: number;
  voteVersion: number;
  choices: ResolvedChoice[];
}

async function requireTicket(store: TicketStore, ticketHash: string) {
  const t = await store.getTicket(ticketHash);
  if (!t) throw new AdminUnknownTicketError(`ticket ${ticketHash} is not managed by this cluster`);
  return t;
}

/**
 * Sets agenda choices for one ticket (when `ticketHash` is given) or as the default.
 * Every pair is validated before anything is written.
 * @throws AdminUnknownAgendaError, AdminUnknownChoiceError, AdminUnknownTicketError, AdminBadRequestError
 */
export async function setVoteChoices(
  deps: ChoicesDeps,
  pairs: ReadonlyArray<{ agendaId: string; choiceId: string }>,
  ticketHash?: string,
): Promise<ChoiceResult> {
  const set = await currentAgendas(deps);
  const resolved = pairs.map((p) => resolveChoice(set, p.agendaId, p.choiceId));
  const patch: Record<string, string> = {};
  for (const r of resolved) patch[r.agendaId] = r.choiceId;
  if (ticketHash !== undefined && ticketHash !== '') {
    const hash = parseTicketHash(ticketHash);
    await requireTicket(deps.store, hash);
    const choices = await deps.store.setTicketChoices(hash, patch);
    deps.log.info({ ticket: hash, choices: patch }, 'ticket vote choices set');
    const defaults = await deps.store.getDefaults();
    const eff = effectiveChoices(set, defaults.choices, choices);
    return { ticketHash: hash, voteBits: voteBitsFor(eff), voteVersion: set.voteVersion, choices: eff };
  }
  const { choices } = await deps.store.updateDefaults((d) => ({ ...d, choices: { ...d.choices, ...patch } }));
  deps.log.info({ choices: patch }, 'default vote choices set');
  const eff = effectiveChoices(set, choices, {});
  return { voteBits: voteBitsFor(eff), voteVersion: set.voteVersion, choices: eff };
}

/** The choices and vote bits in force for a ticket, or the defaults. */
export async function getVoteChoices(deps: ChoicesDeps, ticketHash?: string): Promise<ChoiceResult> {
  const set = await currentAgendas(deps);
  const defaults = await deps.store.getDefaults();
  let perTicket: Record<string, string> = {};
  let hash: string | undefined;
  if (ticketHash !== undefined && ticketHash !== '') {
    hash = parseTicketHash(ticketHash);
    perTicket = (await requireTicket(deps.store, hash)).choices;
  }
  const eff = effectiveChoices(set, defaults.choices, perTicket);
  return { ...(hash ? { ticketHash: hash } : {}), voteBits: voteBitsFor(eff), voteVersion: set.voteVersion, choices: eff };
}

function withPolicy(map: Readonly<Record<string, TreasuryPolicy>>, key: string, policy: TreasuryPolicy): Record<string, TreasuryPolicy> {
  const out = { ...map };
  // abstain removes the entry (dcrwallet: "invalid"/abstain deletes the policy),
  // so a lower-priority policy in the lookup order applies again.
  if (policy === 'abstain') delete out[key];
  else out[key] = policy;
  return out;
}

/**
 * Sets the policy for one tspend, per ticket or default.
 * @throws AdminBadRequestError, AdminUnknownTicketError
 */
export async function setTSpendPolicy(deps: ChoicesDeps, tspendHash: string, policyWord: string, ticketHash?: string): Promise<void> {
  const h = parseTSpendHash(tspendHash);
  const policy = parsePolicy(policyWord);
  if (ticketHash !== undefined && ticketHash !== '') {
    const t = await requireTicket(deps.store, parseTicketHash(ticketHash));
    await deps.store.setTicketTSpendPolicy(t.ticketHash, h, policy === 'abstain' ? undefined : policy);
    deps.log.info({ ticket: t.ticketHash, tspend: h, policy }, 'ticket tspend policy set');
    return;
  }
  await deps.store.updateDefaults((d) => ({ ...d, tspendPolicies: withPolicy(d.tspendPolicies, h, policy) }));
  deps.log.info({ tspend: h, policy }, 'default tspend policy set');
}

/**
 * Sets the policy for every tspend signed by a treasury (Pi) key, per ticket or default.
 * @throws AdminBadRequestError, AdminUnknownTicketError
 */
export async function setTreasuryPolicy(deps: ChoicesDeps, piKey: string, policyWord: string, ticketHash?: string): Promise<void> {
  const k = parsePiKey(piKey);
  const policy = parsePolicy(policyWord);
  if (ticketHash !== undefined && ticketHash !== '') {
    const t = await requireTicket(deps.store, parseTicketHash(ticketHash));
    await deps.store.setTicketTreasuryPolicy(t.ticketHash, k, policy === 'abstain' ? undefined : policy);
    deps.log.info({ ticket: t.ticketHash, piKey: k, policy }, 'ticket treasury policy set');
    return;
  }
  await deps.store.updateDefaults((d) => ({ ...d, treasuryPolicies: withPolicy(d.treasuryPolicies, k, policy) }));
  deps.log.info({ piKey: k, policy }, 'default treasury policy set');
}
