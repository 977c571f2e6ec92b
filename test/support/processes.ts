/**
 * Long-running helper processes for end-to-end tests (etcd, s3rver, ...).
 *
 * - Every process is started in its own process group (`detached: true`) and
 *   `stop()` signals the whole group: SIGTERM, then SIGKILL after 2 s, then
 *   waits until no live member of the group is left.
 * - A registry of running processes is cleaned up on process 'exit', SIGINT
 *   and SIGTERM (of the host process: jest gives tests a copy of `process`
 *   whose events never fire); a tiny detached reaper (`sh`) also kills them if this Node
 *   process dies without running any handler (SIGKILL, OOM, jest worker
 *   killed): it reads process group ids from a pipe and acts on EOF.
 * - Children get an explicit environment (`cleanEnv`), never `process.env`:
 *   this machine exports AWS_CA_BUNDLE, GRPC_DEFAULT_SSL_ROOTS_FILE_PATH and a
 *   PATH with a pyenv awscli v1 that corrupts uploads.
 */
import { ChildProcess, spawn } from 'child_process';
import * as fs from 'fs';
import * as net from 'net';
import * as os from 'os';
import * as path from 'path';
import * as vm from 'vm';

/** The PATH every child gets: system tools only, no pyenv/cargo shims. */
export const CLEAN_PATH = '/usr/local/bin:/usr/bin:/bin';

/**
 * An explicit environment for a child process: PATH, LANG and TZ, plus `extra`.
 * Nothing is inherited from `process.env`.
 */
export function cleanEnv(extra: Record<string, string | undefined> = {}): Record<string, string> {
  const env: Record<string, string> = { PATH: CLEAN_PATH, LANG: 'C.UTF-8', TZ: 'UTC' };
  for (const [k, v] of Object.entries(extra)) {
    if (v !== undefined) {
      env[k] = v;
    }
  }
  return env;
}

export interface StartProcessOptions {
  /** Short name used in messages and the default log file name. */
  readonly name: string;
  /** Executable (absolute path recommended). */
  readonly command: string;
  readonly args: readonly string[];
  /** Complete environment of the child; defaults to `cleanEnv()`. */
  readonly env?: Record<string, string>;
  readonly cwd?: string;
  /**
   * stdout and stderr are appended here.
   * @default - a file in a per-process log dir, removed at exit unless FIXTURE_KEEP_LOGS=1
   */
  readonly logFile?: string;
}

export interface ExitInfo {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

/** A process started by `startProcess`. */
export class ManagedProcess {
  /** pid of the leader, which is also the process group id. */
  public readonly pid: number;
  public readonly name: string;
  public readonly logFile: string;
  private readonly child: ChildProcess;
  private exitInfo: ExitInfo | undefined;
  private readonly exitPromise: Promise<ExitInfo>;
  private stopping: Promise<void> | undefined;

  /** @internal */
  constructor(options: StartProcessOptions, logFile: string) {
    this.name = options.name;
    this.logFile = logFile;
    const fd = fs.openSync(logFile, 'a');
    try {
      this.child = spawn(options.command, [...options.args], {
        detached: true,
        cwd: options.cwd,
        env: options.env ?? cleanEnv(),
        stdio: ['ignore', fd, fd],
      });
    } finally {
      fs.closeSync(fd);
    }
    if (this.child.pid === undefined) {
      throw new Error(`failed to start ${options.name} (${options.command})`);
    }
    this.pid = this.child.pid;
    this.exitPromise = new Promise((resolve) => {
      this.child.once('exit', (code, signal) => {
        this.exitInfo = { code, signal };
        resolve(this.exitInfo);
      });
      this.child.once('error', () => {
        this.exitInfo = this.exitInfo ?? { code: null, signal: null };
        resolve(this.exitInfo);
      });
    });
    // A forgotten process must not keep jest alive; the exit handler kills it.
    this.child.unref();
  }

  /** Set once the leader has exited. */
  public get exited(): ExitInfo | undefined {
    return this.exitInfo;
  }

  /** Resolves when the leader exits. */
  public waitForExit(): Promise<ExitInfo> {
    return this.exitPromise;
  }

  /** The last `maxBytes` of the process's combined stdout/stderr. */
  public output(maxBytes = 16_384): string {
    try {
      const buf = fs.readFileSync(this.logFile);
      return buf.subarray(Math.max(0, buf.length - maxBytes)).toString('utf8');
    } catch {
      return '';
    }
  }

  /** pids of live (non-zombie) processes in this process group. */
  public groupMembers(): number[] {
    return processGroupMembers(this.pid);
  }

