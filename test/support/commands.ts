/**
 * Small helpers shared by the database harnesses (postgres.ts, mariadb.ts): run a command to
 * completion with an explicit environment, look up an OS user, wrap a command so it runs as that
 * user (`setpriv`, util-linux: the servers refuse to run as root), kill a process tree (postgres
 * backends are process-group leaders of their own: a group kill misses them), and a per-process
 * directory for data-dir templates.
 */
import { spawn } from 'child_process';
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as vm from 'vm';
import { cleanEnv } from './processes';

export const SETPRIV = '/usr/bin/setpriv';

export interface RunOptions {
  /** Extra variables on top of `cleanEnv()` (nothing is inherited from process.env). */
  readonly env?: Record<string, string | undefined>;
  /** Written to stdin (then closed); stdin is empty otherwise. */
  readonly input?: string | Buffer;
  /** Killed with SIGKILL after this. @default 120000 */
  readonly timeoutMs?: number;
  readonly cwd?: string;
}

export interface RunResult {
  /** null when killed by a signal */
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly durationMs: number;
}

/** Runs `command args` to completion (asynchronously: servers and other commands keep running meanwhile). */
export function runCommand(command: string, args: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  const t0 = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(command, [...args], {
      env: cleanEnv(options.env ?? {}),
      cwd: options.cwd,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 120_000);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(new Error(`${command}: ${e.message}`));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({
        code,
        signal,
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
        durationMs: Date.now() - t0,
      });
    });
    child.stdin.on('error', () => undefined); // a command that exits without reading stdin
    child.stdin.end(options.input ?? '');
  });
}

/** Like `runCommand`, but throws (with stderr) unless the command exits 0; returns stdout. */
export async function runChecked(command: string, args: readonly string[], options: RunOptions = {}): Promise<string> {
  const r = await runCommand(command, args, options);
  if (r.code !== 0) {
    throw new Error(`${command} ${args.join(' ')} exited ${r.code ?? r.signal}: ${r.stderr.trim() || r.stdout.trim()}`);
  }
  return r.stdout;
}

export interface OsUser {
  readonly name: string;
  readonly uid: number;
  readonly gid: number;
}

/** The first of `names` that /etc/passwd has (e.g. the `postgres` user the Debian package creates, else `nobody`). */
export function osUser(...names: string[]): OsUser {
  const entries = fs.readFileSync('/etc/passwd', 'utf8').split('\n').map((l) => l.split(':'));
  for (const name of names) {
    const e = entries.find((f) => f[0] === name && f.length >= 4);
    if (e) {
      return { name, uid: Number(e[2]), gid: Number(e[3]) };
    }
  }
  throw new Error(`none of the OS users ${names.join(', ')} exists`);
}

/** argv prefix that runs a command as `user` (no supplementary groups). */
export function asUser(user: OsUser): string[] {
  return [`--reuid=${user.uid}`, `--regid=${user.gid}`, '--clear-groups', '--'];
}

/** A random password of hex digits (safe in SQL literals, shells and URLs). */
export function randomPassword(): string {
  return crypto.randomBytes(12).toString('hex');
}

/** Makes `dir` (and what is in it) owned by `user`. */
export function chownTree(dir: string, user: OsUser): void {
  fs.chownSync(dir, user.uid, user.gid);
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = `${dir}/${e.name}`;
    if (e.isDirectory()) {
      chownTree(p, user);
    } else {
      fs.lchownSync(p, user.uid, user.gid);
    }
  }
}

/** PostgreSQL string literal: '...' with quotes doubled (standard_conforming_strings is on since 9.1). */
export function pgString(s: string): string {
  return `'${s.replace(/'/g, "''")}'`;
}

/** MariaDB string literal: backslash is an escape character there (unless NO_BACKSLASH_ESCAPES). */
export function mariadbString(s: string): string {
  return `'${s.replace(/\\/g, '\\\\').replace(/'/g, "''")}'`;
}

/** Resolves with `promise`'s value, or undefined after `ms` (the timer is cleared either way: it never keeps jest alive). */
export async function withinMs<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([promise, new Promise<undefined>((resolve) => {
      timer = setTimeout(() => resolve(undefined), ms);
    })]);
  } finally {
    clearTimeout(timer);
  }
}

/** pids of the live descendants of `pid` (children, grandchildren, ...), from /proc: also those in other process groups. */
export function descendants(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const e of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${e}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (fields[0] === 'Z' || fields[0] === 'X') continue;
      const ppid = Number(fields[1]);
      children.set(ppid, [...(children.get(ppid) ?? []), Number(e)]);
    } catch {
      // exited meanwhile
    }
  }
  const out: number[] = [];
  const todo = [pid];
  while (todo.length) {
    for (const c of children.get(todo.pop()!) ?? []) {
      out.push(c);
      todo.push(c);
    }
  }
  return out;
}

/** SIGKILLs `pid` and every descendant at once (a server whose workers are in process groups of their own). */
export function killTree(pid: number, signal: NodeJS.Signals = 'SIGKILL'): number[] {
  const pids = [pid, ...descendants(pid)];
  for (const p of pids) {
    try {
      process.kill(p, signal);
    } catch {
      // gone
    }
  }
  return pids;
}

/** jest sandboxes `process`: exit handlers must go on the real one. */
function realProcess(): NodeJS.Process {
  try {
    const p = vm.runInThisContext('process') as NodeJS.Process | undefined;
    if (p && typeof p.once === 'function' && p.pid === process.pid) return p;
  } catch {
    // fall through
  }
  return process;
}

const TEMPLATES_KEY = Symbol.for('cdk8s-backup/test/support/commands/templates');

/**
 * A directory for data-dir templates (initdb / mariadb-install-db once per Node process, copied for
 * every server), shared by every copy of this module in the process and removed when it exits.
 */
export function templatesDir(): string {
  const host = realProcess() as unknown as Record<symbol, string | undefined> & NodeJS.Process;
  let dir = host[TEMPLATES_KEY];
  if (!dir || !fs.existsSync(dir)) {
    const created = fs.mkdtempSync(path.join(os.tmpdir(), 'db-templates-'));
    fs.chmodSync(created, 0o755);
    host[TEMPLATES_KEY] = dir = created;
    host.once('exit', () => fs.rmSync(created, { recursive: true, force: true }));
  }
  return dir;
}

/** Copies a directory tree keeping owners and modes (`cp -a`, as root). */
export async function copyTree(from: string, to: string): Promise<void> {
  await runChecked('/usr/bin/cp', ['-a', '--', from, to]);
}
