/**
 * Proves the REST server harness (rest-server.ts) with the real restic 0.18.0: two instances
 * serve one data directory, an append-only one for the writer and a full one for the maintainer,
 * each with its own password for the same user (private repositories). Through the append-only
 * URL restic inits, backs up, lists and unlocks (a killed backup's stale lock), but
 * `restic forget <id>` is refused with the snapshot still there, and so is `forget --prune`;
 * through the full URL (credentials from RESTIC_REST_USERNAME / RESTIC_REST_PASSWORD) the
 * maintainer forgets and prunes. A wrong password, the other instance's password and another
 * user's repository are refused. The measured facts are printed in one line at the end.
 */
import { spawn } from 'child_process';
import * as fs from 'fs';
import * as http from 'http';
import * as os from 'os';
import * as path from 'path';
import { runningProcesses, waitFor } from './processes';
import { RestServer, startRestServer } from './rest-server';
import { RESTIC_BIN, ResticOptions, ResticRepo, resticEnv, resticGlobalArgs } from './restic';

const PASSWORD = 'rest-test-repository-password';
const USER = 'team';
const WRITER_PASSWORD = 'writer-secret';
const MAINTAINER_PASSWORD = 'maintainer-secret';
const REPO = `${USER}/etcd`;

const facts: Record<string, unknown> = {};
let work: string;
let dataDir: string;
let source: string;
let writerServer: RestServer;
let maintainerServer: RestServer;

function repo(repository: string, env: Record<string, string> = {}): ResticRepo {
  return new ResticRepo({ repository, password: PASSWORD, tmpDir: path.join(work, 'tmp'), env, timeoutMs: 60_000 });
}

function why(stderr: string): string {
  return stderr.split('\n').filter((l) => l.trim() !== '').slice(-3).join(' | ');
}

/** The HTTP status of GET `url` with basic auth. */
function getStatus(url: string, user: string, password: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { auth: `${user}:${password}`, timeout: 5000 }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
  });
}

function filesIn(dir: string): string[] {
  return fs.existsSync(dir) ? fs.readdirSync(dir).sort() : [];
}

beforeAll(async () => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'rest-server-test-'));
  dataDir = path.join(work, 'data');
  source = path.join(work, 'source');
  fs.mkdirSync(source);
  fs.writeFileSync(path.join(source, 'a.txt'), 'first\n');
  [writerServer, maintainerServer] = await Promise.all([
    startRestServer({ dataDir, appendOnly: true, privateRepos: true, users: { [USER]: WRITER_PASSWORD } }),
    startRestServer({ dataDir, appendOnly: false, privateRepos: true, users: { [USER]: MAINTAINER_PASSWORD } }),
  ]);
  facts.startMs = [writerServer.startMs, maintainerServer.startMs];
});

afterAll(async () => {
  await writerServer?.stop();
  await maintainerServer?.stop();
  fs.rmSync(work, { recursive: true, force: true });
  console.log(`rest-server facts: ${JSON.stringify(facts)}`);
});

test('the append-only writer backs up and unlocks, but cannot forget or prune', async () => {
  const writer = repo(writerServer.resticRepository(REPO, { name: USER, password: WRITER_PASSWORD }));
  facts.writerInitMs = writer.ok(['init']).durationMs;
  facts.writerBackupMs = writer.ok(['backup', '--host', 'h', source]).durationMs;
  fs.writeFileSync(path.join(source, 'b.txt'), 'second\n');
  writer.ok(['backup', '--host', 'h', source]);
  const before = writer.snapshots();
  expect(before).toHaveLength(2);
  const snapshotFiles = path.join(dataDir, REPO, 'snapshots');
  expect(filesIn(snapshotFiles)).toEqual(before.map((s) => s.id).sort());

  // A backup killed while it holds its lock leaves a stale lock; append-only still deletes locks.
  const locks = path.join(dataDir, REPO, 'locks');
  await killedBackupLeavesLock(writer.options, locks);
  expect(filesIn(locks).length).toBeGreaterThan(0);
  writer.ok(['unlock', '--remove-all']);
  expect(filesIn(locks)).toEqual([]);

  const forget = writer.run(['forget', before[0].id]);
  facts.writerForget = { status: forget.status, ms: forget.durationMs, stderr: why(forget.stderr) };
  // As on S3: restic 0.18.0 reports the refused delete and exits 0 (cmd/restic/cmd_forget.go 310-316).
  expect(forget.status).toBe(0);
  expect(forget.stderr).toContain(`unable to remove snapshot/${before[0].id} from the repository`);
  expect(forget.durationMs).toBeLessThan(15_000);
  expect(writer.snapshots().map((s) => s.id)).toEqual(before.map((s) => s.id));
  expect(filesIn(snapshotFiles)).toEqual(before.map((s) => s.id).sort());

  const prune = writer.run(['forget', '--prune', '--keep-last', '1']);
  facts.writerForgetPrune = { status: prune.status, ms: prune.durationMs, stderr: why(prune.stderr) };
  expect(prune.status).toBe(1);
  expect(prune.stderr).toContain('Fatal:');
  expect(writer.snapshots()).toHaveLength(2);
  expect(filesIn(locks)).toEqual([]);
  facts.writerCheckAfterRefusedPrune = writer.run(['check']).status;
  expect(facts.writerCheckAfterRefusedPrune).toBe(0);
});