  /**
   * Kills the whole process group: SIGTERM, SIGKILL after `graceMs`, then
   * waits until the leader has exited and no live member of the group is left.
   * Idempotent.
   */
  public stop(graceMs = 2000): Promise<void> {
    if (!this.stopping) {
      this.stopping = this.doStop(graceMs);
    }
    return this.stopping;
  }

  private async doStop(graceMs: number): Promise<void> {
    const pgid = this.pid;
    killGroup(pgid, 'SIGTERM');
    const deadline = Date.now() + graceMs;
    while (Date.now() < deadline && (!this.exitInfo || processGroupMembers(pgid).length > 0)) {
      await sleep(25);
    }
    if (!this.exitInfo || processGroupMembers(pgid).length > 0) {
      killGroup(pgid, 'SIGKILL');
      await waitFor(() => this.exitInfo !== undefined && processGroupMembers(pgid).length === 0, 10_000,
        { description: `${this.name} (pgid ${pgid}) to die after SIGKILL` });
    }
    unregister(this);
  }
}

/** A process the global cleanup knows about. */
interface Registered {
  readonly pid: number;
  stop(): Promise<void>;
}

/**
 * State shared by every copy of this module in the Node process. Jest loads
 * modules afresh for each test file and gives tests a *copy* of `process`
 * whose `on('exit' | 'SIGINT' | 'SIGTERM')` never fires, so the handlers go on
 * the host process (reached through `vm.runInThisContext`) and are installed
 * once per Node process, with one registry, one reaper and one port set.
 */
interface SharedState {
  readonly registry: Set<Registered>;
  readonly handedOutPorts: Set<number>;
  logDir?: string;
  logCounter: number;
  cleanupInstalled: boolean;
  reaper?: ChildProcess;
}

const STATE_KEY = Symbol.for('cdk8s-backup/test/support/processes');

function hostProcess(): NodeJS.Process {
  try {
    const host = vm.runInThisContext('typeof process === "object" ? process : undefined') as NodeJS.Process | undefined;
    if (host && typeof host.on === 'function' && host.pid === process.pid) {
      return host;
    }
  } catch {
    // not available: fall back to this context's process
  }
  return process;
}

const host = hostProcess();
const state: SharedState = ((host as unknown as Record<symbol, SharedState>)[STATE_KEY] ??= {
  registry: new Set<Registered>(),
  handedOutPorts: new Set<number>(),
  logCounter: 0,
  cleanupInstalled: false,
});
const registry = state.registry;

/** Starts `command` in its own process group and registers it for cleanup. */
export function startProcess(options: StartProcessOptions): ManagedProcess {
  installCleanup();
  let logFile = options.logFile;
  if (!logFile) {
    state.logDir = state.logDir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'fixture-logs-'));
    logFile = path.join(state.logDir, `${options.name.replace(/[^A-Za-z0-9_.-]/g, '_')}-${++state.logCounter}.log`);
  }
  const proc = new ManagedProcess(options, logFile);
  registry.add(proc);
  reaperSend(`+${proc.pid}`);
  return proc;
}

function unregister(proc: Registered): void {
  if (registry.delete(proc)) {
    reaperSend(`-${proc.pid}`);
  }
}

/** Processes started (by any copy of this module) and not yet stopped. */
export function runningProcesses(): Array<{ readonly pid: number }> {
  return [...registry];
}

/** Stops every registered process (in parallel). */
export async function stopAll(): Promise<void> {
  await Promise.all([...registry].map((p) => p.stop()));
}

/** Synchronous last resort: SIGKILL every registered process group. */
function killAllSync(): void {
  for (const proc of registry) {
    killGroup(proc.pid, 'SIGKILL');
    reaperSend(`-${proc.pid}`);
  }
}

function killGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch {
    // group already gone
  }
}

/**
 * True if `pid` is a live process. A zombie counts as dead: here PID 1
 * (/process_api) reaps orphans only after a while, so /proc/<pid> lingers.
 */
export function isAlive(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const procState = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0];
    return procState !== 'Z' && procState !== 'X';
  } catch {
    return false;
  }
}

/** pids of live (non-zombie) processes whose process group is `pgid` (reads /proc). */
export function processGroupMembers(pgid: number): number[] {
  const members: number[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) {
      continue;
    }
    let stat: string;
    try {
      stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue;
    }
    // fields after "(comm) ": state ppid pgrp ...
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (Number(fields[2]) === pgid && fields[0] !== 'Z' && fields[0] !== 'X') {
      members.push(Number(entry));
    }
  }
  return members;
}

