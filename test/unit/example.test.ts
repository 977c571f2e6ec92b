import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { App, Testing } from 'cdk8s';
import { buildFleet } from '../../examples/main';
import { expectValidCustomResources } from '../support/crd-validate';
import { expectValidManifests, isCustomResource } from '../support/validate';

/** Runs README's main command (the example's entry point) into a temp dir; returns every file. */
function synthFleet(): Map<string, string> {
  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'fleet-'));
  try {
    execFileSync(path.join(__dirname, '..', '..', 'node_modules', '.bin', 'ts-node'), ['--project', 'test/tsconfig.json', 'examples/main.ts'], {
      cwd: path.join(__dirname, '..', '..'),
      env: { ...process.env, EXAMPLES_OUTDIR: outdir },
      stdio: 'pipe',
    });
    return new Map(fs.readdirSync(outdir).sort().map((f) => [f, fs.readFileSync(path.join(outdir, f), 'utf8')]));
  } finally {
    fs.rmSync(outdir, { recursive: true, force: true });
  }
}

describe('the example fleet (README main command)', () => {
  test('every chart validates against the Kubernetes schema and the CRDs', () => {
    for (const { chart } of buildFleet(Testing.app())) {
      const objs = Testing.synth(chart);
      expectValidManifests(objs.filter((o) => !isCustomResource(o)));
      expectValidCustomResources(objs.filter((o) => isCustomResource(o)));
    }
  });

  test('two runs give byte-identical YAML, runbooks and plans', () => {
    const a = synthFleet();
    const b = synthFleet();
    expect([...a.keys()]).toEqual([
      'edge-k3s.k8s.yaml', 'edge-k3s.plan.md', 'edge-k3s.runbook.md', 'eks-shop.k8s.yaml', 'eks-shop.plan.md', 'eks-shop.runbook.md',
      'iam-maintainer.json', 'iam-reader.json', 'iam-writer.json',
      'infra-rke2.k8s.yaml', 'infra-rke2.plan.md', 'infra-rke2.runbook.md', 'legacy.k8s.yaml', 'legacy.plan.md', 'legacy.runbook.md',
      'prod-eu.k8s.yaml', 'prod-eu.plan.md', 'prod-eu.runbook.md',
    ]);
    for (const [file, content] of a) expect(b.get(file)).toBe(content);
    expect(a.get('prod-eu.runbook.md')).toContain('restore latest --no-lock --host prod-eu-cp-3 --tag control-plane-config');
    expect(a.get('edge-k3s.plan.md')).toContain('every 6 hours at minute 15 (`15 */6 * * *`, time zone `Etc/UTC`); 4 runs a day: 00:15, 06:15, 12:15 and 18:15');
  }, 120_000);

  test('no Secret with data is rendered', () => {
    const app = new App({ outdir: fs.mkdtempSync(path.join(os.tmpdir(), 'fleet-')) });
    for (const { chart } of buildFleet(app)) {
      expect(Testing.synth(chart).filter((o) => o.kind === 'Secret')).toEqual([]);
    }
  });

  test('the jobs of the fleet start at their own minutes, not all at once (SpreadSchedule)', () => {
    const starts: string[] = [];
    for (const { chart } of buildFleet(Testing.app())) {
      for (const o of Testing.synth(chart)) {
        if (o.kind === 'CronJob') starts.push(o.spec.schedule);
        if (o.kind === 'Schedule') starts.push(o.spec.schedule);
      }
    }
    const minutes = starts.map((s) => s.replace(/^CRON_TZ=\S+ /, '').split(' ')[0]);
    expect(starts.length).toBeGreaterThan(15);
    // Per-node config jobs of one cluster share their minute by design; across the fleet the
    // minutes spread, and no minute is shared by more than the nodes of one cluster.
    const counts = new Map<string, number>();
    for (const m of minutes) counts.set(m, (counts.get(m) ?? 0) + 1);
    expect(counts.size).toBeGreaterThan(8);
    expect(Math.max(...counts.values())).toBeLessThanOrEqual(4);
    // A hash may land on :00 (legacy's drill does); before the spread, most jobs started there.
    expect(counts.get('0') ?? 0).toBeLessThanOrEqual(2);
  });
});
