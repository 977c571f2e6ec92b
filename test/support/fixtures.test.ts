/**
 * Proves the end-to-end fixtures work, without any of our constructs:
 * etcd (TLS client certs) → snapshot → restic into s3rver over HTTPS →
 * restic restore → a second etcd restored from the file has the same keys,
 * and stopping leaves no process behind.
 */
import { spawn } from 'child_process';
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { EtcdServer, restoreAndStart, snapshotStatus, startEtcd, valueFor } from './etcd';
import { makeEtcdPki } from './pki';
import { cleanEnv, freePort, isAlive, processGroupMembers, runningProcesses, startProcess, stopAll, waitFor } from './processes';
import { ResticRepo } from './restic';
import { S3Server, startS3 } from './s3';

const timings: Record<string, number> = {};
async function timed<T>(label: string, fn: () => T | Promise<T>): Promise<T> {
  const t0 = Date.now();
  try {
    return await fn();
  } finally {
    timings[label] = Date.now() - t0;
  }
}

function sha256(file: string): string {
  return crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex');
}

let work: string;

beforeAll(() => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'fixtures-test-'));
});

afterAll(async () => {
  await stopAll();
  fs.rmSync(work, { recursive: true, force: true });
  // One line for whoever tunes these fixtures.
  console.log(`fixture timings (ms): ${JSON.stringify(timings)}`);
});

