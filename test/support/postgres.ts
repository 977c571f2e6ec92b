/**
 * A real PostgreSQL server (Debian's `postgresql-<major>` in the root file system scripts/setup.sh builds for
 * that major: 18, the default image's, or 17; see images.ts) in a temp dir, on 127.0.0.1:<free port> and a unix socket in the temp dir, with scram-sha-256
 * password auth for a superuser and a normal user that owns a database, for the DatabaseDumpBackup
 * end-to-end tests. Nothing of the package's own cluster (/var/lib/postgresql, its service) is used.
 *
 * Every program runs through images.ts rootProgram(): the root's /usr and /etc over the host's in a private
 * mount namespace (the same binaries the image profile has; the host's temp dirs keep their paths).
 *
 * Measured here (Debian bookworm, PostgreSQL 15.18, 2 vCPU; 17.12 and 18.6 in their roots alike):
 * - `initdb --no-sync` ~1.2 s (~2 s while another test suite runs); start to "ready to accept
 *   connections" ~0.1 s, with the user/database ~0.4 s. `loadRows(5000)` ~0.1 s (one INSERT ...
 *   SELECT generate_series); 100k rows x 400 B (51 MB) ~1.5 s.
 * - postgres and initdb refuse to run as root ("root" execution of the PostgreSQL server is not
 *   permitted): both run through `setpriv --reuid --regid --clear-groups` as the root's `postgres`
 *   user (uid 999, as in the image). The temp dir is owned by
 *   that user (mode 0700): the data dir must be owned by the server's uid and be 0700/0750, the socket
 *   dir must be writable by it (postgres creates `.s.PGSQL.<port>` and its `.lock` there).
 * - /usr/bin/pg_dump, psql, ... are Debian's perl `pg_wrapper`; the harness calls the real binaries in
 *   /usr/lib/postgresql/<major>/bin (`pgBin()`), as the image's PATH finds them.
 * - pg_dump refuses a server of a newer major ("aborting because of server version mismatch"): the
 *   image's 18 dumps 17 and 18 servers; restore a dump into a server of the client's major or newer.
 * - initdb: `--auth=scram-sha-256 --pwfile` (the superuser's password never on a command line),
 *   `-E UTF8 --locale=C` (this host has only the C.utf8 locale). postgres -c fsync=off etc.: test speed only.
 * - Readiness: the log line "database system is ready to accept connections", then a real query.
 *   `pg_isready` would do, but logs a FATAL "password authentication failed" for its probe user.
 * - Every backend calls setsid(): it is NOT in the postmaster's process group, so a process-group kill
 *   (ManagedProcess.stop, processes.ts's exit cleanup) reaches the postmaster only; its children exit by
 *   themselves on postmaster death. `kill('SIGKILL')` therefore signals the postmaster and every child
 *   at once (like an OOM kill of the pod). A running pg_dump then fails with "server closed the connection
 *   unexpectedly" and exits 1.
 * - Plain pg_dump output has no timestamp (only with --verbose), but since PostgreSQL 15.14/16.10/17.6
 *   (CVE-2025-8714) it starts with `\restrict <random key>` and ends with `\unrestrict <key>`: two dumps of
 *   the same data differ unless `--restrict-key=<key>` is given, and a psql older than those releases
 *   cannot restore such a dump (unknown meta-command). Custom-format dumps carry their creation time.
 * - Restoring a dump made by the normal user needs that role in the target (`startPostgresLike()`
 *   creates the same roles). A pg_dumpall script always has `CREATE ROLE <superuser>` (then ALTER ROLE):
 *   with psql ON_ERROR_STOP it fails on a target whose bootstrap superuser has the same name ("role
 *   postgres already exists"). Restore it into a server whose superuser has another name (here
 *   `startPostgresLike(source, { user: null, superuser: 'restore' })`; the drill: `initdb -U <other>`).
 * - initdb of a template and `cp -a` per server: ~0.15 s instead of ~1.2 s (`template: false` for a real initdb).
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import {
  asUser, chownTree, copyTree, descendants, killTree, OsUser, pgString, randomPassword, RunOptions, RunResult, runCommand, templatesDir, withinMs,
} from './commands';
import { POSTGRES_IMAGE_MAJOR, RootPostgres, rootPostgres, rootProgram, rootUser } from './images';
import { canConnect, cleanEnv, ExitInfo, freePort, ManagedProcess, startProcess, waitFor } from './processes';

/** The PostgreSQL root of a major (default: the image's), or an error naming what to run. */
export function postgresInstall(major: string = POSTGRES_IMAGE_MAJOR): RootPostgres {
  const pg = rootPostgres(major);
  if (!pg) {
    throw new Error(`no PostgreSQL ${major} root (images.ts DATABASE_ROOTS): run scripts/setup.sh`);
  }
  return pg;
}

