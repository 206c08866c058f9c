/**
 * services/cli/config.ts, the CLI's one config loader, through the real
 * schemas and field tables of `voter`, `proxy` and the operator commands:
 * precedence (defaults < file < env < flags), env naming (aliases and derived
 * `__` names), YAML, and errors that name the field and its source without
 * echoing secrets.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Command } from 'commander';
import { COMMON_CONFIG_FIELDS, CommonSchema, AdminCommandSchema } from '../../../services/cli/admin-context.ts';
import { ConfigInvalidError, envName, loadConfig, optionSources, redactConfig } from '../../../services/cli/config.ts';
import { loadProxyConfig } from '../../../services/cli/commands/proxy.ts';
import { loadVoterConfig, VOTER_CONFIG_FIELDS } from '../../../services/cli/commands/voter.ts';
import { VoterConfigSchema, DEFAULT_HEDGE_MS } from '../../../services/voter/index.ts';

const dir = mkdtempSync(join(tmpdir(), 'vc-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
function file(content: string, ext = 'json'): string {
  const p = join(dir, `c${n++}.${ext}`);
  writeFileSync(p, content);
  return p;
}

/** Required voter settings from flags (commander attribute names). */
const BASE_FLAGS = { nodeId: 'v1', region: 'eu', network: 'simnet', etcd: 'http://127.0.0.1:2379', proxy: ['127.0.0.1:9000'], clusterKeyFile: '/k' };

function invalid(fn: () => unknown): readonly string[] {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigInvalidError);
    expect((err as ConfigInvalidError).code).toBe('CLI_CONFIG_INVALID');
    return (err as ConfigInvalidError).issues;
  }
  throw new Error('expected ConfigInvalidError');
}

describe('precedence: defaults < file < env < flags', () => {
  it('each layer overrides the one below, field by field', () => {
    const cfgFile = file(JSON.stringify({ hedgeMs: 100, leaseTtlSec: 30, resendIntervalMs: 500, region: 'from-file' }));
    const env = { VOTECLUSTER_VOTER_LEASE_TTL_SEC: '40', VOTECLUSTER_VOTER_RESEND_INTERVAL_MS: '700' };
    const { cfg } = loadVoterConfig({ ...BASE_FLAGS, config: cfgFile, resendIntervalMs: '900' }, env);
    expect(cfg.hedgeMs).toBe(100); // file over default
    expect(cfg.leaseTtlSec).toBe(40); // env over file
    expect(cfg.resendIntervalMs).toBe(900); // flag over env over file
    expect(cfg.region).toBe('eu'); // flag over file
    expect(cfg.maxVoteAgeBlocks).toBe(2); // schema default
  });

  it('uses the schema default when nothing sets a field', () => {
    expect(loadVoterConfig(BASE_FLAGS, {}).cfg.hedgeMs).toBe(DEFAULT_HEDGE_MS);
  });

  it('nested file objects merge with env/flag leaves instead of being replaced', () => {
    const cfgFile = file(JSON.stringify({ etcd: { endpoints: ['http://127.0.0.9:2379'], dialTimeoutMs: 1234 } }));
    const { cfg } = loadVoterConfig({ ...BASE_FLAGS, config: cfgFile }, {});
    expect(cfg.etcd).toEqual({ endpoints: ['http://127.0.0.1:2379'], dialTimeoutMs: 1234 });
  });

  it("commander's option defaults rank below the file and env", () => {
    const program = new Command().exitOverride();
    const cmd = program.command('x').option('--config <file>').option('--hedge-ms <ms>', 'hedge', '50').option('--node-id <id>');
    cmd.parse(['node', 'x', '--config', file(JSON.stringify({ hedgeMs: 300 }))], { from: 'node' });
    const flags = { ...BASE_FLAGS, ...cmd.opts() };
    const r = loadConfig({ service: 'voter', schema: VoterConfigSchema, fields: VOTER_CONFIG_FIELDS, flags, env: {}, flagSource: optionSources(cmd) });
    expect(r.config.hedgeMs).toBe(300);
    expect(r.sources.get('hedgeMs')?.kind).toBe('file');
    const noFile = loadConfig({ service: 'voter', schema: VoterConfigSchema, fields: VOTER_CONFIG_FIELDS, flags: { ...flags, config: undefined }, env: {}, flagSource: optionSources(cmd) });
    expect(noFile.config.hedgeMs).toBe(50);
    expect(noFile.sources.get('hedgeMs')?.kind).toBe('default');
  });
});

