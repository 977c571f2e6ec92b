/**
 * The runbook's "etcd tools of the snapshot's version, unless the node has them" step, run as
 * written on a node that has no etcd tools (kubeadm, k3s and RKE2 nodes run etcd from its image):
 * it reads the version the workstation step copied beside the snapshot, downloads etcd's release
 * tarball of that version and unpacks etcdutl and etcdctl into /usr/local/bin, then checks that
 * each is that minor. And the workstation step before it: the version the snapshot's tag records,
 * a newer minor than the cluster's refused.
 *
 * The machine has no route to GitHub: `curl` is a shim that serves, for exactly the release URL
 * (https://github.com/etcd-io/etcd/releases/download/v<version>/etcd-v<version>-linux-amd64.tar.gz,
 * the layout of etcd's release assets), a tarball of that layout made from the real etcdutl and
 * etcdctl of that version (Debian's, unpacked by scripts/setup.sh). The step runs in its own mount
 * namespace where /usr/local/bin is a fresh tmpfs, with a PATH of that and the few tools it uses
 * (so `command -v etcdutl` finds nothing until the step has installed it).
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { EtcdVersion } from '../../src';
import { EtcdRestoreTool } from '../../src/etcd/restore-procedure';
import { etcdBinary } from '../support/tools';

let work: string;

beforeAll(() => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'etcd-tools-'));
});
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

/** A release tarball of `version`'s layout holding that version's real etcdutl and etcdctl, and `extra` scripts (which replace them). */
function releaseTarball(version: string, extra: Record<string, string> = {}): string {
  const dir = `etcd-v${version}-linux-amd64`;
  const stage = fs.mkdtempSync(path.join(work, 'stage-'));
  fs.mkdirSync(path.join(stage, dir));
  for (const tool of ['etcdutl', 'etcdctl']) {
    fs.copyFileSync(etcdBinary(tool as 'etcdutl' | 'etcdctl', version), path.join(stage, dir, tool));
    fs.chmodSync(path.join(stage, dir, tool), 0o755);
  }
  fs.writeFileSync(path.join(stage, dir, 'README.md'), 'etcd release\n');
  for (const [name, body] of Object.entries(extra)) fs.writeFileSync(path.join(stage, dir, name), body, { mode: 0o755 });
  const tarball = path.join(work, `${dir}-${path.basename(stage)}.tar.gz`);
  const r = spawnSync('tar', ['-czf', tarball, '-C', stage, dir]);
  expect(r.status).toBe(0);
  return tarball;
}

interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  /** What /usr/local/bin holds afterwards. */
  readonly installed: string[];
  readonly curlCalls: string[];
}

/** Runs the lines as the runbook's block does (a strict subshell) on a node without etcd tools. */
function runOnBareNode(lines: string[], tarballs: Record<string, string>, snapshotVersion = '3.5.30'): Run {
  const bin = fs.mkdtempSync(path.join(work, 'bin-'));
  fs.writeFileSync(VERSION_FILE(), `${snapshotVersion}\n`);
  const log = path.join(bin, 'curl.log');
  const cases = Object.entries(tarballs).map(([url, file]) => `  ${JSON.stringify(url)}) exec cat ${JSON.stringify(file)} ;;`).join('\n');
  fs.writeFileSync(path.join(bin, 'curl'), [
    '#!/bin/bash',
    '# curl for the test: serves the release tarballs it was given, 404 for any other URL.',
    'set -euo pipefail',
    '[ "$1" = -fsSL ] || { echo "curl (test): expected -fsSL first, got $1" >&2; exit 2; }',
    `printf '%s\\n' "$2" >> ${JSON.stringify(log)}`,
    'case "$2" in',
    cases,
    '  *) echo "curl: (22) The requested URL returned error: 404" >&2; exit 22 ;;',
    'esac',
    '',
  ].join('\n'), { mode: 0o755 });
  fs.writeFileSync(path.join(bin, 'sudo'), '#!/bin/bash\nexec "$@"\n', { mode: 0o755 });
  // What the step uses besides them; the rest of /usr/bin (with Debian's etcdctl) is not on PATH.
  for (const tool of ['tar', 'gzip', 'grep', 'cat', 'head', 'cut', 'tr']) fs.symlinkSync(`/usr/bin/${tool}`, path.join(bin, tool));
  const installed = path.join(work, `installed-${path.basename(bin)}`);
  const block = path.join(bin, 'block.sh');
  fs.writeFileSync(block, ['(', 'set -euo pipefail', ...lines, ')', ''].join('\n'));
  const wrapper = [
    'set -eu',
    'mount -t tmpfs tools /usr/local/bin',
    `PATH=${bin}:/usr/local/bin /bin/bash ${JSON.stringify(block)} && rc=0 || rc=$?`,
    `ls /usr/local/bin > ${JSON.stringify(installed)}`,
    'exit $rc',
  ].join('\n');
  const r = spawnSync('unshare', ['--mount', '--propagation', 'private', 'bash', '-c', wrapper], { encoding: 'utf8', timeout: 60_000 });
  return {
    code: r.status,
    stdout: r.stdout,
    stderr: r.stderr,
    installed: fs.existsSync(installed) ? fs.readFileSync(installed, 'utf8').split('\n').filter(Boolean) : [],
    curlCalls: fs.existsSync(log) ? fs.readFileSync(log, 'utf8').split('\n').filter(Boolean) : [],
  };
}