test('the full instance on the same data dir lets the maintainer forget and prune (credentials from the environment)', () => {
  const maintainer = repo(maintainerServer.resticRepository(REPO),
    { RESTIC_REST_USERNAME: USER, RESTIC_REST_PASSWORD: MAINTAINER_PASSWORD });
  const before = maintainer.snapshots();
  expect(before).toHaveLength(2);
  const kept = maintainer.run(['forget', '--prune', '--keep-last', '1']);
  facts.maintainerForgetPrune = { status: kept.status, ms: kept.durationMs };
  expect(kept.status).toBe(0);
  const after = maintainer.snapshots();
  expect(after).toHaveLength(1);
  expect(filesIn(path.join(dataDir, REPO, 'snapshots'))).toEqual(after.map((s) => s.id));
  maintainer.ok(['check']);
  // The writer sees the same repository.
  const writer = repo(writerServer.resticRepository(REPO, { name: USER, password: WRITER_PASSWORD }));
  expect(writer.snapshots().map((s) => s.id)).toEqual(after.map((s) => s.id));
});

test('each instance takes only its own password, and a user only its own repositories', async () => {
  const config = (server: RestServer, repoPath = REPO) => `${server.url}/${repoPath}/config`;
  expect(await getStatus(config(writerServer), USER, WRITER_PASSWORD)).toBe(200);
  expect(await getStatus(config(maintainerServer), USER, MAINTAINER_PASSWORD)).toBe(200);
  const refused = {
    wrongPassword: await getStatus(config(writerServer), USER, 'wrong'),
    maintainerPasswordOnWriter: await getStatus(config(writerServer), USER, MAINTAINER_PASSWORD),
    writerPasswordOnMaintainer: await getStatus(config(maintainerServer), USER, WRITER_PASSWORD),
    otherUsersRepo: await getStatus(config(maintainerServer, 'other/etcd'), USER, MAINTAINER_PASSWORD),
  };
  facts.refusedHttpStatus = refused;
  expect(refused).toEqual({ wrongPassword: 401, maintainerPasswordOnWriter: 401, writerPasswordOnMaintainer: 401, otherUsersRepo: 401 });
});

test('stop() leaves no rest-server process behind', async () => {
  const pids = [writerServer.process.pid, maintainerServer.process.pid];
  await writerServer.stop();
  await maintainerServer.stop();
  expect(writerServer.process.groupMembers()).toEqual([]);
  expect(maintainerServer.process.groupMembers()).toEqual([]);
  const running = runningProcesses().map((p) => p.pid);
  expect(running).not.toContain(pids[0]);
  expect(running).not.toContain(pids[1]);
  expect(fs.existsSync(path.join(dataDir, REPO, 'config'))).toBe(true);
});

/**
 * Starts `restic backup --stdin` with a stdin that never ends, waits until its lock file is in
 * `locksDir` and kills it (SIGKILL): the lock stays.
 */
async function killedBackupLeavesLock(options: ResticOptions, locksDir: string): Promise<void> {
  const child = spawn(RESTIC_BIN, [...resticGlobalArgs(options), 'backup', '--host', 'h', '--stdin', '--stdin-filename', 'endless'], {
    env: resticEnv(options),
    stdio: ['pipe', 'ignore', 'ignore'],
  });
  try {
    child.stdin.write('data that never ends\n');
    await waitFor(() => filesIn(locksDir).length > 0, 15_000, { description: 'the backup\'s lock', intervalMs: 50 });
  } finally {
    child.kill('SIGKILL');
    await new Promise((resolve) => child.exitCode !== null || child.signalCode !== null ? resolve(undefined) : child.once('exit', resolve));
  }
}
