/**
 * The one config loader of the CLI (docs/contributing.md, "Configuration"). A long-running command
 * hands it its service's zod schema, the flags commander parsed and the
 * environment; it merges, lowest first:
 *
 *   1. schema defaults (and commander's own option defaults),
 *   2. `--config FILE`: JSON, or YAML for `.yaml`/`.yml` (the `yaml` package),
 *   3. env `VOTECLUSTER_<SERVICE>_<KEY>`,
 *   4. flags,
 *
 * then validates once. Env keys: every schema leaf has a derived name, path
 * segments in UPPER_SNAKE joined by `__` (`etcd.dialTimeoutMs` →
 * `VOTECLUSTER_VOTER_ETCD__DIAL_TIMEOUT_MS`); a field may also declare a short
 * alias (`VOTECLUSTER_VOTER_ETCD` for `etcd.endpoints`, the names operators
 * already use). Env values are strings, converted by the field's kind
 * (number, boolean, comma-separated list), which comes from the schema unless
 * the field declares it.
 *
 * Every problem (unreadable or malformed file, a value that does not convert,
 * a schema issue, an unknown env key) becomes one line naming the field and
 * where its value came from (`--hedge-ms`, `env VOTECLUSTER_VOTER_HEDGE_MS`,
 * `config file /etc/vc.json`); all lines are collected and thrown together as
 * {@link ConfigInvalidError} (the command prints them and exits 2). Secrets
 * arrive only as file paths (`…File` fields); values of fields marked secret
 * are never echoed, and zod's own messages never carry values.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { z } from 'zod';
import { CodedError } from '../base/index.ts';

/** How a string from env/flags is converted before validation. */
export type ConfigValueKind = 'string' | 'number' | 'boolean' | 'list';

/** Where a value came from. */
export interface ConfigSource {
  kind: 'default' | 'file' | 'env' | 'flag';
  /** `--hedge-ms`, `env VOTECLUSTER_VOTER_HEDGE_MS`, `config file PATH`, `default`. */
  label: string;
}

/** One field the command maps from flags/env (schema leaves without a spec still get derived env names). */
export interface ConfigFieldSpec {
  /** Dotted path in the config object (`dcrd.passFile`). */
  path: string;
  /** commander's attribute name of the flag (`dcrdPassFile` for `--dcrd-pass-file`); absent: no flag. */
  flag?: string;
  /** Short env alias after `VOTECLUSTER_<SERVICE>_` (`DCRD_PASS_FILE`); the derived name works as well. */
  env?: string;
  /** Conversion of env/flag strings; default: from the schema's leaf type (`string` if unknown). */
  kind?: ConfigValueKind;
  /** Never echo the value (secrets travel as paths, but a path can still say too much). */
  secret?: boolean;
  /**
   * Not part of the schema: the value goes to {@link LoadedConfig.extras} under `path`
   * (options the command itself uses, e.g. `--metrics-listen` of the proxy).
   */
  extra?: boolean;
  /**
   * Turns an env/flag value into the config value once every layer is merged (it sees the
   * merged raw object; e.g. `--proxy ADDR[@region]` defaulting to the merged region).
   */
  convert?: (value: unknown, merged: Record<string, unknown>) => unknown;
}

/** Options of {@link loadConfig}. */
export interface LoadConfigOptions<S extends z.ZodType> {
  /** Service name as in the env prefix, lower case: `proxy` → `VOTECLUSTER_PROXY_`. */
  service: string;
  schema: S;
  fields: readonly ConfigFieldSpec[];
  /** Flags as commander parsed them (attribute names). `config` names the config file. */
  flags: Record<string, unknown>;
  env: NodeJS.ProcessEnv;
  /**
   * commander's `getOptionValueSource(flag)`: a flag whose source is `default` is a
   * default (below file and env), not an operator's choice.
   */
  flagSource?: (flag: string) => string | undefined;
  /** More config paths holding secrets (the schema module's list, e.g. `VOTER_SECRET_FIELDS`). */
  secretPaths?: readonly string[];
  /**
   * A wider schema sharing this env namespace (the `admin` command's, for `ticket …`): env keys
   * it knows but `schema` does not are ignored instead of reported as unknown.
   */
  envSchema?: z.ZodType;
  /** Issues found by the caller (cross-field rules), reported with the rest. */
  extraIssues?: readonly string[];
}

