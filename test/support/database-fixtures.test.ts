/**
 * Proves the database fixtures for DatabaseDumpBackup work, without any of our constructs:
 * real PostgreSQL and MariaDB servers on loopback (test/support/postgres.ts, mariadb.ts),
 * dump → restore into a second server → every row equal; a server SIGKILLed mid-dump makes the
 * dump client fail; and the image profiles (test/support/images.ts) run, under the pod runner
 * as uid 999 with a read-only root file system and no capabilities, a `pg_dump | sha256sum` /
 * `mariadb-dump | sha256sum` with the password from a Secret, and a restore drill that starts a
 * throwaway server in an emptyDir.
 */
import { ChildProcessWithoutNullStreams, spawn } from 'child_process';
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { runCommand } from './commands';
import {
  DATABASE_IMAGES, MARIADB_IMAGE_PROFILE, MARIADB_IMAGE_UID, POSTGRES_IMAGE_MAJOR, POSTGRES_IMAGE_PROFILE, POSTGRES_IMAGE_UID, POSTGRES_OLDER_MAJOR,
} from './images';
import { MariadbServer, mariadbBin, startMariadb, startMariadbLike } from './mariadb';
import { ImageProfile, PodResult, runPod, RunPodOptions } from './pod-runner';
import { pgBin, PostgresServer, startPostgres, startPostgresLike } from './postgres';
import { cleanEnv, isAlive, processGroupMembers, waitFor } from './processes';

const POSTGRES_IMAGE = 'docker.io/library/postgres:18-trixie';
const MARIADB_IMAGE = 'docker.io/library/mariadb:11.8';

const timings: Record<string, number> = {};
async function timed<T>(label: string, fn: () => T | Promise<T>): Promise<T> {
  const t0 = Date.now();
  try {
    return await fn();
  } finally {
    timings[label] = Date.now() - t0;
  }
}

function sha256(data: string | Buffer): string {
  return crypto.createHash('sha256').update(data).digest('hex');
}

let work: string;
/** servers of the pod tests (dump, then drill) */
let podPostgres: PostgresServer;
let podMariadb: MariadbServer;
const servers: Array<PostgresServer | MariadbServer> = [];
const pods: PodResult[] = [];

beforeAll(() => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'database-fixtures-'));
  fs.chmodSync(work, 0o755);
});

afterAll(async () => {
  for (const p of pods) p.cleanup();
  await Promise.all(servers.map((s) => s.stop()));
  fs.rmSync(work, { recursive: true, force: true });
  // One line for whoever tunes these fixtures.
  console.log(`database fixture timings (ms): ${JSON.stringify(timings)}`);
});

async function pg(label: string, start: () => Promise<PostgresServer>): Promise<PostgresServer> {
  const s = await timed(label, start);
  servers.push(s);
  return s;
}

async function maria(label: string, start: () => Promise<MariadbServer>): Promise<MariadbServer> {
  const s = await timed(label, start);
  servers.push(s);
  return s;
}

/** A hand-written Job like the construct will render: uid 999, read-only root, no capabilities, emptyDirs for /tmp and /scratch. */
function dumpJob(image: string, script: string, env: any[] = [], more: { volumes?: any[]; mounts?: any[] } = {}): any {
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name: 'db-backup', namespace: 'backup-system' },
    spec: {
      backoffLimit: 0,
      template: {
        spec: {
          restartPolicy: 'Never',
          automountServiceAccountToken: false,
          securityContext: { runAsUser: 999, runAsGroup: 999, runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } },
          containers: [{
            name: 'dump',
            image,
            command: ['/bin/bash', '-c', script],
            env,
            securityContext: { readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } },
            volumeMounts: [{ name: 'tmp', mountPath: '/tmp' }, { name: 'scratch', mountPath: '/scratch' }, ...(more.mounts ?? [])],
          }],
          volumes: [{ name: 'tmp', emptyDir: {} }, { name: 'scratch', emptyDir: { sizeLimit: '1Gi' } }, ...(more.volumes ?? [])],
        },
      },
    },
  };
}

