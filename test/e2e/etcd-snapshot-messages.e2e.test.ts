/**
 * assets/etcd-snapshot.sh's messages when `etcdctl snapshot save` fails, run by busybox ash (the
 * restic image's shell) with the etcd tools found through ETCD_TOOLS_DIR, as from the mounted
 * etcd image. The etcdctl there is a stand-in that answers the status and count questions as
 * etcd 3.5/3.6 do (their JSON) and fails the save the way a full disk or a slow etcd makes it
 * fail: what the job says must point at the cause.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

const SCRIPT = path.join(__dirname, '..', '..', 'assets', 'etcd-snapshot.sh');

let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'etcd-snapshot-messages-'));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function run(saveFailure: string): { code: number | null; stdout: string; stderr: string } {
  const work = fs.mkdtempSync(path.join(dir, 'run-'));
  const tools = path.join(work, 'etcd-image', 'usr', 'local', 'bin');
  fs.mkdirSync(tools, { recursive: true });
  fs.writeFileSync(path.join(tools, 'etcdctl'), [
    '#!/bin/sh',
    'case "$1 $2" in',
    '  "endpoint status") echo \'[{"Endpoint":"https://127.0.0.1:2379","Status":{"header":{"revision":41},"version":"3.6.11","dbSize":2097152}}]\' ;;',
    '  "get ") echo \'{"header":{"cluster_id":1,"member_id":2,"revision":41,"raft_term":3},"kvs":[{"key":"L3JlZ2lzdHJ5"}],"more":true,"count":7}\' ;;',
    `  "snapshot save") echo ${JSON.stringify(saveFailure)} >&2; exit 1 ;;`,
    '  *) exit 2 ;;',
    'esac',
    '',
  ].join('\n'), { mode: 0o755 });
  const env = {
    PATH: '/usr/bin:/bin',
    ETCD_TOOLS_DIR: tools,
    ETCDCTL_ENDPOINTS: 'https://127.0.0.1:2379',
    SNAPSHOT_FILE: path.join(work, 'backup', 'etcd-snapshot.db'),
    SNAPSHOT_META: path.join(work, 'backup', 'etcd-snapshot.env'),
    ETCD_REACH_TIMEOUT: '5s',
    ETCD_SNAPSHOT_TIMEOUT: '600s',
  };
  fs.mkdirSync(path.join(work, 'backup'));
  const r = spawnSync('busybox', ['sh', SCRIPT], { env, encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('GIVEN a full disk under /backup WHEN the save fails THEN the job says so, not "raise snapshotTimeout"', () => {
  const r = run('Error: write /backup/etcd-snapshot.db.part: no space left on device');
  expect(r.code).toBe(1);
  expect(r.stdout).toContain('snapshot: etcd 3.6.11 at https://127.0.0.1:2379 answers, database 2 MiB, 7 keys at revision 41');
  expect(r.stderr).toContain('no space left on the disk under');
  expect(r.stderr).toContain('Free space on this node');
  expect(r.stderr).not.toContain('snapshotTimeout');
});

test('GIVEN a save that runs out of time WHEN it fails THEN the job names snapshotTimeout', () => {
  const r = run('Error: context deadline exceeded');
  expect(r.code).toBe(1);
  expect(r.stderr).toContain('"context deadline exceeded" means it did not finish within 600s');
  expect(r.stderr).toContain('raise the job\'s snapshotTimeout');
});
