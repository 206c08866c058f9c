/**
 * The docs stay true to the tree: every file docs/architecture.md names exists, every timing
 * constant it lists is defined where it says, and no tracked text speaks about how the
 * project was developed (sessions, issue numbers, notes files outside the repository): the
 * repository describes the product, and history lives in git.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '..', '..', '..');
const ARCHITECTURE = readFileSync(join(ROOT, 'docs', 'architecture.md'), 'utf8');

/** Text files of the repository (no dependencies, build output, results or dot folders). */
function textFiles(dir = ROOT, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    if (name.startsWith('.') || ['node_modules', 'dist', 'bench-results', 'coverage'].includes(name)) continue;
    const path = join(dir, name);
    if (statSync(path).isDirectory()) textFiles(path, out);
    else if (/\.(ts|mts|js|mjs|md|proto|ya?ml|json|tf|service|conf|toml|txt|sh)$|^Dockerfile/.test(name) && name !== 'package-lock.json') out.push(path);
  }
  return out;
}

describe('docs/architecture.md', () => {
  it('names only files and folders that exist', () => {
    const paths = [...ARCHITECTURE.matchAll(/`((?:services|test|proto|bin|deploy|docs)\/[A-Za-z0-9_./<>-]+)`/g)]
      .map((m) => m[1] as string)
      .filter((p) => !p.includes('<'));
    expect(paths.length).toBeGreaterThan(20);
    const missing = paths.filter((p) => !existsSync(join(ROOT, p)));
    expect(missing).toEqual([]);
  });

  it('lists each timing constant in the file its row names', () => {
    const rows = ARCHITECTURE.slice(ARCHITECTURE.indexOf('## Timing constants'), ARCHITECTURE.indexOf('## Machine-readable contracts')).split('\n');
    let checked = 0;
    const wrong: string[] = [];
    for (const row of rows.filter((r) => r.startsWith('| ') && !r.startsWith('| constant'))) {
      const where = (row.split('|')[2] ?? '').trim();
      const files = [...where.matchAll(/`(services\/[^`]+\.ts)`/g)].map((m) => m[1] as string);
      const names = [...where.matchAll(/`([A-Z][A-Z0-9_]+)`/g)].map((m) => m[1] as string);
      for (const name of names) {
        const definedIn = files.filter((f) => new RegExp(`\\b(const|let)\\s+${name}\\b`).test(readFileSync(join(ROOT, f), 'utf8')));
        if (definedIn.length === 0) wrong.push(`${name} (${files.join(', ')})`);
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(20);
    expect(wrong).toEqual([]);
  });
});

describe('links between the docs', () => {
  it('every relative link in a Markdown file points at a file or folder that exists', () => {
    const broken: string[] = [];
    for (const file of textFiles().filter((f) => f.endsWith('.md'))) {
      const text = readFileSync(file, 'utf8');
      for (const m of text.matchAll(/\]\(([^)\s]+)\)/g)) {
        const target = (m[1] as string).split('#')[0] as string;
        if (target === '' || /^[a-z][a-z0-9+.-]*:/i.test(target)) continue; // same-page anchor or URL
        if (!existsSync(resolve(file, '..', target))) broken.push(`${relative(ROOT, file)} -> ${m[1]}`);
      }
    }
    expect(broken).toEqual([]);
  });
});

describe('the repository speaks about the product', () => {
  it('has no development-process notes: sessions, issue numbers, helpers, notes files outside the repository', () => {
    const narrative = [
      /\b[Ss]ession[ -][0-9]+\b/,
      /\b[Ii]ssue #?[0-9]+\b/,
      /\bhelper [A-Z]\b/,
      /\bissue notes\b/,
      /\b(DESIGN|STYLE|ENVIRONMENT)\.md\b/,
      /decred-protocol\.md/,
      /\.\.\/shared\//,
    ];
    const self = relative(ROOT, import.meta.filename);
    const hits: string[] = [];
    for (const file of textFiles()) {
      const rel = relative(ROOT, file);
      if (rel === self) continue;
      readFileSync(file, 'utf8').split('\n').forEach((line, i) => {
        if (narrative.some((re) => re.test(line))) hits.push(`${rel}:${i + 1}: ${line.trim().slice(0, 120)}`);
      });
    }
    expect(hits).toEqual([]);
  });
});