async function run(opts: Partial<RunPodOptions> & { manifests: any[] }): Promise<PodResult> {
  const r = await runPod({ images: DATABASE_IMAGES, timeoutMs: 30_000, ...opts });
  pods.push(r);
  return r;
}

function failureText(r: PodResult): string {
  return `${r.reason}\n${r.containers.map((c) => `--- ${c.name}\n${c.stdout}\n${c.stderr}`).join('\n')}`;
}

/**
 * Spawns a dump client and reads its stdout until `marker` shows up (the table's data is streaming),
 * then stops reading: the pipe fills, the client blocks, the server blocks writing. `finish()` reads
 * the rest and waits for the exit.
 */
function startBlockedDump(command: string, args: string[], env: Record<string, string>, marker: string) {
  const child: ChildProcessWithoutNullStreams = spawn(command, args, { env: cleanEnv(env), stdio: ['pipe', 'pipe', 'pipe'] });
  child.stdin.end();
  let out = '';
  let err = '';
  child.stderr.on('data', (b: Buffer) => (err += b.toString()));
  const streaming = new Promise<void>((resolve, reject) => {
    const onData = (b: Buffer) => {
      out += b.toString();
      if (out.includes(marker)) {
        child.stdout.pause();
        child.stdout.off('data', onData);
        resolve();
      }
    };
    child.stdout.on('data', onData);
    child.once('close', (code) => reject(new Error(`${command} exited (${code}) before "${marker}": ${err}`)));
  });
  const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) => {
    child.once('close', (code, signal) => resolve({ code, signal }));
  });
  return {
    streaming,
    finish: async () => {
      child.stdout.on('data', (b: Buffer) => (out += b.toString()));
      child.stdout.resume();
      const result = await exited;
      return { ...result, stdout: out, stderr: err };
    },
  };
}