/** A host executable running a PostgreSQL program (pg_dump, psql, pg_restore, ...) of a major (default: the image's) in its root. */
export function pgBin(tool: string, major: string = POSTGRES_IMAGE_MAJOR): string {
  const pg = postgresInstall(major);
  return rootProgram(pg.root, path.join(pg.binDir, tool));
}

/** A host directory of programs running every PostgreSQL program of a major (default: the image's) in its root, by name: a PATH entry. */
export function pgBinDir(major: string = POSTGRES_IMAGE_MAJOR): string {
  const pg = postgresInstall(major);
  const tools = fs.readdirSync(path.join(pg.root, pg.binDir));
  return path.dirname(tools.map((t) => pgBin(t, major)).pop()!);
}

/** The OS user (first that exists in the root's /etc/passwd) and setpriv of a root. */
function rootRunner(pg: RootPostgres, names: readonly string[]): { readonly user: OsUser; readonly setpriv: string } {
  let user: OsUser | undefined;
  for (const n of names) {
    try {
      user = rootUser(pg.root, n);
      break;
    } catch {
      // next
    }
  }
  if (!user) throw new Error(`none of the users ${names.join(', ')} in ${pg.root}/etc/passwd`);
  return { user, setpriv: rootProgram(pg.root, '/usr/bin/setpriv') };
}

export interface StartPostgresOptions {
  /** PostgreSQL major (a root scripts/setup.sh builds). @default POSTGRES_IMAGE_MAJOR (the default image's) */
  readonly version?: string;
  /** @default 'postgres' */
  readonly superuser?: string;
  /** @default - random */
  readonly superuserPassword?: string;
  /** Normal (LOGIN, no other privilege) user that owns `database`; null: none (and no database). @default 'app' */
  readonly user?: string | null;
  /** @default - random */
  readonly password?: string;
  /** @default 'app' */
  readonly database?: string;
  /** Extra server settings (`-c name=value`). */
  readonly settings?: Record<string, string>;
  /** OS user the server runs as (first that exists in the root). @default ['postgres', 'nobody'] */
  readonly osUsers?: readonly string[];
  /** Name in log file names. @default 'postgres' */
  readonly name?: string;
  /** @default 30000 */
  readonly startTimeoutMs?: number;
  /**
   * Copy a data dir made by initdb once per Node process (and superuser name) instead of running initdb
   * for every server (~0.1 s instead of ~1.2 s). The copy's superuser password is replaced at start.
   * @default true
   */
  readonly template?: boolean;
}

export interface PgClientOptions {
  /** Role to connect as (must be one this harness created). @default the normal user, else the superuser */
  readonly user?: string;
  /** @default the normal user's database, else 'postgres' */
  readonly db?: string;
  /** Connect through the unix socket instead of 127.0.0.1. @default false */
  readonly socket?: boolean;
}

export interface LoadRowsOptions extends PgClientOptions {
  /** Bytes of the `payload` column per row (md5 hex of the id, repeated). @default 32 */
  readonly payloadBytes?: number;
}

export interface PgRestoreOptions extends PgClientOptions {
  /** plain: `psql -f` (pg_dump's default or pg_dumpall output); custom/directory/tar: `pg_restore -d`. @default 'plain' */
  readonly format?: 'plain' | 'custom' | 'directory' | 'tar';
  /** Extra arguments for psql / pg_restore. */
  readonly args?: readonly string[];
}

/** A running PostgreSQL server (see the file comment). */
export class PostgresServer {
  public readonly version: string;
  public readonly host = '127.0.0.1';
  public readonly port: number;
  /** unix socket directory (PGHOST for socket connections) */
  public readonly socketDir: string;
  public readonly dataDir: string;
  /** temp dir holding data, socket and password file; removed by stop() */
  public readonly baseDir: string;
  public readonly superuser: string;
  public readonly superuserPassword: string;
  /** the normal user, if one was created */
  public readonly user?: string;
  public readonly password?: string;
  /** the normal user's database, if one was created */
  public readonly database?: string;
  public readonly osUser: OsUser;
  public readonly process: ManagedProcess;
  /** ms for initdb, or for copying the template data dir */
  public readonly initdbMs: number;
  private stopped = false;
  private readyMs = 0;

