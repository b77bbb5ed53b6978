import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { ROOT } from './helpers.js';

/**
 * The layout of src/lib by domain, and the one direction of its imports:
 * commands → api | traffic | extract | analysis | stack → kafka | lake | spark → hdfs | events → core.
 * A module may import its own domain and any lower layer, never a higher one or a sibling.
 */
const LAYERS: Record<string, number> = {
  core: 0,
  hdfs: 1,
  events: 1,
  kafka: 2,
  lake: 2,
  spark: 2,
  api: 3,
  traffic: 3,
  extract: 3,
  analysis: 3,
  stack: 3,
  commands: 4,
};

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? files(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );
}

/** `core`, `kafka`... for a file under src/lib, `commands` for src/commands, undefined for cli.ts. */
function domainOf(file: string): string | undefined {
  const rel = relative(join(ROOT, 'src'), file).split('/');
  if (rel[0] === 'commands') return 'commands';
  if (rel[0] === 'lib') return rel[1];
  return undefined;
}

describe('architecture: src/lib by domain, imports in one direction', () => {
  it('every module of src/lib sits in a domain folder (no flat files, no barrels)', () => {
    const lib = join(ROOT, 'src', 'lib');
    for (const f of files(lib)) {
      const domain = domainOf(f);
      assert.ok(domain !== undefined && domain in LAYERS, `${relative(ROOT, f)} is in no domain`);
      assert.notEqual(f.endsWith('/index.ts'), true, `${relative(ROOT, f)} is a barrel`);
    }
  });

  it('no import runs back up or across to a sibling domain', () => {
    const problems: string[] = [];
    for (const f of files(join(ROOT, 'src'))) {
      const from = domainOf(f);
      if (from === undefined) continue;
      const text = readFileSync(f, 'utf8');
      for (const m of text.matchAll(/(?:from|import)\s*\(?\s*'(\.{1,2}\/[^']+)'/g)) {
        const target = resolve(dirname(f), m[1] as string);
        const to = domainOf(target);
        if (to === undefined || to === from) continue;
        if ((LAYERS[to] as number) >= (LAYERS[from] as number)) {
          problems.push(`${relative(ROOT, f)} (${from}) imports ${m[1]} (${to})`);
        }
      }
    }
    assert.deepEqual(problems, []);
  });
});

/** The packages a module loads before it runs: static imports, not `import type` or `import()`. */
function staticImports(file: string): { local: string[]; packages: string[] } {
  const local: string[] = [];
  const packages: string[] = [];
  const text = readFileSync(file, 'utf8');
  for (const m of text.matchAll(/^import\s+(?!type\s)[^;]*?from\s+'([^']+)';/gms)) {
    const spec = m[1] as string;
    if (spec.startsWith('.')) local.push(resolve(dirname(file), spec.replace(/\.js$/, '.ts')));
    else if (!spec.startsWith('node:')) packages.push(spec);
  }
  return { local, packages };
}

describe('architecture: declaring the commands stays cheap', () => {
  it('`gamepipe --help` loads no Kafka, HTTP, Parquet or analysis library (commands import them when they run)', () => {
    const seen = new Set<string>();
    const packages = new Map<string, string>();
    const visit = (file: string): void => {
      if (seen.has(file)) return;
      seen.add(file);
      const { local, packages: pkgs } = staticImports(file);
      for (const p of pkgs) packages.set(p, relative(ROOT, file));
      local.forEach(visit);
    };
    visit(join(ROOT, 'src', 'cli.ts'));
    assert.ok(seen.size > 15, `only ${seen.size} modules reached: the import scan is broken`);
    assert.deepEqual(
      [...packages.keys()].sort(),
      ['commander'],
      `loaded at startup: ${[...packages].map(([p, f]) => `${p} (${f})`).join(', ')}`,
    );
  });
});