const releaseUrl = (v: string) => `https://github.com/etcd-io/etcd/releases/download/v${v}/etcd-v${v}-linux-amd64.tar.gz`;
const VERSION_FILE = () => path.join(work, 'etcd-snapshot.etcd-version');
const install = (cluster = '3.5.30') => new EtcdRestoreTool(EtcdVersion.of(cluster)).installLines(VERSION_FILE());

describe('the runbook installs the etcd tools of the snapshot\'s version where a node has none', () => {
  test('GIVEN a snapshot of etcd 3.5.30 and a node without tools WHEN the step runs THEN etcdutl and etcdctl 3.5.30 from the release tarball are in /usr/local/bin, and only they', () => {
    const r = runOnBareNode(install(), { [releaseUrl('3.5.30')]: releaseTarball('3.5.30') });
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: '' });
    expect(r.curlCalls).toEqual([releaseUrl('3.5.30')]);
    // --strip-components=1 and the member list: the binaries land in /usr/local/bin, the README does not.
    expect(r.installed.sort()).toEqual(['etcdctl', 'etcdutl']);
  });

  test('GIVEN the snapshot\'s version, not the cluster\'s WHEN they differ THEN the tools are the snapshot\'s (3.5.16 here, on a cluster configured 3.5.30)', () => {
    const r = runOnBareNode(install('3.5.30'), { [releaseUrl('3.5.16')]: releaseTarball('3.5.16') }, '3.5.16');
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: '' });
    expect(r.curlCalls).toEqual([releaseUrl('3.5.16')]);
  });

  test('GIVEN a node that has tools of the snapshot\'s minor already WHEN the step runs THEN it downloads nothing', () => {
    // The node got etcd 3.5.16's tools some other way (a package, an earlier restore) before the step.
    const withTool = [`tar -xzf ${releaseTarball('3.5.16')} -C /usr/local/bin --strip-components=1 etcd-v3.5.16-linux-amd64/etcdutl etcd-v3.5.16-linux-amd64/etcdctl`, ...install()];
    const r = runOnBareNode(withTool, {});
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: '' });
    expect(r.curlCalls).toEqual([]);
  });

  test('GIVEN a release that holds tools of another minor WHEN the step runs THEN it fails, naming the version to use', () => {
    const etcdutl = '#!/bin/sh\necho "etcdutl version: 3.4.99"\n';
    const r = runOnBareNode(install(), { [releaseUrl('3.5.30')]: releaseTarball('3.5.30', { etcdutl }) });
    expect(r.code).not.toBe(0);
    expect(r.curlCalls).toEqual([releaseUrl('3.5.30')]);
    expect(r.installed.sort()).toEqual(['etcdctl', 'etcdutl']);
    expect(r.stderr).toContain('etcdutl is not etcd 3.5: the snapshot was taken by etcd 3.5.30; put its etcdutl first on PATH');
  });

  test('GIVEN a version with no release asset WHEN the step runs THEN curl\'s failure fails the step (pipefail), nothing is installed', () => {
    const r = runOnBareNode(install(), {});
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('404');
    expect(r.installed).toEqual([]);
  });
});

describe('the workstation reads the snapshot\'s etcd version and refuses a newer minor than the cluster\'s', () => {
  /** The lines, with `restic snapshots ... --json` standing in as a command printing `json`. */
  function run(cluster: string, json: string): { code: number | null; stdout: string; stderr: string; version?: string } {
    const file = path.join(work, `version-${Math.random().toString(36).slice(2)}`);
    const list = `printf '%s\\n' ${JSON.stringify(json).replace(/\$/g, '\\$')}`;
    const lines = new EtcdRestoreTool(EtcdVersion.of(cluster)).snapshotVersionLines(list, file);
    const r = spawnSync('/bin/bash', ['-c', ['(', 'set -euo pipefail', ...lines, ')'].join('\n')], { encoding: 'utf8', env: { PATH: '/usr/bin:/bin' } });
    return { code: r.status, stdout: r.stdout, stderr: r.stderr, version: fs.existsSync(file) ? fs.readFileSync(file, 'utf8').trim() : undefined };
  }
  const snapshots = (...tags: string[]) => JSON.stringify([{ time: '2026-12-06T00:00:00Z', tags: ['etcd-snapshot', ...tags], id: 'ab12' }]);

  test('the tag\'s version is written for the nodes; an older minor than the cluster\'s is restored with its own tools', () => {
    expect(run('3.6.11', snapshots('etcd-revision=5', 'etcd-version=3.6.12'))).toMatchObject({ code: 0, version: '3.6.12' });
    expect(run('3.6.11', snapshots('etcd-version=3.5.24'))).toMatchObject({ code: 0, version: '3.5.24' });
  });

  test('a snapshot of a newer minor is refused with what to do', () => {
    const r = run('3.6.11', snapshots('etcd-version=3.7.1'));
    expect(r.code).toBe(1);
    expect(r.version).toBeUndefined();
    expect(r.stderr).toContain('the snapshot was taken by etcd 3.7.1, a newer minor than the cluster\'s etcd 3.6.11 (etcdVersion)');
    expect(r.stderr).toContain('Run the control plane\'s etcd at 3.7.1 (image registry.k8s.io/etcd:3.7.1-0) before restoring');
  });

  test('a snapshot from before the tag was recorded is restored with the cluster\'s version, said so', () => {
    const r = run('3.6.11', snapshots('etcd-revision=5'));
    expect(r).toMatchObject({ code: 0, version: '3.6.11' });
    expect(r.stdout).toContain('the snapshot has no etcd-version tag');
  });
});