describe('env names', () => {
  it('derives VOTECLUSTER_<SERVICE>_<PATH> with __ between nested keys', () => {
    expect(envName('voter', 'etcd.dialTimeoutMs')).toBe('VOTECLUSTER_VOTER_ETCD__DIAL_TIMEOUT_MS');
    expect(envName('proxy', 'dcrd.passFile')).toBe('VOTECLUSTER_PROXY_DCRD__PASS_FILE');
    const { cfg } = loadVoterConfig(BASE_FLAGS, { VOTECLUSTER_VOTER_ETCD__DIAL_TIMEOUT_MS: '4321', VOTECLUSTER_VOTER_STALENESS__LEASE_MAX_AGE_MS: '9000' });
    expect(cfg.etcd.dialTimeoutMs).toBe(4321);
    expect(cfg.staleness.leaseMaxAgeMs).toBe(9000);
  });

  it('keeps the short aliases operators use (lists split on commas)', () => {
    const { cfg } = loadVoterConfig({ clusterKeyFile: '/k' }, {
      VOTECLUSTER_VOTER_NODE_ID: 'n1', VOTECLUSTER_VOTER_REGION: 'us', VOTECLUSTER_VOTER_NETWORK: 'simnet',
      VOTECLUSTER_VOTER_ETCD: 'http://127.0.0.1:1, http://127.0.0.2:1', VOTECLUSTER_VOTER_PROXIES: '127.0.0.1:5,127.0.0.2:6@eu',
    });
    expect(cfg.etcd.endpoints).toEqual(['http://127.0.0.1:1', 'http://127.0.0.2:1']);
    // A proxy without @region takes the voter's merged region.
    expect(cfg.proxies).toEqual([{ address: '127.0.0.1:5', region: 'us' }, { address: '127.0.0.2:6', region: 'eu' }]);
  });

  it('the proxy: flags over env, extras (metrics/trace) beside the schema', () => {
    const r = loadProxyConfig(
      { dcrd: 'ws://127.0.0.1:1/ws', dcrdUser: 'u', dcrdPassFile: '/p', network: 'simnet', ringSize: '64' },
      { VOTECLUSTER_PROXY_RING_SIZE: '32', VOTECLUSTER_PROXY_LISTEN: '127.0.0.1:0', VOTECLUSTER_PROXY_METRICS_LISTEN: '127.0.0.1:0', VOTECLUSTER_PROXY_TRACE_FILE: '/t' },
    );
    expect(r.cfg.ringSize).toBe(64);
    expect(r.cfg.listen).toBe('127.0.0.1:0');
    expect(r.metricsListen).toEqual({ host: '127.0.0.1', port: 0 });
    expect(r.traceFile).toBe('/t');
  });

  it('operator commands ignore env keys of the admin service they do not use, but not typos', () => {
    const env = { VOTECLUSTER_ADMIN_ETCD: 'http://127.0.0.1:1', VOTECLUSTER_ADMIN_NETWORK: 'simnet', VOTECLUSTER_ADMIN_CLUSTER_KEY_FILE: '/k', VOTECLUSTER_ADMIN_GRPC__LISTEN: '127.0.0.1:0' };
    const load = (e: NodeJS.ProcessEnv) => loadConfig({ service: 'admin', schema: CommonSchema, fields: COMMON_CONFIG_FIELDS, flags: {}, env: e, envSchema: AdminCommandSchema });
    expect(load(env).config).toEqual({ etcd: ['http://127.0.0.1:1'], network: 'simnet', clusterKeyFile: '/k', logLevel: 'warn' });
    expect(invalid(() => load({ ...env, VOTECLUSTER_ADMIN_GRPC__LISTN: 'x' }))).toEqual([
      expect.stringContaining('env VOTECLUSTER_ADMIN_GRPC__LISTN: no such setting'),
    ]);
  });
});

