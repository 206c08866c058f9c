/**
 * The container image definition, checked offline (no Docker engine here): the
 * Dockerfile's stages, that every file the build COPYs exists and passes
 * .dockerignore, that the entrypoint is the built CLI the package ships, that the
 * final stage runs as a non-root user with a /healthz HEALTHCHECK.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '..', '..', '..');

interface Instruction {
  op: string;
  args: string;
}

/** Dockerfile → instructions (comments dropped, `\` continuations joined). */
function parseDockerfile(text: string): Instruction[] {
  const out: Instruction[] = [];
  let pending = '';
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (pending === '' && (line === '' || line.startsWith('#'))) continue;
    if (line.startsWith('#')) continue;
    pending += `${line.replace(/\\$/, '').trim()} `;
    if (line.endsWith('\\')) continue;
    const m = /^(\w+)\s+(.*)$/.exec(pending.trim());
    if (m) out.push({ op: (m[1] as string).toUpperCase(), args: (m[2] as string).trim() });
    pending = '';
  }
  return out;
}

/** Whether `path` reaches the build context through .dockerignore (last matching rule wins). */
function passesDockerignore(path: string, rules: string[]): boolean {
  let included = true;
  const clean = path.replace(/\/$/, '');
  for (const rule of rules) {
    const neg = rule.startsWith('!');
    const pat = (neg ? rule.slice(1) : rule).replace(/\/$/, '');
    const re = new RegExp(`^${pat.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*\*\//g, '\u0000').replace(/\*/g, '[^/]*').replace(/\u0000/g, '(.*/)?')}(/.*)?$`);
    if (re.test(clean)) included = neg;
  }
  return included;
}

const instructions = parseDockerfile(readFileSync(join(ROOT, 'Dockerfile'), 'utf8'));
const ignoreRules = readFileSync(join(ROOT, '.dockerignore'), 'utf8').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
const stages: Instruction[][] = [];
for (const i of instructions) {
  if (i.op === 'FROM') stages.push([]);
  stages.at(-1)?.push(i);
}
const final = stages.at(-1) ?? [];
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { bin: Record<string, string>; files: string[]; scripts: Record<string, string> };

describe('Dockerfile', () => {
  it('is multi-stage: a build stage that installs and compiles, a slim Node 20 runtime stage', () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    const build = stages[0] ?? [];
    expect(build[0]?.args).toMatch(/^node:20[\w.-]*\s+AS\s+build$/i);
    const runs = build.filter((i) => i.op === 'RUN').map((i) => i.args).join('\n');
    expect(runs).toMatch(/npm ci\b/);
    expect(runs).toMatch(/npm run build\b/);
    expect(runs).toMatch(/npm ci --omit=dev\b/);
    expect(final[0]?.args).toMatch(/^node:20[\w.-]*slim$/);
  });

  it('COPYs only files that exist and that .dockerignore lets into the context', () => {
    const copies = instructions.filter((i) => i.op === 'COPY' && !/--from=/.test(i.args));
    expect(copies.length).toBeGreaterThan(0);
    for (const c of copies) {
      const parts = c.args.split(/\s+/).filter((p) => !p.startsWith('--'));
      for (const src of parts.slice(0, -1)) {
        expect(existsSync(join(ROOT, src)), `${src} exists`).toBe(true);
        expect(passesDockerignore(src, ignoreRules), `${src} passes .dockerignore`).toBe(true);
      }
    }
    // What must never reach the context.
    for (const p of ['node_modules', 'dist', '.git', 'test', 'bench-results', 'deploy', 'services/voter/voter.test.ts']) {
      expect(passesDockerignore(p, ignoreRules), `${p} is ignored`).toBe(false);
    }
    // Every source the build script compiles is copied.
    const copied = new Set(copies.flatMap((c) => c.args.split(/\s+/).filter((p) => !p.startsWith('--')).slice(0, -1).map((p) => p.replace(/\/$/, ''))));
    for (const need of ['package.json', 'package-lock.json', 'tsconfig.json', 'tsconfig.build.json', 'scripts', 'bin', 'proto', 'services']) expect(copied.has(need), need).toBe(true);
  });

  it('enters through the built CLI the package ships (bin/votecluster → dist), with plain node', () => {
    const entry = JSON.parse(final.find((i) => i.op === 'ENTRYPOINT')?.args ?? 'null') as string[];
    const workdir = final.find((i) => i.op === 'WORKDIR')?.args;
    expect(entry[0]).toBe('node');
    expect(entry[1]).toBe(`${workdir}/${pkg.bin['votecluster']}`);
    expect(pkg.files).toContain(pkg.bin['votecluster']);
    expect(pkg.files).toContain('dist/');
    expect(readFileSync(join(ROOT, pkg.bin['votecluster'] as string), 'utf8')).toMatch(/import\('\.\.\/dist\/bin\/votecluster\.js'\)/);
    expect(entry.join(' ')).not.toMatch(/tsx|--import|--loader/);
  });

  it('runs as a non-root user with a /healthz HEALTHCHECK and nothing left to write into', () => {
    const user = final.filter((i) => i.op === 'USER').at(-1)?.args ?? 'root';
    expect(user.split(':')[0]).not.toMatch(/^(root|0)$/);
    const hc = final.find((i) => i.op === 'HEALTHCHECK')?.args ?? '';
    expect(hc).toMatch(/CMD/);
    const env = final.filter((i) => i.op === 'ENV').map((i) => i.args).join(' ');
    expect(`${hc} ${env}`).toMatch(/\/healthz/);
    expect(final.some((i) => i.op === 'VOLUME')).toBe(false);
    // Instructions after USER may not chown the application to the runtime user (read-only code).
    expect(final.filter((i) => i.op === 'COPY').every((i) => !/--chown=(?!0:0)/.test(i.args))).toBe(true);
  });

  it('the .dockerignore matcher can fail', () => {
    expect(passesDockerignore('node_modules', ['*', '!services/'])).toBe(false);
    expect(passesDockerignore('services/x.ts', ['*', '!services/'])).toBe(true);
    expect(passesDockerignore('services/x.test.ts', ['*', '!services/', '**/*.test.ts'])).toBe(false);
  });
});
