/**
 * Imports in src/ run one way: each folder (and each top-level file) has a layer, and a file
 * imports only from its own folder or from a lower layer; no two files import each other, even
 * through others. Type-only imports count: they tie the files together as much as a value does.
 *
 * Reports (plan/) read facts the constructs hand them through small interfaces (JobPlanFacts,
 * IAlertPlan); the job core and the kinds depend on those interfaces, never on the constructs
 * that implement them.
 */
import * as fs from 'fs';
import * as path from 'path';

const SRC = path.join(__dirname, '..', '..', '..', 'src');

/** Lowest first. A folder name, or a top-level file. */
const LAYERS: string[][] = [
  ['imports', 'internal'],
  ['policy', 'repository'],
  ['plan'],
  ['job'],
  ['monitoring'],
  ['etcd'],
  ['config', 'database', 'maintenance', 'verify', 'velero'],
  ['pitfalls.ts', 'cluster-backup-props.ts'],
  ['cluster-checks.ts', 'cluster-plan.ts', 'runbook.ts'],
  ['cluster-backup.ts'],
  ['index.ts'],
];

function sourceFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    return e.isDirectory() ? sourceFiles(p) : e.name.endsWith('.ts') ? [p] : [];
  });
}

/** The folder of a file under src/, or the file's own name at the top. */
function unit(file: string): string {
  const rel = path.relative(SRC, file).split(path.sep);
  return rel[0];
}

function layerOf(u: string): number {
  const i = LAYERS.findIndex((l) => l.includes(u));
  if (i < 0) throw new Error(`src/${u} has no layer in imports.test.ts: add it to LAYERS where it belongs`);
  return i;
}

/** Relative imports of one file, resolved to files (`from './x'`, `import type`, `export ... from`). */
function importsOf(file: string): string[] {
  const text = fs.readFileSync(file, 'utf8');
  const out: string[] = [];
  for (const m of text.matchAll(/^(?:import|export)\b[^;]*?\bfrom '(\.[^']*)';/gms)) {
    const base = path.resolve(path.dirname(file), m[1]);
    const target = fs.existsSync(`${base}.ts`) ? `${base}.ts` : path.join(base, 'index.ts');
    out.push(target);
  }
  return out;
}

const files = sourceFiles(SRC).filter((f) => unit(f) !== 'imports');
const edges = new Map(files.map((f) => [f, importsOf(f)]));
const rel = (f: string) => path.relative(path.join(SRC, '..'), f);

test('every import in src/ goes to the same folder or a lower layer', () => {
  const upward: string[] = [];
  for (const [from, tos] of edges) {
    for (const to of tos) {
      const [a, b] = [unit(from), unit(to)];
      if (a === b) continue;
      if (layerOf(b) >= layerOf(a)) upward.push(`${rel(from)} -> ${rel(to)}`);
    }
  }
  expect(upward).toEqual([]);
});

test('no two files in src/ import each other, directly or through others', () => {
  // Tarjan's strongly connected components: any with more than one file is a cycle.
  let index = 0;
  const idx = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const cycles: string[][] = [];
  const visit = (v: string) => {
    idx.set(v, index);
    low.set(v, index++);
    stack.push(v);
    onStack.add(v);
    for (const w of edges.get(v) ?? []) {
      if (!idx.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v)!, idx.get(w)!));
      }
    }
    if (low.get(v) === idx.get(v)) {
      const component: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        component.push(rel(w));
      } while (w !== v);
      if (component.length > 1) cycles.push(component.sort());
    }
  };
  for (const f of files) if (!idx.has(f)) visit(f);
  expect(cycles).toEqual([]);
});

test('the check sees the imports it judges', () => {
  // A regression guard for the parser above: these edges exist and are allowed.
  expect(edges.get(path.join(SRC, 'job', 'backup-job.ts'))).toContain(path.join(SRC, 'plan', 'job-plan.ts'));
  expect(edges.get(path.join(SRC, 'index.ts'))!.length).toBeGreaterThan(20);
  expect(layerOf('plan')).toBeLessThan(layerOf('job'));
});