describe('processes', () => {
  test('freePort never hands out the same port twice', async () => {
    const ports = await Promise.all(Array.from({ length: 20 }, () => freePort()));
    expect(new Set(ports).size).toBe(20);
    for (const port of ports) {
      expect(port).toBeGreaterThan(0);
    }
  });

  test('waitFor returns the first truthy value and reports the last error on timeout', async () => {
    let n = 0;
    await expect(waitFor(() => ++n >= 3 && n, 1000, { intervalMs: 1 })).resolves.toBe(3);
    await expect(waitFor(() => {
      throw new Error('not yet');
    }, 100, { intervalMs: 10, description: 'nothing' })).rejects.toThrow(/timed out after 100 ms waiting for nothing: not yet/);
    await expect(waitFor(() => false, 1000, { abort: () => 'gave up' })).rejects.toThrow(/aborted: gave up/);
  });

  test('stop() kills the whole process group, escalating to SIGKILL when SIGTERM is ignored', async () => {
    // GIVEN a shell that ignores SIGTERM and has a child (which inherits the ignored signal)
    const proc = startProcess({
      name: 'stubborn',
      command: '/bin/sh',
      args: ['-c', 'trap "" TERM; sleep 300 & echo ready; wait'],
    });
    await waitFor(() => proc.output().includes('ready'), 5000, { description: 'stubborn shell' });
    const members = proc.groupMembers();
    expect(members.length).toBe(2);
    expect(proc.output()).toBe('ready\n');

    // WHEN
    const t0 = Date.now();
    await timed('stop (SIGTERM ignored)', () => proc.stop());

    // THEN every member is gone, after the 2 s grace period
    expect(Date.now() - t0).toBeGreaterThanOrEqual(1900);
    expect(members.filter(isAlive)).toEqual([]);
    expect(processGroupMembers(proc.pid)).toEqual([]);
    expect(proc.exited).toEqual({ code: null, signal: 'SIGKILL' });
    expect(runningProcesses()).not.toContain(proc);
  });

  test('processes a test forgets die with the Node process, even on SIGKILL', async () => {
    // GIVEN Node processes that start two sleeps each and then exit normally / are SIGKILLed
    const script = [
      `const p = require(${JSON.stringify(path.join(__dirname, 'processes'))});`,
      // explicit log files: a SIGKILLed process cannot remove its default log dir
      'const log = (n) => require("path").join(process.argv[2], process.argv[1] + "-" + n + ".log");',
      'const a = p.startProcess({ name: "a", command: "/bin/sleep", args: ["300"], logFile: log("a") });',
      'const b = p.startProcess({ name: "b", command: "/bin/sleep", args: ["300"], logFile: log("b") });',
      'console.log(JSON.stringify([a.pid, b.pid]));',
      'setTimeout(() => process.argv[1] === "kill" ? process.kill(process.pid, "SIGKILL") : process.exit(3), 100);',
    ].join('\n');
    const run = (mode: string) => new Promise<{ pids: number[]; code: number | null; signal: string | null }>((resolve, reject) => {
      const child = spawn(process.execPath, ['-r', require.resolve('ts-node/register/transpile-only'), '-e', script, mode, work], {
        cwd: path.join(__dirname, '..', '..'),
        env: cleanEnv({ TS_NODE_PROJECT: path.join(__dirname, '..', 'tsconfig.json') }),
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      let out = '';
      child.stdout.on('data', (b: Buffer) => (out += b.toString()));
      child.on('error', reject);
      child.on('close', (code, signal) => resolve({ pids: JSON.parse(out.trim() || '[]'), code, signal }));
    });

    // WHEN
    const [exited, killed] = await Promise.all([run('exit'), run('kill')]);

    // THEN the exit handler kills them at once, the reaper within its 2 s grace period
    expect(exited.code).toBe(3);
    expect(exited.pids).toHaveLength(2);
    expect(exited.pids.filter(isAlive)).toEqual([]);
    expect(killed.signal).toBe('SIGKILL');
    expect(killed.pids).toHaveLength(2);
    await waitFor(() => killed.pids.filter(isAlive).length === 0, 5000, { description: 'the reaper to kill orphans' });
  });

  test('children get an explicit environment, not process.env', async () => {
    const proc = startProcess({ name: 'env', command: '/usr/bin/env', args: [] });
    await proc.waitForExit();
    const lines = proc.output().trim().split('\n').sort();
    expect(lines).toEqual(['LANG=C.UTF-8', 'PATH=/usr/local/bin:/usr/bin:/bin', 'TZ=UTC']);
    await proc.stop();
  });
});

describe('etcd → snapshot → restic on s3rver (HTTPS) → restore → second etcd', () => {
  test('a restored snapshot serves the same 2000 keys, and stop() leaves nothing behind', async () => {
    // GIVEN a kubeadm-like PKI and an etcd with TLS client-cert auth
    const pkiDir = path.join(work, 'pki', 'etcd');
    const pki = await timed('pki', () => makeEtcdPki(pkiDir));
    expect(fs.statSync(pki.clientKey).mode.toString(8).slice(-3)).toBe('600');

    const etcd: EtcdServer = await timed('etcd start', () => startEtcd({ pkiDir }));
    expect(etcd.endpoint).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    expect(etcd.env()).toEqual({
      ETCDCTL_ENDPOINTS: etcd.endpoint,
      ETCDCTL_CACERT: pki.caCert,
      ETCDCTL_CERT: pki.clientCert,
      ETCDCTL_KEY: pki.clientKey,
    });

    const loaded = await timed('load 2000 keys', () => etcd.loadKeys(2000));
    const original = etcd.dump();
    expect(original.size).toBe(2000);
    expect(original.get(loaded.keys[1234])).toBe(valueFor(loaded.keys[1234]));
    expect(etcd.keyCount('/fixtures/')).toBe(2000);

    const snapshotFile = path.join(work, 'backup', 'etcd-snapshot.db');
    await timed('snapshot save', () => etcd.snapshotSave(snapshotFile));
    expect(snapshotStatus(snapshotFile).revision).toBe(etcd.revision());

    // WHEN the snapshot goes into a restic repository on s3rver over HTTPS
    const s3: S3Server = await timed('s3rver start', () => startS3({ bucket: 'backups', pkiDir: path.join(work, 'pki', 's3') }));
    expect(s3.endpoint).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    const repo = new ResticRepo({
      repository: s3.resticRepository('prefix/etcd'),
      password: 'correct horse battery staple',
      s3,
      tmpDir: path.join(work, 'restic-tmp'),
    });
    expect(repo.options.repository).toBe(`s3:${s3.endpoint}/backups/prefix/etcd`);
    await timed('restic init', () => repo.init());
    await timed('restic backup', () => repo.ok(['backup', snapshotFile, '--host', 'test', '--tag', 'etcd']));

    const snaps = repo.snapshots(['--host', 'test', '--tag', 'etcd']);
    expect(snaps).toHaveLength(1);
    expect(snaps[0]).toMatchObject({ hostname: 'test', tags: ['etcd'], paths: [snapshotFile] });
    const keys = s3.listObjects('prefix/etcd/').map((o) => o.key);
    expect(keys).toContain('prefix/etcd/config');
    expect(keys.some((k) => k.startsWith('prefix/etcd/data/'))).toBe(true);
    expect(keys.filter((k) => k.startsWith('prefix/etcd/snapshots/'))).toEqual([`prefix/etcd/snapshots/${snaps[0].id}`]);

    // THEN restic restores the exact file ...
    const target = path.join(work, 'restored');
    await timed('restic restore', () => repo.ok(['restore', 'latest', '--host', 'test', '--tag', 'etcd', '--target', target]));
    const restoredFile = path.join(target, snapshotFile);
    expect(sha256(restoredFile)).toBe(sha256(snapshotFile));

    // ... and a second etcd restored from it serves the same keys and values
    const second = await timed('etcd restore+start', () => restoreAndStart({ snapshotFile: restoredFile, pkiDir }));
    timings['etcdutl snapshot restore'] = second.restoreMs ?? -1;
    expect(second.endpoint).not.toBe(etcd.endpoint);
    expect(second.dump()).toEqual(original);

    // AND stop() leaves no process behind
    const pids = [etcd.pid, second.pid, s3.pid];
    expect(pids.every(isAlive)).toBe(true);
    await timed('stop all', () => Promise.all([etcd.stop(), second.stop(), s3.stop()]));
    expect(pids.filter(isAlive)).toEqual([]);
    expect(pids.flatMap(processGroupMembers)).toEqual([]);
    expect(runningProcesses()).toEqual([]);
    expect(fs.existsSync(second.dataDir)).toBe(false);
  });

  test('10k keys load in a few seconds', async () => {
    const pkiDir = path.join(work, 'pki', 'etcd');
    if (!fs.existsSync(path.join(pkiDir, 'ca.crt'))) {
      makeEtcdPki(pkiDir);
    }
    const etcd = await startEtcd({ pkiDir });
    try {
      const loaded = await timed('load 10k keys', () => etcd.loadKeys(10_000, { prefix: '/big/' }));
      expect(etcd.keyCount('/big/')).toBe(10_000);
      expect(loaded.durationMs).toBeLessThan(15_000);
    } finally {
      await etcd.stop();
    }
    expect(isAlive(etcd.pid)).toBe(false);
  });
});