/** Result of {@link loadConfig}. */
export interface LoadedConfig<T> {
  config: T;
  /** Values of `extra` fields by path (already converted, unvalidated). */
  extras: Record<string, unknown>;
  /** Where each set leaf came from (paths of values given by file, env or flag). */
  sources: ReadonlyMap<string, ConfigSource>;
}

/** Invalid configuration; `issues` holds one line per problem (code `CLI_CONFIG_INVALID`). */
export class ConfigInvalidError extends CodedError {
  readonly issues: readonly string[];
  constructor(issues: readonly string[]) {
    super('CLI_CONFIG_INVALID', `invalid configuration:\n${issues.map((i) => `  - ${i}`).join('\n')}`);
    this.issues = issues;
  }
}

/** Env prefix of a service: `VOTECLUSTER_PROXY_`. */
export function envPrefix(service: string): string {
  return `VOTECLUSTER_${service.toUpperCase().replace(/[^A-Z0-9]/g, '_')}_`;
}

const upperSnake = (s: string): string => s.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase();
const camel = (s: string): string => s.toLowerCase().replace(/_([a-z0-9])/g, (_m, c: string) => c.toUpperCase());

/** Derived env name of a config path: (`voter`, `etcd.dialTimeoutMs`) → `VOTECLUSTER_VOTER_ETCD__DIAL_TIMEOUT_MS`. */
export function envName(service: string, path: string): string {
  return envPrefix(service) + path.split('.').map(upperSnake).join('__');
}

/** `dcrdPassFile` → `--dcrd-pass-file`. */
export function flagName(attr: string): string {
  return `--${attr.replace(/([a-z0-9])([A-Z])/g, '$1-$2').toLowerCase()}`;
}

interface ZodDefLike {
  type: string;
  innerType?: ZodLike;
  in?: ZodLike;
  shape?: Record<string, ZodLike>;
  element?: ZodLike;
}
interface ZodLike {
  _zod: { def: ZodDefLike };
}

function unwrap(s: ZodLike): ZodLike {
  let cur = s;
  for (let i = 0; i < 16; i++) {
    const d = cur._zod.def;
    const next = d.innerType ?? (d.type === 'pipe' ? d.in : undefined);
    if (!next) break;
    cur = next;
  }
  return cur;
}

/** The schema at `path` (wrappers removed), or undefined if the schema has no such key. */
function schemaAt(schema: ZodLike, path: readonly string[]): ZodLike | undefined {
  let cur: ZodLike | undefined = unwrap(schema);
  for (const p of path) {
    const shape: Record<string, ZodLike> | undefined = cur?._zod.def.type === 'object' ? cur._zod.def.shape : undefined;
    if (!shape || !Object.hasOwn(shape, p)) return undefined;
    cur = unwrap(shape[p] as ZodLike);
  }
  return cur;
}

function kindOf(s: ZodLike | undefined): ConfigValueKind | 'object' | undefined {
  switch (s?._zod.def.type) {
    case undefined:
      return undefined;
    case 'number':
    case 'int':
      return 'number';
    case 'boolean':
      return 'boolean';
    case 'array':
      return 'list';
    case 'object':
      return 'object';
    default:
      return 'string';
  }
}

type Raw = Record<string, unknown>;

function setPath(obj: Raw, path: string, value: unknown): void {
  const parts = path.split('.');
  let node = obj;
  for (const p of parts.slice(0, -1)) {
    if (typeof node[p] !== 'object' || node[p] === null || Array.isArray(node[p])) node[p] = {};
    node = node[p] as Raw;
  }
  node[parts[parts.length - 1] as string] = value;
}