describe('PostgreSQL', () => {
  test('pg_dump (custom) and pg_dumpall (plain) restore into fresh servers with every row equal', async () => {
    // GIVEN a server with 5000 deterministic rows (NULLs, tabs, newlines, quotes, backslashes, non-ASCII)
    const source = await pg('postgres start', () => startPostgres());
    expect(source.version).toMatch(/^\d+$/);
    expect(source.osUser.uid).not.toBe(0);
    expect(source.env()).toEqual({
      PGHOST: '127.0.0.1', PGPORT: String(source.port), PGUSER: 'app', PGPASSWORD: source.password, PGDATABASE: 'app',
    });
    expect(source.env({ user: 'postgres', socket: true })).toMatchObject({ PGHOST: source.socketDir, PGUSER: 'postgres', PGDATABASE: 'postgres' });
    await timed('postgres loadRows 5000', () => source.loadRows('items', 5000));
    const rows = await source.dumpTable('items');
    expect(rows.trim().split('\n')).toHaveLength(5000);
    expect(rows.split('\n')[9]).toMatch(/^10\t\\N\t3\.70\tf\t2024-01-01 00:10:00\+00\td3d9446802a44259755d38e6d163e820$/);
    expect(rows).toContain('row 1 tab\\t nl\\n quote\' backslash\\\\ \u00fc');
    // password auth is enforced (scram), over TCP and the socket
    const wrong = await source.client('psql', ['-X', '-w', '-c', 'select 1'], { env: { PGPASSWORD: 'wrong' } });
    expect(wrong.code).not.toBe(0);
    expect(wrong.stderr).toMatch(/password authentication failed for user "app"/);
    expect((await source.psql('SELECT current_user, current_database();', { socket: true })).trim()).toBe('app|app');

    // WHEN dumped with the image's pg_dump (custom format) and restored into a second, empty server
    const dumpFile = path.join(work, 'app.dump');
    const dump = await timed('pg_dump -Fc', () => source.client('pg_dump', ['-w', '-Fc', '-f', dumpFile]));
    expect(dump.code).toBe(0);
    const target = await pg('postgres start (restore target)', () => startPostgresLike(source));
    expect(await target.psql("SELECT count(*) FROM pg_tables WHERE schemaname = 'public';")).toBe('0\n');
    await timed('pg_restore', () => target.restore(dumpFile, { format: 'custom' }));

    // THEN every row is equal
    expect(await target.rowCount('items')).toBe(5000);
    expect(await target.dumpTable('items')).toBe(rows);

    // AND a pg_dumpall of the whole server restores into a server without the roles and databases, whose
    // bootstrap superuser has another name: the script always says CREATE ROLE postgres
    const allFile = path.join(work, 'all.sql');
    const all = await timed('pg_dumpall', () => source.client('pg_dumpall', ['-w', '-f', allFile], { user: 'postgres' }));
    expect(all.code).toBe(0);
    expect(fs.readFileSync(allFile, 'utf8')).toMatch(/^CREATE ROLE postgres;$/m);
    await expect(target.restore(allFile, { user: 'postgres', db: 'postgres' })).rejects.toThrow(/role "(app|postgres)" already exists/);
    const empty = await pg('postgres start (empty)', () => startPostgresLike(source, { user: null, superuser: 'restore' }));
    expect(empty.user).toBeUndefined();
    await timed('psql restore of pg_dumpall', () => empty.restore(allFile, { user: 'restore', db: 'postgres' }));
    expect(await empty.dumpTable('items', { user: 'restore', db: 'app' })).toBe(rows);
    expect((await empty.psql("SELECT string_agg(rolname, ',' ORDER BY rolname) FROM pg_roles WHERE rolname !~ '^pg_';", { user: 'restore' })).trim())
      .toBe('app,postgres,restore');
  });

  test('versions: the image\'s pg_dump 18 dumps a 17 server; pg_dump 17 refuses an 18 server (why the default image is 18)', async () => {
    const older = await pg('postgres 17 start', () => startPostgres({ name: 'postgres-17', version: POSTGRES_OLDER_MAJOR, user: null }));
    const newer = await pg('postgres start (versions)', () => startPostgres({ name: 'postgres-18', user: null }));
    expect([older.version, newer.version]).toEqual([POSTGRES_OLDER_MAJOR, POSTGRES_IMAGE_MAJOR]);
    const env = (s: PostgresServer) => ({ env: s.env() });
    const down = await runCommand(pgBin('pg_dump'), ['-w', '-s'], env(older));
    expect(down.stderr).toBe('');
    expect(down.code).toBe(0);
    expect(down.stdout).toMatch(new RegExp(`Dumped from database version ${POSTGRES_OLDER_MAJOR}\\.\\d+`));
    expect(down.stdout).toMatch(new RegExp(`Dumped by pg_dump version ${POSTGRES_IMAGE_MAJOR}\\.\\d+`));
    const up = await runCommand(pgBin('pg_dump', POSTGRES_OLDER_MAJOR), ['-w', '-s'], env(newer));
    expect(up.code).toBe(1);
    expect(up.stderr).toMatch(/aborting because of server version mismatch\n.*server version: 18\.\d+ .*; pg_dump version: 17\.\d+ /);
  });

  test('a server SIGKILLed in the middle of a dump makes pg_dump exit non-zero', async () => {
    // GIVEN a table far larger than the pipe and socket buffers, and a pg_dump whose output is not read
    const server = await pg('postgres start (kill)', () => startPostgres({ name: 'postgres-kill' }));
    await timed('postgres loadRows 50k x 400 B', () => server.loadRows('big', 50_000, { payloadBytes: 400 }));
    const dump = startBlockedDump(pgBin('pg_dump'), ['-w', '-t', 'big'], server.env(), 'COPY public.big ');
    await dump.streaming;
    // the server's backend is blocked sending rows: the dump is in the middle of the table
    await waitFor(async () => (await server.psql(
      "SELECT wait_event FROM pg_stat_activity WHERE application_name = 'pg_dump';", { user: 'postgres' })).trim() === 'ClientWrite',
    10_000, { description: 'the pg_dump backend to block in ClientWrite' });

    // WHEN the whole server (postmaster and every backend: each in a process group of its own) is SIGKILLed
    expect(server.process.groupMembers()).toEqual([server.pid]);
    const before = server.pids();
    expect(before.length).toBeGreaterThan(4);
    const { exit, pids } = await server.kill('SIGKILL');
    expect(exit).toEqual({ code: null, signal: 'SIGKILL' });
    expect(pids).toEqual(expect.arrayContaining(before));
    await waitFor(() => pids.filter(isAlive).length === 0, 5000, { description: 'every postgres process to die' });

    // THEN pg_dump fails, and its output is not a complete dump
    const r = await dump.finish();
    expect(r.code).not.toBe(0);
    expect(r.code).not.toBeNull();
    expect(r.stderr).toMatch(/server closed the connection unexpectedly|connection to server was lost|terminating connection/);
    expect(r.stdout).not.toContain('PostgreSQL database dump complete');
    expect(processGroupMembers(server.pid)).toEqual([]);
  });
});

