/**
 * The project's linter: the module rules of docs/contributing.md that tsc cannot check.
 * - a service reaches another service only through its `index.ts`;
 * - dependencies point one way (the ALLOWED table below);
 * - no `export *`, no default exports, no `vi.mock` of real components;
 * - package.json `dependencies` are exactly the packages the shipped code (bin/, services/,
 *   test files excepted) loads at run time; everything else is a devDependency.
 * Exits 1 and prints every violation with file and line.
 */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';

const ROOT = resolve(import.meta.dirname, '..', '..');

/** Which services each service may import (besides itself). */
const ALLOWED: Record<string, readonly string[]> = {
  // The shared vocabulary (error base, bounded waits, backoff, stop deadline): imports no service.
  base: [],
  // JSON-RPC over HTTP and websocket (the dcrwallet-compatible endpoint, the devnet's dcrd RPC).
  jsonrpc: ['base'],
  decred: ['base'],
  telemetry: ['base'],
  security: ['base', 'telemetry'],
  cluster: ['base', 'decred', 'telemetry', 'security'],
  nodeproxy: ['base', 'decred', 'telemetry', 'security'],
  voter: ['base', 'decred', 'telemetry', 'security', 'cluster', 'nodeproxy'],
  admin: ['base', 'jsonrpc', 'decred', 'telemetry', 'security', 'cluster', 'nodeproxy'],
  cli: ['base', 'jsonrpc', 'decred', 'telemetry', 'security', 'cluster', 'nodeproxy', 'voter', 'admin'],
  // The simulation (devnet, etcd launcher, WAN link, layout, chaos): may use everything;
  // nothing above may use it, so no production service depends on simulation code.
  sim: ['base', 'jsonrpc', 'decred', 'telemetry', 'security', 'cluster', 'nodeproxy', 'voter', 'admin', 'cli'],
};

function walk(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules' || name.startsWith('.')) continue;
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p, out);
    else if (p.endsWith('.ts')) out.push(p);
  }
  return out;
}

const problems: string[] = [];
const IMPORT_RE = /(?:^|\n)\s*(?:import|export)\s[^'"]*?from\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g;

for (const file of walk(join(ROOT, 'services')).concat(walk(join(ROOT, 'test')))) {
  const rel = relative(ROOT, file);
  const text = readFileSync(file, 'utf8');
  const lineOf = (idx: number) => text.slice(0, idx).split('\n').length;
  for (const m of text.matchAll(/^\s*export\s+\*/gm)) problems.push(`${rel}:${lineOf(m.index)}: no 'export *' (name each export)`);
  for (const m of text.matchAll(/^\s*export\s+default\b/gm)) {
    if (!rel.startsWith('vitest')) problems.push(`${rel}:${lineOf(m.index)}: no default exports`);
  }
  for (const m of text.matchAll(/\bvi\.mock\(/g)) problems.push(`${rel}:${lineOf(m.index)}: no vi.mock of real components`);

  const parts = rel.split(sep);
  if (parts[0] !== 'services') continue;
  const self = parts[1] as string;
  for (const m of text.matchAll(IMPORT_RE)) {
    const spec = m[1] ?? m[2];
    if (!spec || !spec.startsWith('.')) continue;
    const target = relative(ROOT, resolve(dirname(file), spec)).split(sep);
    if (target[0] !== 'services') continue;
    const other = target[1] as string;
    if (other === self) continue;
    const line = lineOf(m.index);
    if (!(ALLOWED[self] ?? []).includes(other)) {
      problems.push(`${rel}:${line}: services/${self} may not depend on services/${other}`);
    }
    if (target.length !== 3 || target[2] !== 'index.ts') {
      problems.push(`${rel}:${line}: import services/${other} through its index.ts, not ${target.slice(2).join('/')}`);
    }
  }
}

// Runtime dependencies: every package the shipped code loads (static and dynamic imports,
// `createRequire(import.meta.url)('x')` and `.resolve('x/...')` for files a package ships;
// `import type` is erased) is in `dependencies`, and
// every entry of `dependencies` is loaded by the shipped code.
const RUNTIME_IMPORT_RE = /(?:^|\n)\s*(import|export)(\s+type)?\s[^'"]*?from\s+['"]([^'"]+)['"]|(?:^|\n)\s*import\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)|createRequire\([^)]*\)(?:\.resolve)?\(\s*['"]([^'"]+)['"]\s*\)/g;
const pkgJson = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { dependencies?: Record<string, string> };
const runtimeDeps = new Set(Object.keys(pkgJson.dependencies ?? {}));
const loaded = new Set<string>();
const shipped = walk(join(ROOT, 'services')).concat(walk(join(ROOT, 'bin'))).filter((f) => !f.endsWith('.test.ts'));
for (const file of shipped) {
  const rel = relative(ROOT, file);
  const text = readFileSync(file, 'utf8');
  for (const m of text.matchAll(RUNTIME_IMPORT_RE)) {
    if (m[2]) continue; // import type / export type: erased
    const spec = m[3] ?? m[4] ?? m[5] ?? m[6];
    if (!spec || spec.startsWith('.') || spec.startsWith('node:')) continue;
    const name = spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : (spec.split('/')[0] as string);
    loaded.add(name);
    if (!runtimeDeps.has(name)) {
      problems.push(`${rel}:${text.slice(0, m.index).split('\n').length}: '${name}' is loaded at run time but is not in package.json dependencies`);
    }
  }
}
for (const dep of runtimeDeps) {
  if (!loaded.has(dep)) problems.push(`package.json: dependency '${dep}' is not loaded by bin/ or services/ (make it a devDependency)`);
}

if (problems.length > 0) {
  console.error(`lint: ${problems.length} problem(s)`);
  for (const p of problems) console.error(`  ${p}`);
  process.exit(1);
}
console.log('lint: ok');