function getPath(obj: Raw, path: string): unknown {
  let node: unknown = obj;
  for (const p of path.split('.')) {
    if (typeof node !== 'object' || node === null) return undefined;
    node = (node as Raw)[p];
  }
  return node;
}

/** Leaf paths of a plain object (arrays are leaves). */
function leaves(obj: Raw, prefix = ''): string[] {
  const out: string[] = [];
  for (const [k, v] of Object.entries(obj)) {
    const p = prefix ? `${prefix}.${k}` : k;
    if (typeof v === 'object' && v !== null && !Array.isArray(v)) out.push(...leaves(v as Raw, p));
    else out.push(p);
  }
  return out;
}

function deepMerge(into: Raw, from: Raw): void {
  for (const [k, v] of Object.entries(from)) {
    const cur = into[k];
    if (typeof v === 'object' && v !== null && !Array.isArray(v) && typeof cur === 'object' && cur !== null && !Array.isArray(cur)) {
      deepMerge(cur as Raw, v as Raw);
    } else {
      into[k] = v;
    }
  }
}

/** Reads a JSON or YAML config file; problems become issues naming the file (never its content). */
function readConfigFile(file: string, issues: string[]): Raw | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    issues.push(`config file ${file}: cannot read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
    return undefined;
  }
  let parsed: unknown;
  if (/\.ya?ml$/i.test(file)) {
    let yaml: { parse(text: string): unknown };
    try {
      // Optional: the `yaml` package is only needed for YAML files (JSON needs nothing).
      yaml = createRequire(import.meta.url)('yaml') as typeof yaml;
    } catch {
      issues.push(`config file ${file}: YAML needs the 'yaml' package (npm install yaml), or use JSON`);
      return undefined;
    }
    try {
      parsed = yaml.parse(text);
    } catch (err) {
      // The yaml parser's message names line and column, not values.
      issues.push(`config file ${file}: not valid YAML: ${(err as Error).message.split('\n')[0]}`);
      return undefined;
    }
  } else {
    try {
      parsed = JSON.parse(text);
    } catch (err) {
      // JSON.parse messages may quote a snippet of the file (possibly a secret): position only.
      const pos = /position (\d+)/.exec((err as Error).message)?.[1];
      issues.push(`config file ${file}: not valid JSON${pos ? ` (at position ${pos})` : ''}`);
      return undefined;
    }
  }
  if (parsed === null || parsed === undefined) return {};
  if (typeof parsed !== 'object' || Array.isArray(parsed)) {
    issues.push(`config file ${file}: must hold an object of settings`);
    return undefined;
  }
  return parsed as Raw;
}

const TRUE = new Set(['1', 'true', 'yes', 'on']);
const FALSE = new Set(['0', 'false', 'no', 'off']);

type Converted = { ok: true; value: unknown } | { ok: false; why: string };

function convert(v: unknown, kind: ConfigValueKind, secret: boolean): Converted {
  const shown = secret ? '' : ` ${JSON.stringify(String(v))}`;
  switch (kind) {
    case 'number': {
      if (typeof v === 'number') return { ok: true, value: v };
      const s = String(v).trim();
      const n = Number(s);
      return s !== '' && Number.isFinite(n) ? { ok: true, value: n } : { ok: false, why: `expected a number, got${shown || ' something else'}` };
    }
    case 'boolean': {
      if (typeof v === 'boolean') return { ok: true, value: v };
      const s = String(v).trim().toLowerCase();
      if (TRUE.has(s)) return { ok: true, value: true };
      if (FALSE.has(s)) return { ok: true, value: false };
      return { ok: false, why: `expected true or false, got${shown || ' something else'}` };
    }
    case 'list':
      return { ok: true, value: Array.isArray(v) ? v.map(String) : String(v).split(',').map((x) => x.trim()).filter(Boolean) };
    case 'string':
      return { ok: true, value: String(v) };
  }
}

/**
 * Merges defaults, `--config FILE`, env and flags into `schema` and validates once.
 * @throws {ConfigInvalidError} listing every problem, each naming the field and its source.
 */
export function loadConfig<S extends z.ZodType>(o: LoadConfigOptions<S>): LoadedConfig<z.infer<S>> {
  const schema = o.schema as unknown as ZodLike;
  const prefix = envPrefix(o.service);
  const issues: string[] = [];
  const sources = new Map<string, ConfigSource>();
  const secret = new Set([...(o.secretPaths ?? []), ...o.fields.filter((f) => f.secret).map((f) => f.path)]);
  const raw: Raw = {};
  const extras: Record<string, unknown> = {};
  const deferred: Array<{ spec: ConfigFieldSpec; value: unknown; source: ConfigSource }> = [];
  const byEnv = new Map<string, ConfigFieldSpec>();
  for (const f of o.fields) {
    if (f.env) byEnv.set(prefix + f.env, f);
    if (!f.extra) byEnv.set(envName(o.service, f.path), f);
  }
  const kindFor = (f: ConfigFieldSpec): ConfigValueKind => {
    if (f.kind) return f.kind;
    const k = f.extra ? undefined : kindOf(schemaAt(schema, f.path.split('.')));
    return k === undefined || k === 'object' ? 'string' : k;
  };
  const put = (f: ConfigFieldSpec, value: unknown, source: ConfigSource): void => {
    if (f.convert) {
      deferred.push({ spec: f, value, source });
      return;
    }
    const c = convert(value, kindFor(f), secret.has(f.path));
    if (!c.ok) {
      issues.push(`${f.path} (${source.label}): ${c.why}`);
      return;
    }
    if (f.extra) extras[f.path] = c.value;
    else setPath(raw, f.path, c.value);
    sources.set(f.path, source);
  };
  const isSet = (v: unknown): boolean => v !== undefined && v !== '' && !(Array.isArray(v) && v.length === 0);

  // 1. commander's option defaults (the schema's own defaults apply at validation).
  const fromCli = (f: ConfigFieldSpec): boolean => o.flagSource === undefined || o.flagSource(f.flag as string) !== 'default';
  for (const f of o.fields) {
    if (f.flag && isSet(o.flags[f.flag]) && !fromCli(f)) put(f, o.flags[f.flag], { kind: 'default', label: 'default' });
  }
  // 2. the config file.
  const file = o.flags['config'];
  if (typeof file === 'string' && file !== '') {
    const fromFile = readConfigFile(file, issues);
    if (fromFile) {
      const label = `config file ${file}`;
      for (const [k, v] of Object.entries(extrasIn(fromFile, o.fields))) {
        extras[k] = v;
        sources.set(k, { kind: 'file', label });
      }
      deepMerge(raw, fromFile);
      for (const p of leaves(fromFile)) sources.set(p, { kind: 'file', label });
    }
  }
  // 3. env: declared aliases and derived names; unknown VOTECLUSTER_<SERVICE>_* keys are errors.
  for (const [key, value] of Object.entries(o.env)) {
    if (!key.startsWith(prefix) || value === undefined || value === '') continue;
    const label = `env ${key}`;
    const spec = byEnv.get(key);
    if (spec) {
      put(spec, value, { kind: 'env', label });
      continue;
    }
    const path = key.slice(prefix.length).split('__').map(camel);
    const k = kindOf(schemaAt(schema, path));
    if (k === undefined || k === 'object') {
      const wider = o.envSchema ? kindOf(schemaAt(o.envSchema as unknown as ZodLike, path)) : undefined;
      if (wider !== undefined && wider !== 'object') continue;
      issues.push(`${label}: no such setting for ${o.service} (env keys: ${prefix}<KEY>, nested keys joined by __)`);
      continue;
    }
    put({ path: path.join('.'), kind: k }, value, { kind: 'env', label });
  }
  // 4. flags.
  for (const f of o.fields) {
    if (f.flag && isSet(o.flags[f.flag]) && fromCli(f)) put(f, o.flags[f.flag], { kind: 'flag', label: flagName(f.flag) });
  }
  // Converters see the merged object; a later layer wins (they were queued in precedence order).
  const last = new Map<string, (typeof deferred)[number]>();
  for (const d of deferred) last.set(d.spec.path, d);
  for (const d of last.values()) {
    try {
      const v = d.spec.convert?.(d.value, raw);
      if (d.spec.extra) extras[d.spec.path] = v;
      else setPath(raw, d.spec.path, v);
      sources.set(d.spec.path, d.source);
    } catch (err) {
      issues.push(`${d.spec.path} (${d.source.label}): ${(err as Error).message}`);
    }
  }

  const r = (o.schema as z.ZodType).safeParse(raw);
  if (!r.success) {
    for (const i of r.error.issues) issues.push(describeIssue(i, o, sources, file, raw));
  }
  issues.push(...(o.extraIssues ?? []));
  if (issues.length > 0 || !r.success) throw new ConfigInvalidError(issues);
  return { config: r.data as z.infer<S>, extras, sources };
}

/** Values of `extra` fields present in a config file (removed from it: they are not schema keys). */
function extrasIn(fromFile: Raw, fields: readonly ConfigFieldSpec[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const f of fields) {
    if (!f.extra) continue;
    const v = getPath(fromFile, f.path);
    if (v === undefined) continue;
    out[f.path] = v;
    const parts = f.path.split('.');
    const parent = parts.length > 1 ? getPath(fromFile, parts.slice(0, -1).join('.')) : fromFile;
    if (typeof parent === 'object' && parent !== null) delete (parent as Raw)[parts[parts.length - 1] as string];
  }
  return out;
}

function describeIssue(i: z.core.$ZodIssue, o: LoadConfigOptions<z.ZodType>, sources: ReadonlyMap<string, ConfigSource>, file: unknown, raw: Raw): string {
  const path = i.path.map(String).join('.');
  const keys = i.code === 'unrecognized_keys' ? i.keys.map((k) => (path ? `${path}.${k}` : k)) : [];
  const where = keys.length > 0 ? keys.join(', ') : path || '(root)';
  // The nearest source: this path or the closest ancestor that was set.
  let source: ConfigSource | undefined;
  for (let p = keys[0] ?? path; p !== '' && !source; p = p.includes('.') ? p.slice(0, p.lastIndexOf('.')) : '') source = sources.get(p);
  if (!source && keys.length > 0 && typeof file === 'string') source = { kind: 'file', label: `config file ${file}` };
  if (source) return `${where} (${source.label}): ${i.message}`;
  const spec = o.fields.find((f) => f.path === path);
  const ways = [
    ...(spec?.flag ? [flagName(spec.flag)] : []),
    `env ${spec?.env ? envPrefix(o.service) + spec.env : envName(o.service, path || 'KEY')}`,
    `"${path}" in --config`,
  ];
  // zod's "expected string, received undefined" for a missing value reads better as "required".
  const message = i.code === 'invalid_type' && path !== '' && getPath(raw, path) === undefined && i.message.startsWith('Invalid input') ? 'required' : i.message;
  return `${where}: ${message} (not set: use ${ways.join(', ')})`;
}

/** A copy of `config` with the values at `secretPaths` replaced by `[redacted]` (effective-config dumps). */
export function redactConfig<T>(config: T, secretPaths: readonly string[]): T {
  const copy = structuredClone(config) as unknown as Raw;
  for (const p of secretPaths) if (getPath(copy, p) !== undefined) setPath(copy, p, '[redacted]');
  return copy as unknown as T;
}

/** commander's `getOptionValueSource` of a command, for {@link LoadConfigOptions.flagSource}. */
export function optionSources(cmd: { getOptionValueSource(key: string): string | undefined }): (flag: string) => string | undefined {
  return (flag) => cmd.getOptionValueSource(flag);
}
