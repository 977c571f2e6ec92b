/**
 * End-to-end: the synthesized DatabaseDumpBackup pod, run unchanged by the pod runner (the official
 * postgres 18 / mariadb 11.8 images stood in for by root file systems of Debian's packages of those
 * versions, uid 999, read-only root, no capabilities), against real PostgreSQL (18, and 17 dumped by the
 * image's 18) and MariaDB 11.8 servers and s3rver over HTTPS with restic 0.18,
 * all on 127.0.0.1. What the CronJob uploads is restored with the literal commands of
 * `restoreSection()` (run by bash) into a fresh server, and every row compared. A server SIGKILLed in
 * the middle of a dump fails the job, removes the truncated snapshot and prunes nothing.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Testing } from 'cdk8s';
import { Database, DatabaseDrillOptions, DatabaseDumpBackup, Retention, BackupDefaults } from '../../src';
import { s3Repository, s3Secrets } from '../support/charts';
import { MARIADB_IMAGE_PROFILE, POSTGRES_IMAGE_MAJOR, POSTGRES_IMAGE_PROFILE, POSTGRES_OLDER_MAJOR, RESTIC_IMAGE_PROFILE } from '../support/images';
import { MariadbServer, mariadbBinDir, startMariadb, startMariadbLike } from '../support/mariadb';
import { PodResult, runPod } from '../support/pod-runner';
import { pgBinDir, startPostgres, startPostgresLike } from '../support/postgres';
import { cleanEnv } from '../support/processes';
import { ResticOptions, restic, snapshots } from '../support/restic';
import { S3Server, startS3 } from '../support/s3';
import { summaryOf } from '../support/summary';

const PASSWORD = 'correct horse battery staple';
const ROWS = 3000;

let work: string;
let s3: S3Server;
const started: Array<{ stop(): Promise<void> }> = [];

beforeAll(async () => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'db-dump-e2e-'));
  fs.chmodSync(work, 0o755);
  s3 = await startS3({ bucket: 'backups' });
  started.push(s3);
});

afterAll(async () => {
  for (const s of started.reverse()) await s.stop();
  fs.rmSync(work, { recursive: true, force: true });
});

async function track<T extends { stop(): Promise<void> }>(p: Promise<T>): Promise<T> {
  const s = await p;
  started.push(s);
  return s;
}

function synth(cluster: string, database: Database, retention?: Retention, drill?: DatabaseDrillOptions): {
  manifests: any[]; backup: DatabaseDumpBackup;
} {
  const chart = Testing.chart();
  const backup = new DatabaseDumpBackup(chart, 'db', {
    clusterName: cluster,
    repository: s3Repository(s3),
    database,
    retention,
    drill,
    // The test's S3 server is on 127.0.0.1 and its retentions are short by design.
    acknowledge: { inClusterRepository: true, shortRetention: true },
  });
  return { manifests: Testing.synth(chart), backup };
}

/** Runs the CronJob's pod with this test's Secrets (the database login in `db-login`). */
function runJob(manifests: any[], login: { user: string; password: string }, name?: string, repositoryPassword = PASSWORD): Promise<PodResult> {
  return runPod({
    manifests,
    name: name ?? manifests.find((m) => m.kind === 'CronJob').metadata.name,
    images: {
      [BackupDefaults.POSTGRES_IMAGE]: POSTGRES_IMAGE_PROFILE,
      [BackupDefaults.MARIADB_IMAGE]: MARIADB_IMAGE_PROFILE,
      [BackupDefaults.RESTIC_IMAGE]: RESTIC_IMAGE_PROFILE,
    },
    secrets: {
      ...s3Secrets(s3, repositoryPassword),
      'db-login': login,
    },
    timeoutMs: 60_000,
  });
}

function explain(result: PodResult): string {
  return result.containers.map((c) => `--- ${c.name} exit=${c.exitCode} ${c.reason ?? ''}\n${c.stdout}\n${c.stderr}`).join('\n');
}

function expectSucceeded(result: PodResult): void {
  if (!result.succeeded) throw new Error(`the pod failed: ${result.reason ?? ''}\n${explain(result)}`);
}