  /** @internal */
  constructor(props: {
    version: string;
    port: number;
    baseDir: string;
    superuser: string;
    superuserPassword: string;
    user?: string;
    password?: string;
    database?: string;
    osUser: OsUser;
    process: ManagedProcess;
    initdbMs: number;
  }) {
    this.version = props.version;
    this.port = props.port;
    this.baseDir = props.baseDir;
    this.socketDir = path.join(props.baseDir, 'sock');
    this.dataDir = path.join(props.baseDir, 'data');
    this.superuser = props.superuser;
    this.superuserPassword = props.superuserPassword;
    this.user = props.user;
    this.password = props.password;
    this.database = props.database;
    this.osUser = props.osUser;
    this.process = props.process;
    this.initdbMs = props.initdbMs;
  }

  /** ms from spawn to accepting queries, with the user and database created */
  public get startMs(): number {
    return this.readyMs;
  }

  /** @internal */
  public markReady(ms: number): this {
    this.readyMs = ms;
    return this;
  }

  public get pid(): number {
    return this.process.pid;
  }

  /** libpq environment for a client: PGHOST, PGPORT, PGUSER, PGPASSWORD, PGDATABASE (see PgClientOptions). */
  public env(options: PgClientOptions = {}): Record<string, string> {
    const user = options.user ?? this.user ?? this.superuser;
    return {
      PGHOST: options.socket ? this.socketDir : this.host,
      PGPORT: String(this.port),
      PGUSER: user,
      PGPASSWORD: this.passwordOf(user),
      PGDATABASE: options.db ?? (user === this.user && this.database ? this.database : 'postgres'),
    };
  }

  /** Runs a PostgreSQL client program (`pg_dump`, `pg_restore`, `psql`, ...) with `env(options)` and a clean environment. */
  public client(tool: string, args: readonly string[], options: PgClientOptions & RunOptions = {}): Promise<RunResult> {
    return runCommand(pgBin(tool, this.version), args, { ...options, env: { ...this.env(options), ...(options.env ?? {}) } });
  }

  /** Runs SQL with psql (ON_ERROR_STOP, unaligned, tuples only, no psqlrc); returns stdout, throws on any error. */
  public async psql(sql: string, options: PgClientOptions = {}): Promise<string> {
    const r = await this.client('psql', ['-X', '-q', '-A', '-t', '-v', 'ON_ERROR_STOP=1', '-f', '-'], { ...options, input: sql });
    if (r.code !== 0) {
      throw new Error(`psql failed (${r.code ?? r.signal}): ${r.stderr.trim()}\nSQL: ${sql.slice(0, 500)}`);
    }
    return r.stdout;
  }

  /**
   * Creates `table` (id integer primary key, name text, amount numeric(12,2), flag boolean, created_at
   * timestamptz, payload text) and inserts rows 1..n, server-side with generate_series: deterministic
   * values, every 10th name NULL, names with a tab, a newline, a quote, a backslash and a non-ASCII letter.
   * Owned by the connecting user (the normal user by default).
   */
  public async loadRows(table: string, n: number, options: LoadRowsOptions = {}): Promise<void> {
    const payloadBytes = options.payloadBytes ?? 32;
    const t = quoteIdent(table);
    await this.psql([
      `CREATE TABLE ${t} (id integer PRIMARY KEY, name text, amount numeric(12,2), flag boolean, created_at timestamptz, payload text);`,
      `INSERT INTO ${t} SELECT g,`,
      '  CASE WHEN g % 10 = 0 THEN NULL ELSE \'row \' || g || E\' tab\\t nl\\n quote\'\' backslash\\\\ \u00fc\' END,',
      '  (g * 37 % 100000) / 100.0, g % 3 = 0,',
      "  timestamptz '2024-01-01 00:00:00+00' + g * interval '1 minute',",
      `  left(repeat(md5(g::text), ${Math.ceil(payloadBytes / 32)}), ${payloadBytes})`,
      `FROM generate_series(1, ${n}) AS g;`,
    ].join('\n'), options);
  }

  /** Every row of `table` ordered by its first column, in COPY text format (NULL as \N): compare two servers with it. */
  public async dumpTable(table: string, options: PgClientOptions = {}): Promise<string> {
    return this.psql(`COPY (SELECT * FROM ${quoteIdent(table)} ORDER BY 1) TO STDOUT;`, options);
  }

  public async rowCount(table: string, options: PgClientOptions = {}): Promise<number> {
    return Number((await this.psql(`SELECT count(*) FROM ${quoteIdent(table)};`, options)).trim());
  }