// ---------------------------------------------------------------------------
// global cleanup

const REAPER_SCRIPT = [
  'pgids=""',
  'while IFS= read -r line; do',
  '  case "$line" in',
  '    +*) pgids="$pgids ${line#+}" ;;',
  '    -*) keep=""; for p in $pgids; do [ "$p" = "${line#-}" ] || keep="$keep $p"; done; pgids="$keep" ;;',
  '  esac',
  'done',
  '[ -n "$pgids" ] || exit 0',
  'for p in $pgids; do kill -TERM "-$p" 2>/dev/null; done',
  'sleep 2',
  'for p in $pgids; do kill -KILL "-$p" 2>/dev/null; done',
  'exit 0',
].join('\n');

function installCleanup(): void {
  if (state.cleanupInstalled) {
    return;
  }
  state.cleanupInstalled = true;
  host.on('exit', () => {
    killAllSync();
    // Logs of a normal run are not worth keeping; set FIXTURE_KEEP_LOGS=1 to keep them.
    if (state.logDir && host.env.FIXTURE_KEEP_LOGS !== '1') {
      try {
        fs.rmSync(state.logDir, { recursive: true, force: true });
      } catch {
        // best effort
      }
    }
  });
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    const handler = (): void => {
      killAllSync();
      registry.clear();
      // If nobody else handles the signal, restore the default behaviour (die by it).
      if (host.listenerCount(signal) === 1) {
        host.removeListener(signal, handler);
        host.kill(host.pid, signal);
      }
    };
    host.on(signal, handler);
  }
  try {
    const reaper = spawn('/bin/sh', ['-c', REAPER_SCRIPT], {
      detached: true,
      env: cleanEnv(),
      stdio: ['pipe', 'ignore', 'ignore'],
    });
    state.reaper = reaper;
    reaper.on('error', () => {
      state.reaper = undefined;
    });
    reaper.stdin?.on('error', () => undefined);
    reaper.unref();
    (reaper.stdin as unknown as net.Socket | null)?.unref();
  } catch {
    state.reaper = undefined;
  }
}

function reaperSend(line: string): void {
  try {
    state.reaper?.stdin?.write(`${line}\n`);
  } catch {
    // reaper is best effort
  }
}

// ---------------------------------------------------------------------------
// ports and waiting

const handedOutPorts = state.handedOutPorts;

/**
 * A free TCP port on 127.0.0.1 (bind to port 0 and read it back). Never hands
 * out the same port twice in one process. The port is free when returned; a
 * different process could still take it before the caller binds it.
 */
export async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = await new Promise<number>((resolve, reject) => {
      const server = net.createServer();
      server.unref();
      server.once('error', reject);
      server.listen({ host: '127.0.0.1', port: 0, exclusive: true }, () => {
        const address = server.address() as net.AddressInfo;
        server.close(() => resolve(address.port));
      });
    });
    if (!handedOutPorts.has(port)) {
      handedOutPorts.add(port);
      return port;
    }
  }
  throw new Error('freePort: no new free port after 50 attempts');
}

/** True if a TCP connection to address:port is accepted (within `timeoutMs`). */
export function canConnect(port: number, address = '127.0.0.1', timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: address, port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

export interface WaitForOptions {
  /** Delay between attempts. @default 50 */
  readonly intervalMs?: number;
  /** What we wait for, used in the timeout message. */
  readonly description?: string;
  /** Checked before every attempt; a returned string aborts the wait with that message. */
  readonly abort?: () => string | undefined;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Calls `fn` until it returns a truthy value (which is returned) or until
 * `timeoutMs` elapses. Exceptions thrown by `fn` count as "not yet"; the last
 * one is reported on timeout.
 */
export async function waitFor<T>(
  fn: () => T | Promise<T>,
  timeoutMs: number,
  options: WaitForOptions = {},
): Promise<NonNullable<T>> {
  const interval = options.intervalMs ?? 50;
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    const aborted = options.abort?.();
    if (aborted !== undefined) {
      throw new Error(`waitFor(${options.description ?? 'condition'}) aborted: ${aborted}`);
    }
    try {
      const value = await fn();
      if (value) {
        return value as NonNullable<T>;
      }
      lastError = undefined;
    } catch (e) {
      lastError = e;
    }
    if (Date.now() >= deadline) {
      const why = lastError instanceof Error ? `: ${lastError.message}` : lastError !== undefined ? `: ${String(lastError)}` : '';
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${options.description ?? 'condition'}${why}`);
    }
    await sleep(interval);
  }
}
