/**
 * `controlPlaneConfig.exclude` patterns as restic reads them: the construct writes them into
 * exclude.txt, and restic expands `$NAME` there from its environment (os.Expand, `$$` a literal
 * `$`). The upload's environment holds the repository password and the storage keys: a pattern
 * must match literally, never through them. Real restic (the image's version) backs up a tree
 * with the rendered exclude file and a secret in its environment.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Testing } from 'cdk8s';
import { ControlPlaneConfigBackup, EtcdSource } from '../../src';
import { testRepository } from '../support/charts';
import { RESTIC_BIN } from '../support/restic';

let work: string;
beforeAll(() => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'config-exclude-'));
});
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

function renderedExcludeFile(exclude: string[]): string {
  const chart = Testing.chart();
  new ControlPlaneConfigBackup(chart, 'config', { clusterName: 'prod', source: EtcdSource.kubeadm(), repository: testRepository(), nodes: ['cp-1'], exclude });
  const cm = Testing.synth(chart).find((m) => m.kind === 'ConfigMap');
  return cm.data['exclude.txt'];
}

test('GIVEN exclude patterns with $ WHEN restic backs up with a secret in its environment THEN each matches its file name literally and no secret is read', () => {
  const tree = path.join(work, 'etc', 'kubernetes');
  fs.mkdirSync(tree, { recursive: true });
  for (const f of ['a$b', 'aXb', 'hunter2', 'keep']) fs.writeFileSync(path.join(tree, f), f);
  const excludeFile = path.join(work, 'exclude.txt');
  fs.writeFileSync(excludeFile, renderedExcludeFile([`${tree}/a$b`, `${tree}/$AWS_SECRET_ACCESS_KEY`]));
  const env = { PATH: '/usr/bin:/bin', HOME: work, RESTIC_PASSWORD: 'pw', RESTIC_REPOSITORY: path.join(work, 'repo'), AWS_SECRET_ACCESS_KEY: 'hunter2', B: 'X' };
  const run = (...args: string[]) => {
    const r = spawnSync(RESTIC_BIN, [...args, '--no-cache'], { env, encoding: 'utf8' });
    expect({ args, status: r.status, stderr: r.stderr }).toMatchObject({ status: 0 });
    return r.stdout;
  };
  run('init');
  run('backup', '--exclude-file', excludeFile, tree);
  const files = run('ls', 'latest').split('\n').filter((l) => l.startsWith(tree + '/')).map((l) => path.basename(l)).sort();
  // `a$b` excluded as written; `aXb` and `hunter2` kept: neither $B nor the secret was expanded.
  expect(files).toEqual(['aXb', 'hunter2', 'keep']);
});
