import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { App, Testing } from 'cdk8s';
import { buildFleet } from '../examples/main';
import { expectValidManifests } from './support/validate';

function synthFleet(): Map<string, string> {
  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'fleet-'));
  try {
    const app = new App({ outdir });
    buildFleet(app);
    app.synth();
    return new Map(fs.readdirSync(outdir).sort().map((f) => [f, fs.readFileSync(path.join(outdir, f), 'utf8')]));
  } finally {
    fs.rmSync(outdir, { recursive: true, force: true });
  }
}

describe('the example fleet (README main command)', () => {
  test('every chart validates against the Kubernetes schema', () => {
    const app = Testing.app();
    for (const chart of buildFleet(app)) expectValidManifests(Testing.synth(chart));
  });

  test('two synths give byte-identical YAML', () => {
    const a = synthFleet();
    const b = synthFleet();
    expect([...a.keys()]).toEqual(['edge-k3s.k8s.yaml', 'infra-rke2.k8s.yaml', 'legacy.k8s.yaml', 'prod-eu.k8s.yaml']);
    for (const [file, content] of a) expect(b.get(file)).toBe(content);
  });
});
