/**
 * Runs Debian's restic 0.14 (/usr/bin/restic) with an explicit, clean
 * environment. restic 0.14 reads a custom CA only from `--cacert` (there is no
 * RESTIC_CACERT), so the CA is always passed as a flag.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import { cleanEnv } from './processes';

export const RESTIC_BIN = '/usr/bin/restic';

export interface S3Credentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  /** @default - unset (restic asks the server for the bucket location) */
  readonly region?: string;
  /** Used as `--cacert` when `cacert` is not given (an `S3Server` has one). */
  readonly caCertFile?: string;
}

export interface ResticOptions {
  /** RESTIC_REPOSITORY, e.g. `s3:https://127.0.0.1:PORT/bucket/prefix/etcd`. */
  readonly repository: string;
  /** RESTIC_PASSWORD. */
  readonly password: string;
  /** AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (an `S3Server` fits). */
  readonly s3?: S3Credentials;
  /** `--cacert` file. @default - `s3.caCertFile` if any */
  readonly cacert?: string;
  /** RESTIC_CACHE_DIR. @default - `--no-cache` */
  readonly cacheDir?: string;
  /** TMPDIR (restic writes temporary pack files there); also HOME. @default os.tmpdir() */
  readonly tmpDir?: string;
  /** Extra environment variables. */
  readonly env?: Record<string, string>;
  /** Kill restic after this many ms. @default 120000 */
  readonly timeoutMs?: number;
}

export interface ResticResult {
  /** Exit status; -1 if killed by a signal (e.g. the timeout). */
  readonly status: number;
  readonly stdout: string;
  readonly stderr: string;
  /** Full argument list passed to restic. */
  readonly args: string[];
  readonly durationMs: number;
}

/** One entry of `restic snapshots --json` (restic 0.14). */
export interface ResticSnapshot {
  readonly id: string;
  readonly short_id: string;
  readonly time: string;
  readonly tree: string;
  readonly paths: string[];
  readonly hostname: string;
  readonly username?: string;
  readonly tags?: string[];
  readonly parent?: string;
  readonly [field: string]: unknown;
}

/** The environment restic gets: nothing from `process.env`. */
export function resticEnv(options: ResticOptions): Record<string, string> {
  const tmp = options.tmpDir ?? os.tmpdir();
  return cleanEnv({
    HOME: tmp,
    TMPDIR: tmp,
    RESTIC_REPOSITORY: options.repository,
    RESTIC_PASSWORD: options.password,
    RESTIC_CACHE_DIR: options.cacheDir,
    AWS_ACCESS_KEY_ID: options.s3?.accessKeyId,
    AWS_SECRET_ACCESS_KEY: options.s3?.secretAccessKey,
    AWS_DEFAULT_REGION: options.s3?.region,
    ...options.env,
  });
}

/** Global flags: `--cacert` and `--no-cache` (unless a cache dir is given). */
export function resticGlobalArgs(options: ResticOptions): string[] {
  const args: string[] = [];
  const cacert = options.cacert ?? options.s3?.caCertFile;
  if (cacert) {
    args.push('--cacert', cacert);
  }
  if (!options.cacheDir) {
    args.push('--no-cache');
  }
  return args;
}

/** Runs `restic <global flags> <args>`; never throws for a non-zero exit. */
export function restic(args: readonly string[], options: ResticOptions, input?: string | Buffer): ResticResult {
  if (options.tmpDir) {
    fs.mkdirSync(options.tmpDir, { recursive: true });
  }
  const fullArgs = [...resticGlobalArgs(options), ...args];
  const t0 = Date.now();
  const r = spawnSync(RESTIC_BIN, fullArgs, {
    env: resticEnv(options),
    input,
    timeout: options.timeoutMs ?? 120_000,
    killSignal: 'SIGKILL',
    maxBuffer: 256 * 1024 * 1024,
  });
  if (r.error && !r.signal) {
    throw r.error;
  }
  return {
    status: r.status ?? -1,
    stdout: r.stdout?.toString() ?? '',
    stderr: r.stderr?.toString() ?? '',
    args: fullArgs,
    durationMs: Date.now() - t0,
  };
}

/** Like `restic()` but throws (with stderr) unless the exit status is 0. */
export function resticOk(args: readonly string[], options: ResticOptions, input?: string | Buffer): ResticResult {
  const r = restic(args, options, input);
  if (r.status !== 0) {
    throw new Error(`restic ${args.join(' ')} exited ${r.status}:\n${r.stderr.trim() || r.stdout.trim()}`);
  }
  return r;
}

/** `restic init`. */
export function init(options: ResticOptions): ResticResult {
  return resticOk(['init'], options);
}

/** `restic snapshots --json [args]`, parsed. */
export function snapshots(options: ResticOptions, args: readonly string[] = []): ResticSnapshot[] {
  const r = resticOk(['snapshots', '--json', ...args], options);
  return (JSON.parse(r.stdout) ?? []) as ResticSnapshot[];
}

/** The same helpers bound to one repository. */
export class ResticRepo {
  constructor(public readonly options: ResticOptions) {}

  public run(args: readonly string[], input?: string | Buffer): ResticResult {
    return restic(args, this.options, input);
  }

  public ok(args: readonly string[], input?: string | Buffer): ResticResult {
    return resticOk(args, this.options, input);
  }

  public init(): ResticResult {
    return init(this.options);
  }

  public snapshots(args: readonly string[] = []): ResticSnapshot[] {
    return snapshots(this.options, args);
  }
}
