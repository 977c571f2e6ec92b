/**
 * The runbook's "etcd tools, unless the node has them" step, run as written on a node that has
 * no etcdctl: it downloads etcd's release tarball of the cluster's version and unpacks the tools
 * into /usr/local/bin, then checks that each is that version.
 *
 * The machine has no route to GitHub: `curl` is a shim that serves, for exactly the release URL
 * (https://github.com/etcd-io/etcd/releases/download/v<version>/etcd-v<version>-linux-amd64.tar.gz,
 * the layout of etcd's release assets), a tarball of that layout holding that version's real etcd,
 * etcdctl and etcdutl (Debian's, from test/support/tools.ts). The step runs in its own mount namespace where /usr/local/bin is a fresh tmpfs,
 * with a PATH of that and the few tools it uses (so `command -v etcdctl` finds nothing until the
 * step has installed it).
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { EtcdRestoreTool } from '../../src/etcd/restore-procedure';
import { etcdBinary } from '../support/tools';

let work: string;

beforeAll(() => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'etcd-tools-'));
});
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

/**
 * A release tarball of `version`'s layout holding that version's real etcd, etcdctl and etcdutl,
 * with `extra` scripts in place of (or beside) them.
 */
function releaseTarball(version: string, extra: Record<string, string> = {}): string {
  const dir = `etcd-v${version}-linux-amd64`;
  const stage = fs.mkdtempSync(path.join(work, 'stage-'));
  fs.mkdirSync(path.join(stage, dir));
  for (const tool of ['etcd', 'etcdctl', 'etcdutl'] as const) {
    if (!(tool in extra)) fs.symlinkSync(etcdBinary(tool, version), path.join(stage, dir, tool));
  }
  fs.writeFileSync(path.join(stage, dir, 'README.md'), 'etcd release\n');
  for (const [name, body] of Object.entries(extra)) fs.writeFileSync(path.join(stage, dir, name), body, { mode: 0o755 });
  const tarball = path.join(work, `${dir}-${path.basename(stage)}.tar.gz`);
  // -h: the binaries, not the links; gzip -1: ~65 MB of binaries, packed once per test.
  const r = spawnSync('bash', ['-o', 'pipefail', '-c', 'tar -chf - -C "$1" "$2" | gzip -1 > "$3"', 'pack', stage, dir, tarball]);
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
function runOnBareNode(lines: string[], tarballs: Record<string, string>): Run {
  const bin = fs.mkdtempSync(path.join(work, 'bin-'));
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
  // What the step uses besides them; the rest of /usr/bin is not on PATH (the host has no etcd tools there anyway).
  for (const tool of ['tar', 'gzip', 'grep', 'cat']) fs.symlinkSync(`/usr/bin/${tool}`, path.join(bin, tool));
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

describe('the runbook installs the etcd tools of the cluster\'s version where a node has none', () => {
  test('GIVEN etcd 3.5.16 and a node without etcd tools WHEN the step runs THEN etcdutl and etcdctl 3.5.16 from the release tarball are in /usr/local/bin, and only they', () => {
    const lines = EtcdRestoreTool.forVersion('etcdVersion', '3.5.16').installLines();
    const r = runOnBareNode(lines, { [releaseUrl('3.5.16')]: releaseTarball('3.5.16') });
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: '' });
    expect(r.curlCalls).toEqual([releaseUrl('3.5.16')]);
    // --strip-components=1 and the member list: the tools land in /usr/local/bin; etcd and the README do not.
    expect(r.installed.sort()).toEqual(['etcdctl', 'etcdutl']);
  });

  test('GIVEN etcd 3.5.30 and a node that has the tools already WHEN the step runs THEN it downloads nothing', () => {
    const lines = EtcdRestoreTool.forVersion('etcdVersion', '3.5.30').installLines();
    // The node got the 3.5.30 tools some other way (a package, an earlier restore) before the step.
    const dir = 'etcd-v3.5.30-linux-amd64';
    const withTools = [`tar -xzf ${releaseTarball('3.5.30')} -C /usr/local/bin --strip-components=1 ${dir}/etcdutl ${dir}/etcdctl`, ...lines];
    const r = runOnBareNode(withTools, {});
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: '' });
    expect(r.curlCalls).toEqual([]);
  });

  test('GIVEN etcd 3.5.16 WHEN the release holds tools of another version THEN the step fails, naming the version to use', () => {
    const lines = EtcdRestoreTool.forVersion('etcdVersion', '3.5.16').installLines();
    // The 3.5 layout (etcdutl beside etcdctl), but the etcdutl inside is not 3.5 (a wrong asset).
    const etcdutl = '#!/bin/sh\necho "etcdutl version: 3.4.99"\n';
    const r = runOnBareNode(lines, { [releaseUrl('3.5.16')]: releaseTarball('3.5.16', { etcdutl }) });
    expect(r.code).not.toBe(0);
    expect(r.curlCalls).toEqual([releaseUrl('3.5.16')]);
    expect(r.installed.sort()).toEqual(['etcdctl', 'etcdutl']);
    expect(r.stderr).toContain('etcdutl is not etcd 3.5: use the cluster\'s etcd version, 3.5.16');
  });

  test('GIVEN a version with no release asset WHEN the step runs THEN curl\'s failure fails the step (pipefail), nothing is installed', () => {
    const lines = EtcdRestoreTool.forVersion('etcdVersion', '3.5.16').installLines();
    const r = runOnBareNode(lines, {});
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('404');
    expect(r.installed).toEqual([]);
  });
});