describe('MariaDB', () => {
  test('mariadb-dump --single-transaction restores into a fresh server with every row equal', async () => {
    const source = await maria('mariadb start', () => startMariadb());
    expect(source.osUser.uid).not.toBe(0);
    expect(source.env()).toEqual({ MYSQL_PWD: source.password, MYSQL_TCP_PORT: String(source.port), MYSQL_HOST: '127.0.0.1' });
    expect(source.clientArgs()).toEqual(['--no-defaults', '--host=127.0.0.1', `--port=${source.port}`, '--protocol=TCP', '--user=app',
      '--default-character-set=utf8mb4']);
    await timed('mariadb loadRows 5000', () => source.loadRows('items', 5000));
    const rows = await source.dumpTable('items');
    expect(rows.trim().split('\n')).toHaveLength(5000);
    expect(rows.split('\n')[9]).toBe("'10',NULL,'3.70','0','2024-01-01 00:10:00','d3d9446802a44259755d38e6d163e820'");
    expect((await source.sql('SELECT CURRENT_USER(), DATABASE();')).trim()).toBe('app@%\tapp');
    expect((await source.sql('SELECT CURRENT_USER();', { user: 'root', socket: true })).trim()).toBe('root@localhost');
    // the normal user sees only its database; a wrong password is refused
    await expect(source.sql('SELECT COUNT(*) FROM mysql.user;')).rejects.toThrow(/denied/);
    const wrong = await source.client('mariadb', ['-e', 'SELECT 1'], { env: { MYSQL_PWD: 'wrong' } });
    expect(wrong.stderr).toMatch(/Access denied for user 'app'@'127\.0\.0\.1'/);

    // WHEN dumped with the image's mariadb-dump and restored into a second, empty server
    const dumpFile = path.join(work, 'app.sql');
    const dump = await timed('mariadb-dump', () => source.client('mariadb-dump', ['--single-transaction', '--skip-dump-date', 'app']));
    expect(dump.code).toBe(0);
    expect(dump.stdout).toMatch(/-- Dump completed\n*$/);
    fs.writeFileSync(dumpFile, dump.stdout);
    const target = await maria('mariadb start (restore target)', () => startMariadbLike(source));
    expect((await target.sql('SHOW TABLES;')).trim()).toBe('');
    await timed('mariadb restore', () => target.restore(dumpFile));

    // THEN every row is equal
    expect(await target.rowCount('items')).toBe(5000);
    expect(await target.dumpTable('items')).toBe(rows);
  });

  test('a server SIGKILLed in the middle of a dump makes mariadb-dump exit non-zero', async () => {
    const server = await maria('mariadb start (kill)', () => startMariadb({ name: 'mariadb-kill' }));
    await timed('mariadb loadRows 50k x 400 B', () => server.loadRows('big', 50_000, { payloadBytes: 400 }));
    const dump = startBlockedDump(mariadbBin('mariadb-dump'), [...server.clientArgs(), '--single-transaction', 'app', 'big'],
      server.env(), 'INSERT INTO `big` VALUES');
    await dump.streaming;
    // the dump's SELECT is still running on the server
    await waitFor(async () => (await server.sql(
      "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE COMMAND = 'Query' AND INFO LIKE 'SELECT /*!40001 SQL_NO_CACHE */%';",
      { user: 'root' })).trim() === '1', 10_000, { description: "the dump's SELECT to be running" });

    const { exit, pids } = await server.kill('SIGKILL');
    expect(exit).toEqual({ code: null, signal: 'SIGKILL' });
    expect(pids).toEqual([server.pid]);

    const r = await dump.finish();
    expect(r.code).not.toBe(0);
    expect(r.code).not.toBeNull();
    expect(r.stderr).toMatch(/Lost connection|server has gone away/);
    expect(r.stdout).not.toContain('-- Dump completed');
  });
});