function repo(backup: DatabaseDumpBackup): ResticOptions {
  return { repository: backup.resticRepository, password: PASSWORD, s3, tmpDir: work };
}

const credentials = { password: { name: 'db-login', key: 'password' }, userSecret: { name: 'db-login', key: 'user' } };

/**
 * Runs the shell block of the backup's restore section literally with bash, as an operator who
 * exported the keys and the target server's login, in a directory holding the storage's ca.crt.
 */
function runRestoreSection(backup: DatabaseDumpBackup, target: { host: string; port: number; user: string; password: string }) {
  const section = backup.restoreSection();
  const block = /```sh\n([\s\S]*?)```/.exec(section)?.[1];
  if (!block) throw new Error(`no shell block in:\n${section}`);
  const dir = fs.mkdtempSync(path.join(work, 'operator-'));
  fs.copyFileSync(s3.caCertFile, path.join(dir, 'ca.crt'));
  const r = spawnSync('/bin/bash', ['-euc', block], {
    cwd: dir,
    env: cleanEnv({
      // the images' clients (the root's programs, images.ts rootProgram()) before the host's restic and bash
      PATH: `${pgBinDir()}:${mariadbBinDir()}:/usr/local/bin:/usr/bin:/bin`,
      HOME: dir,
      RESTIC_CACHE_DIR: path.join(dir, 'cache'),
      RESTIC_PASSWORD: PASSWORD,
      AWS_ACCESS_KEY_ID: s3.accessKeyId,
      AWS_SECRET_ACCESS_KEY: s3.secretAccessKey,
      TARGET_HOST: target.host,
      TARGET_PORT: String(target.port),
      TARGET_USER: target.user,
      TARGET_PASSWORD: target.password,
    }),
    timeout: 60_000,
    maxBuffer: 64 * 1024 * 1024,
  });
  if (r.status !== 0) throw new Error(`the restore section failed (${r.status ?? r.signal}):\n${block}\n${r.stderr}`);
  return r;
}