  /** Restores a dump file into this server (psql -f for plain dumps, pg_restore -d otherwise); throws on the first error. */
  public async restore(file: string, options: PgRestoreOptions = {}): Promise<RunResult> {
    const format = options.format ?? 'plain';
    const env = this.env(options);
    const r = format === 'plain'
      ? await this.client('psql', ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-f', file, ...(options.args ?? [])], options)
      : await this.client('pg_restore', ['--exit-on-error', '-d', env.PGDATABASE, ...(options.args ?? []), file], options);
    if (r.code !== 0) {
      throw new Error(`restore of ${file} (${format}) failed (${r.code ?? r.signal}): ${r.stderr.trim()}`);
    }
    return r;
  }

  /** pids of the postmaster and all its children (backends, checkpointer, walwriter, ...). */
  public pids(): number[] {
    return this.process.exited ? [] : [this.process.pid, ...descendants(this.process.pid)];
  }

  /**
   * Signals the postmaster AND every child at once (each backend is a process-group leader of its own:
   * a group kill would reach the postmaster only) and waits until the postmaster is gone; returns the
   * pids signalled. The data dir stays until stop().
   */
  public async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<{ readonly exit: ExitInfo; readonly pids: number[] }> {
    const pids = this.process.exited ? [] : killTree(this.process.pid, signal);
    return { exit: await this.process.waitForExit(), pids };
  }

  /** Fast shutdown (SIGINT), then the process group's SIGTERM/SIGKILL cleanup; removes the temp dir. Idempotent. */
  public async stop(): Promise<void> {
    if (this.stopped) {
      return;
    }
    this.stopped = true;
    if (!this.process.exited) {
      try {
        process.kill(this.process.pid, 'SIGINT');
        await withinMs(this.process.waitForExit(), 5000);
      } catch {
        // gone
      }
    }
    await this.process.stop();
    fs.rmSync(this.baseDir, { recursive: true, force: true });
  }

  private passwordOf(user: string): string {
    if (user === this.superuser) {
      return this.superuserPassword;
    }
    if (user === this.user && this.password !== undefined) {
      return this.password;
    }
    throw new Error(`PostgresServer: no password known for role ${user}`);
  }
}

/** "ident" with embedded quotes doubled. */
export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/** Password of the superuser in template data dirs; replaced at start (ALTER ROLE) before anyone else connects. */
const TEMPLATE_PASSWORD = 'template-password';
const templates = new Map<string, Promise<string>>();

/** initdb once per (major, superuser, OS user) and Node process; returns the template's data dir. */
function templateDataDir(pg: RootPostgres, user: OsUser, superuser: string): Promise<string> {
  const key = `${pg.version}:${superuser}:${user.uid}`;
  let t = templates.get(key);
  if (!t) {
    t = (async () => {
      const dir = fs.mkdtempSync(path.join(templatesDir(), 'pg-'));
      fs.chmodSync(dir, 0o700);
      const pwfile = path.join(dir, 'pw');
      fs.writeFileSync(pwfile, `${TEMPLATE_PASSWORD}\n`, { mode: 0o600 });
      chownTree(dir, user);
      await initdb(pg, user, path.join(dir, 'data'), superuser, pwfile);
      fs.rmSync(pwfile);
      return path.join(dir, 'data');
    })();
    templates.set(key, t);
    t.catch(() => templates.delete(key));
  }
  return t;
}

async function initdb(pg: RootPostgres, user: OsUser, dataDir: string, superuser: string, pwfile: string): Promise<void> {
  const r = await runCommand(rootProgram(pg.root, '/usr/bin/setpriv'), [...asUser(user), path.join(pg.binDir, 'initdb'),
    '-D', dataDir, '-U', superuser, '--auth=scram-sha-256', `--pwfile=${pwfile}`,
    '-E', 'UTF8', '--locale=C', '--no-sync', '--no-instructions'], { env: { HOME: path.dirname(dataDir) }, timeoutMs: 60_000 });
  if (r.code !== 0) {
    throw new Error(`initdb failed (${r.code ?? r.signal}): ${r.stderr.trim()}\n${r.stdout.trim()}`);
  }
}

/**
 * A fresh data dir (a copy of a per-process initdb template, or initdb itself with `template: false`)
 * in a temp dir, started on 127.0.0.1:<free port> + a unix socket in the temp dir (as a non-root OS
 * user, via startProcess: killed with the test process); once it answers, the superuser gets its
 * password and the normal user and its database are created. Retries with a new port if the port was taken.
 */
export async function startPostgres(options: StartPostgresOptions = {}): Promise<PostgresServer> {
  const pg = postgresInstall(options.version);
  const { user, setpriv } = rootRunner(pg, options.osUsers ?? ['postgres', 'nobody']);
  const superuser = options.superuser ?? 'postgres';
  const superuserPassword = options.superuserPassword ?? randomPassword();
  const normalUser = options.user === null ? undefined : options.user ?? 'app';
  const password = normalUser ? options.password ?? randomPassword() : undefined;
  const database = normalUser ? options.database ?? 'app' : undefined;
  const name = options.name ?? 'postgres';
  const timeoutMs = options.startTimeoutMs ?? 30_000;
  const fromTemplate = options.template ?? true;

  const baseDir = fs.mkdtempSync(path.join(os.tmpdir(), 'pg-'));
  try {
    fs.chmodSync(baseDir, 0o700);
    fs.mkdirSync(path.join(baseDir, 'sock'), { mode: 0o700 });
    const dataDir = path.join(baseDir, 'data');
    const initialPassword = fromTemplate ? TEMPLATE_PASSWORD : superuserPassword;
    const t0 = Date.now();
    if (fromTemplate) {
      await copyTree(await templateDataDir(pg, user, superuser), dataDir);
      chownTree(baseDir, user);
    } else {
      const pwfile = path.join(baseDir, 'superuser-password');
      fs.writeFileSync(pwfile, `${superuserPassword}\n`, { mode: 0o600 });
      chownTree(baseDir, user);
      await initdb(pg, user, dataDir, superuser, pwfile);
      fs.rmSync(pwfile);
    }
    const initdbMs = Date.now() - t0;

    for (let attempt = 1; ; attempt++) {
      const port = await freePort();
      const settings: Record<string, string> = {
        listen_addresses: '127.0.0.1',
        unix_socket_directories: path.join(baseDir, 'sock'),
        fsync: 'off',
        synchronous_commit: 'off',
        full_page_writes: 'off',
        logging_collector: 'off',
        shared_buffers: '32MB',
        max_connections: '30',
        ...(options.settings ?? {}),
      };
      const started = Date.now();
      const proc = startProcess({
        name,
        command: setpriv,
        args: [...asUser(user), path.join(pg.binDir, 'postgres'), '-D', dataDir, '-p', String(port),
          ...Object.entries(settings).flatMap(([k, v]) => ['-c', `${k}=${v}`])],
        env: cleanEnv({ HOME: baseDir }),
      });
      const server = new PostgresServer({
        version: pg.version,
        port,
        baseDir,
        superuser,
        superuserPassword,
        user: normalUser,
        password,
        database,
        osUser: user,
        process: proc,
        initdbMs,
      });
      try {
        await waitFor(async () => proc.output().includes('database system is ready to accept connections') && canConnect(port), timeoutMs, {
          intervalMs: 20,
          description: `postgres on 127.0.0.1:${port}`,
          abort: () => proc.exited ? `postgres exited (${JSON.stringify(proc.exited)}):\n${proc.output(4000)}` : undefined,
        });
        const setup = [
          ...(fromTemplate ? [`ALTER ROLE ${quoteIdent(superuser)} PASSWORD ${pgString(superuserPassword)};`] : []),
          ...(normalUser ? [
            `CREATE ROLE ${quoteIdent(normalUser)} LOGIN PASSWORD ${pgString(password!)};`,
            `CREATE DATABASE ${quoteIdent(database!)} OWNER ${quoteIdent(normalUser)};`,
          ] : []),
          'SELECT 1;',
        ].join('\n');
        const r = await server.client('psql', ['-X', '-q', '-A', '-t', '-v', 'ON_ERROR_STOP=1', '-f', '-'], {
          user: superuser, db: 'postgres', socket: true, input: setup, env: { PGPASSWORD: initialPassword },
        });
        if (r.code !== 0) {
          throw new Error(`postgres setup (roles, database) failed: ${r.stderr.trim()}`);
        }
      } catch (e) {
        await proc.stop();
        if (attempt < 3 && /could not bind|address already in use/i.test(String(e))) {
          continue;
        }
        throw e;
      }
      return server.markReady(Date.now() - started);
    }
  } catch (e) {
    fs.rmSync(baseDir, { recursive: true, force: true });
    throw e;
  }
}

/**
 * A second, empty server to restore into: the same superuser, normal user and passwords as `source`
 * and an empty database of the same name (override with `options`, e.g. `{ user: null }` for a
 * pg_dumpall restore, which creates roles and databases itself).
 */
export function startPostgresLike(source: PostgresServer, options: StartPostgresOptions = {}): Promise<PostgresServer> {
  return startPostgres({
    version: source.version,
    superuser: source.superuser,
    superuserPassword: source.superuserPassword,
    user: source.user ?? null,
    password: source.password,
    database: source.database,
    name: 'postgres-restore',
    ...options,
  });
}
