/**
 * assets/repository-maintenance.sh (the maintenance job of split roles), run by busybox ash (the
 * restic image's shell, busybox 1.37) with the image's restic (0.18.0) on local repositories:
 * what it removes (each job's retention per host and only within its tag, the delete probes but
 * the newest, the discarded snapshots and their markers), what it keeps (everything while the
 * key-drop guard suspects a data loss), and its summary line. The same script against S3 with the
 * rendered IAM policies and against an append-only REST server: delete-protection.e2e.test.ts.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

const SCRIPT = path.join(__dirname, '..', '..', 'assets', 'repository-maintenance.sh');

let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'maintenance-'));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

interface Repo { readonly url: string; readonly env: Record<string, string> }

function repository(name: string): Repo {
  const work = fs.mkdtempSync(path.join(dir, `${name}-`));
  const env = {
    PATH: '/usr/local/bin:/usr/bin:/bin',
    RESTIC_REPOSITORY: path.join(work, 'repo'),
    RESTIC_PASSWORD: 'pw',
    RESTIC_CACHE_DIR: path.join(work, 'cache'),
    TMPDIR: work,
  };
  expect(spawnSync('restic', ['init', '--quiet'], { env }).status).toBe(0);
  return { url: env.RESTIC_REPOSITORY, env };
}

/** Saves a snapshot of `content` and returns its id. */
function save(repo: Repo, content: string, host: string, tags: string[]): string {
  const r = spawnSync('restic', ['backup', '--json', '--stdin', '--stdin-filename', 'data', '--host', host, ...tags.flatMap((t) => ['--tag', t])],
    { env: repo.env, input: content, encoding: 'utf8' });
  expect(r.status).toBe(0);
  return JSON.parse(r.stdout.trim().split('\n').pop()!).snapshot_id;
}

function ids(repo: Repo, ...filter: string[]): string[] {
  const r = spawnSync('restic', ['snapshots', '--no-lock', '--json', ...filter], { env: repo.env, encoding: 'utf8' });
  expect(r.status).toBe(0);
  return (JSON.parse(r.stdout) as Array<{ id: string }>).map((s) => s.id);
}

function maintain(work: Repo, targets: string, extra: Record<string, string> = {}) {
  const file = path.join(work.env.TMPDIR, 'targets.txt');
  fs.writeFileSync(file, targets);
  const r = spawnSync('busybox', ['sh', SCRIPT], {
    env: { ...work.env, RESTIC_REPOSITORY: '', MAINTENANCE_TARGETS: file, CHECK_READ_DATA_SUBSET: '100%', ...extra },
    encoding: 'utf8',
  });
  const lines = r.stdout.trim().split('\n');
  return { status: r.status, stdout: r.stdout, stderr: r.stderr, summary: JSON.parse(lines[lines.length - 1]) };
}

describe('repository-maintenance.sh', () => {
  test('GIVEN two repositories WHEN maintained THEN each job\'s retention applies per host within its tag, probes shrink to the newest, discarded snapshots and their markers go, and the data is checked', () => {
    const etcd = repository('etcd');
    const config = repository('config');
    const e = [1, 2, 3].map((n) => save(etcd, `etcd ${n}`, 'prod', ['etcd-snapshot', `etcd-keys=${n}`]));
    const probes = [1, 2].map(() => save(etcd, 'cdk8s-backup delete probe\n', 'prod', ['delete-probe']));
    // An incomplete backup and the marker a writer without delete rights left for it.
    const incomplete = save(etcd, 'etcd partial', 'prod', ['etcd-snapshot']);
    const marker = save(etcd, `${incomplete}\n`, 'prod', ['discarded', `discarded-of=${incomplete}`]);
    const c1 = [1, 2].map((n) => save(config, `cp-1 ${n}`, 'cp-1', ['control-plane-config']));
    const c2 = [1, 2].map((n) => save(config, `cp-2 ${n}`, 'cp-2', ['control-plane-config']));
    // Another tag in the same repository is none of this retention's business.
    const other = save(config, 'other', 'cp-1', ['something-else']);

    const r = maintain(etcd, `${etcd.url} etcd-snapshot --keep-last 2\n${config.url} control-plane-config --keep-last 1\n`);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('maintenance: removed 2 discarded snapshot(s) and marker(s)');
    expect(ids(etcd, '--tag', 'etcd-snapshot').sort()).toEqual([e[1], e[2]].sort());
    expect(ids(etcd, '--tag', 'delete-probe')).toEqual([probes[1]]);
    expect(ids(etcd, '--tag', 'discarded')).toEqual([]);
    expect(ids(etcd)).not.toContain(marker);
    // Per host: each node keeps its newest.
    expect(ids(config, '--tag', 'control-plane-config').sort()).toEqual([c1[1], c2[1]].sort());
    expect(ids(config, '--tag', 'something-else')).toEqual([other]);
    expect(r.stdout).toMatch(/read all data|100\.00%/);
    expect(r.summary).toMatchObject({ kind: null, result: 'succeeded', failedStep: null, repositories: 2, discardedRemoved: 2 });
    expect([...r.summary.retentionRemoved].sort()).toEqual([e[0], c1[0], c2[0]].sort());
  });

  test('GIVEN the newest snapshot is a suspected data loss (count-drop) THEN nothing is forgotten until it is accepted', () => {
    const etcd = repository('drop');
    const good = [1, 2].map((n) => save(etcd, `good ${n}`, 'prod', ['etcd-snapshot', 'etcd-keys=1000']));
    const suspect = save(etcd, 'wiped', 'prod', ['etcd-snapshot', 'etcd-keys=3', 'count-drop']);
    const targets = `${etcd.url} etcd-snapshot --keep-last 1\n`;
    const held = maintain(etcd, targets);
    expect(held.status).toBe(0);
    expect(held.stderr).toContain('the newest snapshot is tagged count-drop (DATA LOSS SUSPECTED by the backup job): no retention');
    expect(ids(etcd).sort()).toEqual([...good, suspect].sort());
    expect(held.summary.retentionRemoved).toEqual([]);
    // Accepted (what the backup job's log tells the operator to run): the retention resumes.
    expect(spawnSync('restic', ['tag', '--remove', 'count-drop', suspect], { env: etcd.env }).status).toBe(0);
    const resumed = maintain(etcd, targets);
    expect(resumed.status).toBe(0);
    expect(ids(etcd, '--tag', 'etcd-snapshot')).toHaveLength(1);
  });

  test('GIVEN no repository to maintain THEN it fails naming the targets', () => {
    const etcd = repository('empty');
    const r = maintain(etcd, '# nothing\n');
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('names no repository');
    expect(r.summary).toMatchObject({ result: 'failed', failedStep: 'targets', repositories: 0 });
  });
});