describe('image profiles under the pod runner (uid 999, read-only root, no capabilities)', () => {
  test('hostDirs: a host directory is mapped read-only; overlaps and directories in `files` are refused', async () => {
    const dir = path.join(work, 'share');
    fs.mkdirSync(path.join(dir, 'sub'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'sub', 'data.txt'), 'shared data\n');
    fs.chmodSync(dir, 0o755);
    const profile: ImageProfile = {
      files: { '/bin/bash': '/usr/bin/bash', '/usr/bin/cat': '/usr/bin/cat', '/usr/bin/touch': '/usr/bin/touch' },
      hostDirs: { '/usr/share/thing': dir },
    };
    const job = (script: string, mounts: any[] = []) => dumpJob('thing', script, [], { mounts, volumes: [{ name: 'vol', emptyDir: {} }] });
    // readable, not writable: also for root with the default capabilities and a writable root file system
    const manifest = job('cat /usr/share/thing/sub/data.txt; touch /usr/share/thing/x 2>&1 || echo not writable');
    manifest.spec.template.spec.securityContext = {};
    manifest.spec.template.spec.containers[0].securityContext = {};
    const r = await run({ manifests: [manifest], images: { thing: profile } });
    expect(r.succeeded).toBe(true);
    expect(r.containers[0].stdout).toMatch(/^shared data\n.*Read-only file system\nnot writable\n$/s);
    expect(fs.readdirSync(dir)).toEqual(['sub']);
    // a volume may be mounted on a directory that exists in it, not where one would have to be created
    const ok = await run({
      manifests: [job('cat /usr/share/thing/sub/data.txt 2>&1 || echo hidden', [{ name: 'vol', mountPath: '/usr/share/thing/sub' }])],
      images: { thing: profile },
    });
    expect(ok.succeeded).toBe(true);
    expect(ok.containers[0].stdout).toMatch(/No such file or directory\nhidden/);
    const missing = await run({ manifests: [job('true', [{ name: 'vol', mountPath: '/usr/share/thing/new' }])], images: { thing: profile } });
    expect(missing.succeeded).toBe(false);
    expect(missing.reason).toMatch(/CreateContainerError: mkdir \/usr\/share\/thing\/new: read-only file system/);
    expect(fs.readdirSync(dir)).toEqual(['sub']);
    // malformed profiles throw
    await expect(runPod({ manifests: [job('true')], images: { thing: { ...profile, files: { ...profile.files, '/usr/share/thing/f': '/usr/bin/cat' } } } }))
      .rejects.toThrow(/image directory \/usr\/share\/thing overlaps \/usr\/share\/thing\/f/);
    await expect(runPod({ manifests: [job('true')], images: { thing: { files: { '/bin/bash': '/usr/bin/bash', '/share': dir } } } }))
      .rejects.toThrow(/ldd .* failed/);
  });

  test('postgres image: pg_dump | sha256sum against the loopback server, password from a Secret', async () => {
    expect(POSTGRES_IMAGE_PROFILE.user).toBe(0);
    expect(POSTGRES_IMAGE_UID).toBe(999);
    const server = podPostgres = await pg('postgres start (pod)', () => startPostgres({ name: 'postgres-pod' }));
    await server.loadRows('items', 3000);
    // plain dumps start with "\restrict <random key>" (PostgreSQL 15.14+): a fixed key makes two dumps comparable
    const host = await server.client('pg_dump', ['-w', '--restrict-key=fixture']);
    expect(host.code).toBe(0);
    const e = server.env();
    const r = await timed('pod: pg_dump | sha256sum', () => run({
      manifests: [dumpJob(POSTGRES_IMAGE, [
        'set -euo pipefail',
        'echo "user=$(id -un) uid=$(id -u)"',
        'pg_dump --no-password --restrict-key=fixture | sha256sum | cut -d" " -f1',
      ].join('\n'), [
        { name: 'PGHOST', value: e.PGHOST },
        { name: 'PGPORT', value: e.PGPORT },
        { name: 'PGUSER', value: e.PGUSER },
        { name: 'PGDATABASE', value: e.PGDATABASE },
        { name: 'PGPASSWORD', valueFrom: { secretKeyRef: { name: 'app-db', key: 'password' } } },
      ])],
      secrets: { 'app-db': { password: server.password! } },
    }));
    expect(r.succeeded).toBe(true);
    expect(r.containers[0].stdout).toBe(`user=postgres uid=${POSTGRES_IMAGE_UID}\n${sha256(host.stdout)}\n`);
    expect(r.warnings).toEqual([]);
  });

  test('postgres image: the drill starts a throwaway server in an emptyDir, restores the dump into it and counts the rows', async () => {
    const server = podPostgres;
    const dumps = path.join(work, 'pg-dumps');
    fs.mkdirSync(dumps, { mode: 0o755 });
    const d = await server.client('pg_dump', ['-w', '-Fc', '-f', path.join(dumps, 'app.dump')]);
    expect(d.code).toBe(0);
    fs.chmodSync(path.join(dumps, 'app.dump'), 0o644);
    const script = [
      'set -euo pipefail',
      // initdb needs the uid in /etc/passwd and an explicit locale (see images.ts)
      'initdb -D /scratch/data -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 --no-sync --no-instructions >/scratch/initdb.log 2>&1 \\',
      '  || { cat /scratch/initdb.log; exit 1; }',
      'mkdir /scratch/sock',
      "postgres -D /scratch/data -c listen_addresses='' -c unix_socket_directories=/scratch/sock -c fsync=off >/scratch/postgres.log 2>&1 &",
      'pid=$!',
      'for _ in $(seq 1 100); do pg_isready -q -h /scratch/sock -U postgres && break; sleep 0.1; done',
      'createdb -h /scratch/sock -U postgres restored',
      'pg_restore -h /scratch/sock -U postgres -d restored --no-owner --no-acl --exit-on-error /dump/app.dump',
      'psql -X -A -t -h /scratch/sock -U postgres -d restored -c "SELECT count(*) FROM items"',
      'psql -X -h /scratch/sock -U postgres -d restored -c "COPY (SELECT * FROM items ORDER BY 1) TO STDOUT" | sha256sum | cut -d" " -f1',
      'kill -INT "$pid"',
      'wait "$pid"',
      'grep -c "database system is shut down" /scratch/postgres.log',
    ].join('\n');
    const r = await timed('pod: postgres drill', () => run({
      manifests: [dumpJob(POSTGRES_IMAGE, script, [], {
        volumes: [{ name: 'dumps', hostPath: { path: '/srv/dumps', type: 'Directory' } }],
        mounts: [{ name: 'dumps', mountPath: '/dump', readOnly: true }],
      })],
      hostPaths: { '/srv/dumps': dumps },
    }));
    expect(r.succeeded).toBe(true);
    expect(r.containers[0].stdout).toBe(`3000\n${sha256(await server.dumpTable('items'))}\n1\n`);
    // the data dir lives in the emptyDir, owned by uid 999
    expect(fs.statSync(path.join(r.emptyDirs.scratch, 'data')).uid).toBe(POSTGRES_IMAGE_UID);
  });

  test('mariadb image: mariadb-dump | sha256sum against the loopback server; no mysql-named tools', async () => {
    expect(MARIADB_IMAGE_PROFILE.user).toBe(0);
    expect(MARIADB_IMAGE_UID).toBe(999);
    const server = podMariadb = await maria('mariadb start (pod)', () => startMariadb({ name: 'mariadb-pod' }));
    await server.loadRows('items', 3000);
    const host = await server.client('mariadb-dump', ['--single-transaction', '--skip-dump-date', 'app']);
    expect(host.code).toBe(0);
    const r = await timed('pod: mariadb-dump | sha256sum', () => run({
      manifests: [dumpJob(MARIADB_IMAGE, [
        'set -euo pipefail',
        'echo "user=$(id -un) uid=$(id -u)"',
        'for t in mysqldump mysql; do command -v "$t" || echo "no $t"; done',
        'mariadb-dump --host="$DB_HOST" --port="$DB_PORT" --user="$DB_USER" --single-transaction --skip-dump-date app | sha256sum | cut -d" " -f1',
      ].join('\n'), [
        { name: 'DB_HOST', value: server.host },
        { name: 'DB_PORT', value: String(server.port) },
        { name: 'DB_USER', value: server.user },
        { name: 'MYSQL_PWD', valueFrom: { secretKeyRef: { name: 'app-db', key: 'password' } } },
      ])],
      secrets: { 'app-db': { password: server.password! } },
    }));
    expect(r.succeeded).toBe(true);
    expect(r.containers[0].stdout).toBe(`user=mysql uid=${MARIADB_IMAGE_UID}\nno mysqldump\nno mysql\n${sha256(host.stdout)}\n`);
  });

  test('mariadb image: the drill starts a throwaway server in an emptyDir, restores the dump into it and counts the rows', async () => {
    const server = podMariadb;
    const dumps = path.join(work, 'mariadb-dumps');
    fs.mkdirSync(dumps, { mode: 0o755 });
    const d = await server.client('mariadb-dump', ['--single-transaction', 'app']);
    expect(d.code).toBe(0);
    fs.writeFileSync(path.join(dumps, 'app.sql'), d.stdout, { mode: 0o644 });
    const sock = '--socket=/scratch/mysqld.sock --user=mysql';
    const script = [
      'set -euo pipefail',
      // --rpm --cross-bootstrap as the image's entrypoint: no resolveip of the hostname;
      // unix_socket auth for the OS user (mysql, uid 999 in /etc/passwd): no password at all
      'mariadb-install-db --rpm --cross-bootstrap --datadir=/scratch/data --auth-root-authentication-method=socket \\',
      '  --auth-root-socket-user=mysql --skip-test-db --skip-name-resolve --innodb-log-file-size=16M >/scratch/install.log 2>&1 \\',
      '  || { cat /scratch/install.log; exit 1; }',
      'mariadbd --datadir=/scratch/data --socket=/scratch/mysqld.sock --skip-networking --pid-file=/scratch/mysqld.pid --tmpdir=/tmp \\',
      '  --innodb-log-file-size=16M --skip-name-resolve >/scratch/mariadbd.log 2>&1 &',
      'pid=$!',
      `for _ in $(seq 1 100); do mariadb-admin ${sock} ping >/dev/null 2>&1 && break; sleep 0.1; done`,
      `mariadb ${sock} -e "CREATE DATABASE restored"`,
      `mariadb ${sock} restored < /dump/app.sql`,
      `mariadb ${sock} --batch --skip-column-names restored -e "SELECT COUNT(*) FROM items"`,
      'kill -TERM "$pid"',
      'wait "$pid"',
      'grep -c "mariadbd: Shutdown complete" /scratch/mariadbd.log',
    ].join('\n');
    const r = await timed('pod: mariadb drill', () => run({
      manifests: [dumpJob(MARIADB_IMAGE, script, [], {
        volumes: [{ name: 'dumps', hostPath: { path: '/srv/dumps', type: 'Directory' } }],
        mounts: [{ name: 'dumps', mountPath: '/dump', readOnly: true }],
      })],
      hostPaths: { '/srv/dumps': dumps },
    }));
    expect(r.succeeded ? '' : failureText(r)).toBe('');
    expect(r.containers[0].stdout).toBe('3000\n1\n');
  });
});