describe('config files', () => {
  it('reads YAML', () => {
    const y = file('hedgeMs: 120\netcd:\n  dialTimeoutMs: 999\nproxies:\n  - address: 127.0.0.3:1\n    region: ap\n', 'yaml');
    const { cfg } = loadVoterConfig({ ...BASE_FLAGS, proxy: [], config: y }, {});
    expect(cfg.hedgeMs).toBe(120);
    expect(cfg.etcd.dialTimeoutMs).toBe(999);
    expect(cfg.proxies).toEqual([{ address: '127.0.0.3:1', region: 'ap' }]);
  });

  it('names the file when it is missing, malformed or not an object', () => {
    const missing = join(dir, 'nope.json');
    expect(invalid(() => loadVoterConfig({ ...BASE_FLAGS, config: missing }, {}))).toEqual([`config file ${missing}: cannot read (ENOENT)`]);
    const bad = file('{"hedgeMs": 1,');
    expect(invalid(() => loadVoterConfig({ ...BASE_FLAGS, config: bad }, {}))[0]).toMatch(new RegExp(`^config file ${bad}: not valid JSON`));
    const arr = file('[1]');
    expect(invalid(() => loadVoterConfig({ ...BASE_FLAGS, config: arr }, {}))).toEqual([`config file ${arr}: must hold an object of settings`]);
    const badYaml = file('a: [1,\n', 'yml');
    expect(invalid(() => loadVoterConfig({ ...BASE_FLAGS, config: badYaml }, {}))[0]).toMatch(new RegExp(`^config file ${badYaml}: not valid YAML`));
  });

  it('an unknown key in a strict schema names the key and the file', () => {
    const f = file(JSON.stringify({ network: 'simnet', dcrd: { url: 'ws://h:1', user: 'u', passFile: '/p' }, ringSise: 3 }));
    expect(invalid(() => loadProxyConfig({ config: f }, {}))).toEqual([`ringSise (config file ${f}): Unrecognized key: "ringSise"`]);
  });
});

describe('errors', () => {
  it('collects every problem, each naming the field and where the value came from', () => {
    const f = file(JSON.stringify({ leaseTtlSec: 1 }));
    const issues = invalid(() => loadVoterConfig({ ...BASE_FLAGS, nodeId: undefined, config: f, strategy: 'fastest' }, { VOTECLUSTER_VOTER_HEDGE_MS: 'soon' }));
    expect(issues).toEqual(expect.arrayContaining([
      'hedgeMs (env VOTECLUSTER_VOTER_HEDGE_MS): expected a number, got "soon"',
      expect.stringMatching(new RegExp(`^leaseTtlSec \\(config file ${f}\\): Too small`)),
      expect.stringMatching(/^strategy \(--strategy\): Invalid option/),
      'nodeId: required (not set: use --node-id, env VOTECLUSTER_VOTER_NODE_ID, "nodeId" in --config)',
    ]));
    expect(issues).toHaveLength(4);
  });

  it('never echoes a secret value', () => {
    // Inline password from env plus a password file: the schema refuses both; the value stays out.
    const issues = invalid(() => loadProxyConfig(
      { dcrd: 'ws://127.0.0.1:1/ws', dcrdUser: 'u', dcrdPassFile: '/p', network: 'simnet' },
      { VOTECLUSTER_PROXY_DCRD__PASS: 'hunter2-secret' },
    ));
    expect(issues.join('\n')).toContain('dcrd.pass (env VOTECLUSTER_PROXY_DCRD__PASS)');
    expect(issues.join('\n')).not.toContain('hunter2');
    // A malformed file holding a secret: position only, never the text around it.
    const f = file('{"dcrd": {"pass": "hunter2-secret" "user": 1}}');
    expect(invalid(() => loadProxyConfig({ config: f }, {})).join('\n')).not.toContain('hunter2');
  });

  it('redactConfig hides secret paths in a config dump', () => {
    const { cfg } = loadVoterConfig(BASE_FLAGS, {});
    const dump = redactConfig(cfg, ['clusterKeyFile']);
    expect(dump.clusterKeyFile).toBe('[redacted]');
    expect(cfg.clusterKeyFile).toBe('/k');
  });
});
