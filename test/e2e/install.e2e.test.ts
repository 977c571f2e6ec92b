/**
 * Installing the library as a user does (scripts/install-check.sh): a fresh app from `cdk8s init
 * typescript-app` (which brings the current cdk8s-plus), cdk8s-backup installed from the packed
 * tarball and from the git repository (built on install: lib/ is not committed), one chart with a
 * cdk8s-plus-33 Deployment beside a ClusterBackup, synthesized by `cdk8s synth`. What it wrote must
 * validate like everything else we render. Needs the npm registry (CI has it).
 */
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { parseAllDocuments } from 'yaml';
import { validateCustomResources } from '../support/crd-validate';
import { validateManifests } from '../support/validate';

const REPO = path.join(__dirname, '..', '..');
const SCRIPT = path.join(REPO, 'scripts', 'install-check.sh');
const VERSION: string = JSON.parse(fs.readFileSync(path.join(REPO, 'package.json'), 'utf8')).version;

// One `cdk8s init` for both installs (each copies it), made on first use.
const FRESH_APP = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'install-fresh-')), 'app');
afterAll(() => fs.rmSync(path.dirname(FRESH_APP), { recursive: true, force: true }));

describe.each([['tarball', 'packed tarball'], ['git', 'git repository']])('installed from the %s (%s) into a fresh cdk8s app', (from) => {
  let app: string;
  let objects: any[];

  beforeAll(() => {
    app = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'install-')), 'app');
    execFileSync('bash', [SCRIPT, app, from, FRESH_APP], { stdio: ['ignore', 'pipe', 'inherit'], timeout: 9 * 60_000 });
    objects = parseAllDocuments(fs.readFileSync(path.join(app, 'dist', 'prod.k8s.yaml'), 'utf8'))
      .map((d) => d.toJSON()).filter((o) => o);
  }, 10 * 60_000);
  afterAll(() => fs.rmSync(path.dirname(app), { recursive: true, force: true }));

  test('the package is built: lib/ and the jsii assembly, at our version', () => {
    const pkg = path.join(app, 'node_modules', 'cdk8s-backup');
    expect(JSON.parse(fs.readFileSync(path.join(pkg, 'package.json'), 'utf8')).version).toBe(VERSION);
    expect(fs.existsSync(path.join(pkg, 'lib', 'index.js'))).toBe(true);
    expect(fs.existsSync(path.join(pkg, '.jsii'))).toBe(true);
    expect(fs.existsSync(path.join(pkg, 'assets', 'restic-upload.sh'))).toBe(true);
    // The contributors' side stays out of the package.
    for (const dir of ['.ci', 'scripts', 'bench', 'crds', 'src', 'test']) expect(fs.existsSync(path.join(pkg, dir))).toBe(false);
  });

  test('the app keeps its own cdk8s-plus, and ours is installed beside it', () => {
    const mod = (name: string) => fs.existsSync(path.join(app, 'node_modules', name, 'package.json'));
    expect(mod('cdk8s-plus-33')).toBe(true);
    expect(mod('cdk8s-plus-28')).toBe(true);
  });

  test('the chart synthesizes both, valid against the Kubernetes schema and the CRDs', () => {
    const kinds = objects.map((o) => `${o.kind}/${o.metadata.name}`);
    expect(kinds).toEqual(expect.arrayContaining([expect.stringMatching(/^Deployment\/prod-web-/), 'CronJob/prod-etcd-backup', 'CronJob/prod-maintenance']));
    expect(objects.filter((o) => o.kind === 'CronJob')).toHaveLength(6);
    // The plain-data tolerations and resources main.ts passes, from an app on cdk8s-plus-33.
    const etcd = objects.find((o) => o.kind === 'CronJob' && o.metadata.name === 'prod-etcd-backup').spec.jobTemplate.spec.template.spec;
    expect(etcd.tolerations).toEqual([
      { key: 'node-role.kubernetes.io/control-plane', operator: 'Exists', effect: 'NoSchedule' },
      { key: 'dedicated', operator: 'Equal', value: 'control-plane', effect: 'NoExecute', tolerationSeconds: 300 },
    ]);
    expect(etcd.containers.find((c: any) => c.name === 'upload').resources.limits).toEqual({ cpu: '1', memory: '1024Mi' });
    expect(validateManifests(objects)).toEqual([]);
    expect(validateCustomResources(objects)).toEqual([]);
    expect(fs.readFileSync(path.join(app, 'dist', 'prod.runbook.md'), 'utf8')).toContain('etcdctl');
  });
});