describe('PostgreSQL dump, end to end', () => {
  let pgManifests: any[];
  let pgBackup: DatabaseDumpBackup;
  let pgLogin: { user: string; password: string };
  let pgDumpBytes: number;

  test('pg_dump streams into restic; the restore section brings back every row', async () => {
    // GIVEN a server with a few thousand rows (NULLs, tabs, newlines, quotes, backslashes, non-ASCII)
    const source = await track(startPostgres({ name: 'pg-source' }));
    await source.loadRows('items', ROWS);
    const before = await source.dumpTable('items');
    const { manifests, backup } = synth('e2e-pg', Database.postgres({ host: source.host, port: source.port, database: 'app', credentials }),
      undefined, { requiredTable: 'items', minRows: ROWS });
    pgManifests = manifests;
    pgBackup = backup;
    pgLogin = { user: source.user!, password: source.password! };

    // WHEN the CronJob's pod runs, logging in as the database's owner from the Secret
    const result = await runJob(manifests, { user: source.user!, password: source.password! });
    result.cleanup();
    expectSucceeded(result);

    // THEN one snapshot of its own group holds the dump
    const snaps = snapshots(repo(backup));
    expect(snaps).toHaveLength(1);
    expect(snaps[0].hostname).toBe('e2e-pg');
    expect(snaps[0].tags).toEqual(['db-dump-e2e-pg-pg-app']);
    expect(snaps[0].paths).toEqual(['/app.sql']);
    const summary = summaryOf(result.containers.find((c) => c.name === 'dump'));
    expect(summary).toMatchObject({
      kind: 'database-dump',
      cluster: 'e2e-pg',
      job: backup.cronJob.name,
      host: 'e2e-pg',
      result: 'succeeded',
      failedStep: null,
      snapshotId: snaps[0].id,
      filesNew: 1,
      filesTotal: 1,
      retentionRemoved: [],
      metadata: null,
    });
    expect(summary.bytesAdded).toBeGreaterThan(0);
    expect(summary.bytesTotal).toBeGreaterThan(ROWS * 10);
    pgDumpBytes = summary.bytesTotal as number;

    // AND the runbook's commands restore it into a fresh server (the roles exist, the database not yet)
    const target = await track(startPostgresLike(source));
    await target.psql('DROP DATABASE app;', { user: target.superuser, db: 'postgres' });
    runRestoreSection(backup, { host: target.host, port: target.port, user: target.superuser, password: target.superuserPassword });
    expect(await target.rowCount('items')).toBe(ROWS);
    expect(await target.dumpTable('items')).toBe(before);
  });

  test('the drill restores the newest dump into a throwaway server in its pod; fails on a truncated dump and a wrong password', async () => {
    // GIVEN the backup of the previous test, WHEN its drill runs, THEN it passes
    const drill = pgBackup.drill!.cronJob.name;
    const ok = await runJob(pgManifests, pgLogin, drill);
    ok.cleanup();
    expectSucceeded(ok);
    expect(ok.containers.find((c) => c.name === 'drill')!.stdout).toContain(`drill: ok, app.items has ${ROWS} rows`);
    const [dumped] = snapshots(repo(pgBackup));
    expect(summaryOf(ok.containers.find((c) => c.name === 'drill'))).toMatchObject({
      kind: 'database-drill',
      cluster: 'e2e-pg',
      job: drill,
      result: 'succeeded',
      snapshotId: dumped.id,
      dumpBytes: pgDumpBytes,
      database: 'app',
      table: 'items',
      rows: ROWS,
      minRows: ROWS,
    });

    // a wrong repository password: the drill fails
    const wrong = await runJob(pgManifests, pgLogin, drill, 'not the password');
    wrong.cleanup();
    expect(wrong.succeeded).toBe(false);
    expect(wrong.containers.find((c) => c.name === 'drill')!.stderr).toMatch(/wrong password/);
    expect(summaryOf(wrong.containers.find((c) => c.name === 'drill'))).toMatchObject({ result: 'failed', failedStep: 'fetch', snapshotId: null, rows: null });

    // a truncated dump planted as the newest of the group: the drill fails
    const full = restic(['dump', '--no-lock', '--host', pgBackup.resticHost, '--tag', pgBackup.resticTag, 'latest', '/app.sql'], repo(pgBackup));
    expect(full.status).toBe(0);
    const truncated = full.stdout.slice(0, Math.floor(full.stdout.length / 2));
    expect(restic(['backup', '--stdin', '--stdin-filename', 'app.sql', '--host', pgBackup.resticHost, '--tag', pgBackup.resticTag], repo(pgBackup),
      truncated).status).toBe(0);
    const bad = await runJob(pgManifests, pgLogin, drill);
    bad.cleanup();
    expect(bad.succeeded).toBe(false);
    expect(bad.containers.find((c) => c.name === 'drill')!.stderr).toMatch(/does not end with "-- PostgreSQL database dump complete": it is incomplete/);
    // It names the snapshot it fetched: the planted one, the newest.
    const planted = snapshots(repo(pgBackup)).filter((x) => x.id !== dumped.id);
    expect(planted).toHaveLength(1);
    expect(summaryOf(bad.containers.find((c) => c.name === 'drill'))).toMatchObject({
      result: 'failed', failedStep: 'incomplete-dump', snapshotId: planted[0].id, dumpBytes: Buffer.byteLength(truncated), rows: null,
    });
  });

  test('pg_dumpall of a whole PostgreSQL 17 server (roles too) by the image\'s pg_dump 18 restores with the restore section into a 17 server whose superuser has another name', async () => {
    // an older server than the image's client: pg_dump dumps older majors (never newer ones)
    const source = await track(startPostgres({ name: 'pg-all', version: POSTGRES_OLDER_MAJOR }));
    await source.loadRows('items', ROWS);
    const before = await source.dumpTable('items');
    const { manifests, backup } = synth('e2e-pg-all', Database.postgres({ host: source.host, port: source.port, allDatabases: true, credentials }));
    const result = await runJob(manifests, { user: source.superuser, password: source.superuserPassword });
    result.cleanup();
    expectSucceeded(result);
    expect(snapshots(repo(backup))[0].paths).toEqual(['/all-databases.sql']);
    // each database's section says who dumped what
    const sql = restic(['dump', '--no-lock', 'latest', '/all-databases.sql'], repo(backup)).stdout;
    expect(sql).toMatch(new RegExp(`^-- Dumped from database version ${POSTGRES_OLDER_MAJOR}\\.\\d+`, 'm'));
    expect(sql).toMatch(new RegExp(`^-- Dumped by pg_dump version ${POSTGRES_IMAGE_MAJOR}\\.\\d+`, 'm'));

    // Into the source's major (what the restore section says). Measured: 17.12 gives every column the attribute
    // option pg_attver, which pg_dump 18.6 writes out (`ALTER COLUMN .. SET (pg_attver=N)`) and an 18.6 server
    // rejects ("unrecognized parameter"); pg_dump 17.12 leaves it out.
    const target = await track(startPostgresLike(source, { user: null, superuser: 'restore' }));
    runRestoreSection(backup, { host: target.host, port: target.port, user: 'restore', password: target.superuserPassword });
    // the role came back with the dump, with its password: log in as it
    expect(await target.psql('SELECT count(*) FROM pg_roles WHERE rolname = \'app\';', { user: 'restore', db: 'postgres' })).toBe('1\n');
    expect(await target.dumpTable('items', { user: 'restore', db: 'app' })).toBe(before);
  });

  test('a server SIGKILLed midway through the dump fails the job: the truncated snapshot is removed, nothing pruned', async () => {
    // GIVEN a good dump (of a small table) in the repository, and a retention that would prune it after another success
    const source = await track(startPostgres({ name: 'pg-kill' }));
    await source.loadRows('items', 100);
    const { manifests, backup } = synth('e2e-pg-kill', Database.postgres({ host: source.host, port: source.port, database: 'app', credentials }),
      Retention.keepLast(1));
    const login = { user: source.user!, password: source.password! };
    const good = await runJob(manifests, login);
    good.cleanup();
    expectSucceeded(good);
    const [goodSnap] = snapshots(repo(backup));
    await source.loadRows('big', 100_000, { payloadBytes: 400 });

    // WHEN the server is SIGKILLed while pg_dump streams the big table
    const running = runJob(manifests, login);
    const copying = "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'pg_dump' AND query LIKE 'COPY public.big %';";
    const deadline = Date.now() + 30_000;
    while ((await source.psql(copying, { user: source.superuser, db: 'postgres' })).trim() !== '1') {
      if (Date.now() > deadline) throw new Error('pg_dump never started copying the big table');
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    await source.kill('SIGKILL');
    const result = await running;
    result.cleanup();

    // THEN the job fails with the dump's error, the snapshot restic saved from the truncated stream is gone,
    // and the good dump is still the only (and newest) snapshot
    expect(result.succeeded).toBe(false);
    const dump = result.containers.find((c) => c.name === 'dump')!;
    expect(dump.exitCode).not.toBe(0);
    const log = dump.stdout + dump.stderr;
    expect(log).toMatch(/removed the snapshot [0-9a-f]+ of the incomplete dump/);
    expect(log).toMatch(/the dump \(pg_dump\) failed with exit 1 \(see above\); nothing pruned/);
    expect(log).not.toMatch(/remove \d+ snapshots|retention removed/);
    expect(summaryOf(dump)).toMatchObject({ kind: 'database-dump', result: 'failed', failedStep: 'dump', exitCode: 1, snapshotId: null, retentionRemoved: null });
    expect(snapshots(repo(backup)).map((s) => s.id)).toEqual([goodSnap.id]);
    expect(restic(['check', '--no-lock'], repo(backup)).status).toBe(0);
  });
});

describe('MariaDB dump, end to end', () => {
  let source: MariadbServer;

  test('mariadb-dump --single-transaction streams into restic; the restore section brings back every row', async () => {
    // GIVEN
    source = await track(startMariadb({ name: 'mariadb-source' }));
    await source.loadRows('items', ROWS);
    const before = await source.dumpTable('items');
    const { manifests, backup } = synth('e2e-maria', Database.mysql({ host: source.host, port: source.port, database: 'app', credentials }),
      undefined, { requiredTable: 'items', minRows: ROWS });

    // WHEN
    const result = await runJob(manifests, { user: source.user!, password: source.password! });
    result.cleanup();
    expectSucceeded(result);

    // THEN
    const snaps = snapshots(repo(backup));
    expect(snaps).toHaveLength(1);
    expect(snaps[0].tags).toEqual(['db-dump-e2e-maria-mysql-app']);
    const target: MariadbServer = await track(startMariadbLike(source));
    runRestoreSection(backup, { host: target.host, port: target.port, user: target.adminUser, password: target.adminPassword });
    expect(await target.rowCount('items')).toBe(ROWS);
    expect(await target.dumpTable('items')).toBe(before);

    // AND its drill restores it into a throwaway mariadbd inside the pod
    const drill = await runJob(manifests, { user: source.user!, password: source.password! }, backup.drill!.cronJob.name);
    drill.cleanup();
    expectSucceeded(drill);
    expect(drill.containers.find((c) => c.name === 'drill')!.stdout).toContain(`drill: ok, app.items has ${ROWS} rows`);
    expect(summaryOf(drill.containers.find((c) => c.name === 'drill'))).toMatchObject({
      kind: 'database-drill', result: 'succeeded', snapshotId: snaps[0].id, database: 'app', table: 'items', rows: ROWS,
    });
  });

  test('a wrong password fails the job before anything is uploaded', async () => {
    const { manifests, backup } = synth('e2e-maria-pw', Database.mysql({ host: source.host, port: source.port, database: 'app', credentials }));
    const result = await runJob(manifests, { user: source.user!, password: 'wrong' });
    result.cleanup();
    expect(result.succeeded).toBe(false);
    const dump = result.containers.find((c) => c.name === 'dump')!;
    expect(dump.stdout + dump.stderr).toMatch(/Access denied/);
    expect(snapshots(repo(backup))).toEqual([]);
  });

  test('a server SIGKILLed midway through the dump fails the job: the truncated snapshot is removed, nothing pruned', async () => {
    // GIVEN a good dump (of a small table), and a retention that would prune it after another success
    const server = await track(startMariadb({ name: 'mariadb-kill' }));
    await server.loadRows('items', 100);
    const { manifests, backup } = synth('e2e-maria-kill', Database.mysql({ host: server.host, port: server.port, database: 'app', credentials }),
      Retention.keepLast(1));
    const login = { user: server.user!, password: server.password! };
    const good = await runJob(manifests, login);
    good.cleanup();
    expectSucceeded(good);
    const [goodSnap] = snapshots(repo(backup));
    await server.loadRows('big', 100_000, { payloadBytes: 400 });

    // WHEN the server is SIGKILLed while mariadb-dump reads the big table
    const running = runJob(manifests, login);
    const reading = "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE COMMAND = 'Query' AND INFO LIKE 'SELECT /*!40001 SQL_NO_CACHE */%';";
    const deadline = Date.now() + 30_000;
    while ((await server.sql(reading, { user: 'root' })).trim() !== '1') {
      if (Date.now() > deadline) throw new Error('mariadb-dump never started reading the big table');
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    await server.kill('SIGKILL');
    const result = await running;
    result.cleanup();

    // THEN
    expect(result.succeeded).toBe(false);
    const log = result.containers.find((c) => c.name === 'dump')!.stderr;
    expect(log).toMatch(/Lost connection|server has gone away/);
    expect(log).toMatch(/removed the snapshot [0-9a-f]+ of the incomplete dump/);
    expect(log).toMatch(/the dump \(mariadb-dump\) failed with exit \d+ \(see above\); nothing pruned/);
    expect(snapshots(repo(backup)).map((s) => s.id)).toEqual([goodSnap.id]);
  });
});

