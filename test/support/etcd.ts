/**
 * A real etcd (Debian's etcd-server of one of ETCD_TEST_VERSIONS, tools.ts) on 127.0.0.1 with
 * TLS client-cert auth on the client port and TLS (client-cert auth) between peers, both on free
 * ports, configured the way kubeadm configures its etcd. Snapshots are restored and inspected
 * with etcdutl, as etcd 3.5 documents (`etcdctl snapshot restore|status` are deprecated in 3.5
 * and gone in 3.6).
 *
 * Measured on the dev VM (2 vCPU): start to healthy ~0.3-0.6 s; loadKeys 2000
 * keys ~0.5 s, 10k keys ~2 s; snapshot save ~0.1 s; restore + start ~0.7 s.
 */
import { execFileSync, spawn } from 'child_process';
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { etcdPkiPaths, EtcdPki } from './pki';
import { canConnect, cleanEnv, freePort, ManagedProcess, startProcess, waitFor } from './processes';
import { DEFAULT_ETCD_TEST_VERSION, etcdBinary } from './tools';

/** etcd's default `--max-txn-ops`. */
export const MAX_TXN_OPS = 128;

export interface StartEtcdOptions {
  /** Directory made by `makeEtcdPki` (ca.crt, server.*, peer.*, healthcheck-client.*). */
  readonly pkiDir: string;
  /**
   * Data directory (created by etcd if missing).
   * @default - a fresh temporary directory, removed by `stop()`
   */
  readonly dataDir?: string;
  /** Member name. @default 'etcd-test' */
  readonly name?: string;
  /** Milliseconds to wait for `etcdctl endpoint health`. @default 20000 */
  readonly startTimeoutMs?: number;
  /**
   * Short raft timings (`--heartbeat-interval=10 --election-timeout=100`):
   * a single member then elects itself in ~0.1 s instead of a random 0.1-1 s
   * with etcd's defaults (100/1000). Harmless for a one-member cluster.
   * @default true
   */
  readonly fastElection?: boolean;
  /** Extra etcd flags. */
  readonly extraArgs?: readonly string[];
  /** etcd version (one of ETCD_TEST_VERSIONS) of etcd and the etcdctl the server's helpers run. @default DEFAULT_ETCD_TEST_VERSION */
  readonly version?: string;
}

export interface RestoreAndStartOptions {
  /** Snapshot made by `etcdctl snapshot save`. */
  readonly snapshotFile: string;
  readonly pkiDir: string;
  /**
   * Data directory to restore into; must not exist yet.
   * @default - a fresh temporary path, removed by `stop()`
   */
  readonly dataDir?: string;
  /** Member name of the restored etcd. @default 'etcd-restored' */
  readonly name?: string;
  readonly startTimeoutMs?: number;
  /** See `StartEtcdOptions.fastElection`. @default true */
  readonly fastElection?: boolean;
  readonly extraArgs?: readonly string[];
  /** etcd version of etcdutl (the restore) and etcd. @default DEFAULT_ETCD_TEST_VERSION */
  readonly version?: string;
}

export interface LoadKeysOptions {
  /** @default '/fixtures/key-' */
  readonly prefix?: string;
  /** Value length in bytes. @default 64 */
  readonly valueBytes?: number;
  /** Index of the first key (keys are `${prefix}${index padded to 6}`). @default 0 */
  readonly start?: number;
  /** Ops per `etcdctl txn` (≤ 128, etcd's --max-txn-ops). @default 128 */
  readonly batchSize?: number;
  /** etcdctl processes running at once. @default 4 */
  readonly concurrency?: number;
}

export interface LoadKeysResult {
  readonly keys: string[];
  /** Store revision after the load. */
  readonly revision: number;
  readonly durationMs: number;
}

export interface SnapshotStatus {
  readonly hash: number;
  readonly revision: number;
  /** Counts revisions and internal keys, not live keys. */
  readonly totalKey: number;
  readonly totalSize: number;
}

/** Deterministic value for `key`: hex sha256 of the key, repeated to `valueBytes`. */
export function valueFor(key: string, valueBytes = 64): string {
  const hex = crypto.createHash('sha256').update(key).digest('hex');
  return hex.repeat(Math.ceil(valueBytes / hex.length)).slice(0, valueBytes);
}

/** Key number `index` as `loadKeys` names it. */
export function keyFor(index: number, prefix = '/fixtures/key-'): string {
  return `${prefix}${String(index).padStart(6, '0')}`;
}

function quote(s: string): string {
  // etcdctl txn parses Go-quoted strings; JSON string syntax is a subset here.
  return JSON.stringify(s);
}

function errorText(e: unknown): string {
  const err = e as { stderr?: Buffer | string; stdout?: Buffer | string; message?: string };
  const stderr = err.stderr?.toString().trim();
  return stderr || err.message || String(e);
}

export class EtcdServer {
  /** https://127.0.0.1:PORT */
  public readonly endpoint: string;
  public readonly clientPort: number;
  public readonly peerPort: number;
  public readonly peerUrl: string;
  public readonly name: string;
  public readonly dataDir: string;
  public readonly pki: EtcdPki;
  public readonly process: ManagedProcess;
  /** Milliseconds from spawn to a passing `endpoint health`. */
  public readonly startMs: number;
  /** Milliseconds `etcdutl snapshot restore` took (restoreAndStart only). */
  public readonly restoreMs?: number;
  /** The etcd version this server runs (its etcdctl is of the same version). */
  public readonly version: string;
  private readonly ownedDir?: string;

  /** @internal */
  constructor(props: {
    name: string;
    dataDir: string;
    pki: EtcdPki;
    clientPort: number;
    peerPort: number;
    process: ManagedProcess;
    startMs: number;
    restoreMs?: number;
    ownedDir?: string;
    version: string;
  }) {
    this.name = props.name;
    this.dataDir = props.dataDir;
    this.pki = props.pki;
    this.clientPort = props.clientPort;
    this.peerPort = props.peerPort;
    this.endpoint = `https://127.0.0.1:${props.clientPort}`;
    this.peerUrl = `https://127.0.0.1:${props.peerPort}`;
    this.process = props.process;
    this.startMs = props.startMs;
    this.restoreMs = props.restoreMs;
    this.ownedDir = props.ownedDir;
    this.version = props.version;
  }

  public get pid(): number {
    return this.process.pid;
  }

  /** The ETCDCTL_* variables that point etcdctl at this server with the client cert. */
  public env(): Record<string, string> {
    return etcdctlEnv(this.endpoint, this.pki);
  }

  /** Runs etcdctl (clean env + `env()`), returns stdout; throws with stderr on failure. */
  public etcdctl(args: readonly string[], options: { input?: string; timeoutMs?: number } = {}): string {
    try {
      return execFileSync(etcdBinary('etcdctl', this.version), [...args], {
        env: cleanEnv(this.env()),
        input: options.input,
        timeout: options.timeoutMs ?? 60_000,
        maxBuffer: 512 * 1024 * 1024,
        stdio: ['pipe', 'pipe', 'pipe'],
      }).toString();
    } catch (e) {
      throw new Error(`etcdctl ${args.join(' ')} failed: ${errorText(e)}`);
    }
  }

  /** Like `etcdctl()` but asynchronous (used to run txn batches in parallel). */
  public etcdctlAsync(args: readonly string[], input?: string): Promise<string> {
    return new Promise((resolve, reject) => {
      const child = spawn(etcdBinary('etcdctl', this.version), [...args], { env: cleanEnv(this.env()), stdio: ['pipe', 'pipe', 'pipe'] });
      const out: Buffer[] = [];
      const err: Buffer[] = [];
      child.stdout.on('data', (b: Buffer) => out.push(b));
      child.stderr.on('data', (b: Buffer) => err.push(b));
      child.on('error', reject);
      child.on('close', (code) => {
        if (code === 0) {
          resolve(Buffer.concat(out).toString());
        } else {
          reject(new Error(`etcdctl ${args.join(' ')} exited ${code}: ${Buffer.concat(err).toString().trim()}`));
        }
      });
      child.stdin.end(input ?? '');
    });
  }

  /**
   * Puts `n` keys `${prefix}000000…` with deterministic values (`valueFor`),
   * in `etcdctl txn` batches of ≤ 128 puts, `concurrency` batches at a time.
   */
  public async loadKeys(n: number, options: LoadKeysOptions = {}): Promise<LoadKeysResult> {
    const t0 = Date.now();
    const prefix = options.prefix ?? '/fixtures/key-';
    const valueBytes = options.valueBytes ?? 64;
    const start = options.start ?? 0;
    const batchSize = Math.min(options.batchSize ?? MAX_TXN_OPS, MAX_TXN_OPS);
    const concurrency = Math.max(1, options.concurrency ?? 4);
    const keys: string[] = [];
    for (let i = start; i < start + n; i++) {
      keys.push(keyFor(i, prefix));
    }
    const batches: string[] = [];
    for (let i = 0; i < keys.length; i += batchSize) {
      const puts = keys.slice(i, i + batchSize).map((k) => `put ${quote(k)} ${quote(valueFor(k, valueBytes))}`);
      // txn stdin: compares, blank line, success ops, blank line, failure ops, blank line
      batches.push(`\n${puts.join('\n')}\n\n\n`);
    }
    let next = 0;
    const worker = async () => {
      while (next < batches.length) {
        const input = batches[next++];
        const out = await this.etcdctlAsync(['txn'], input);
        if (!out.startsWith('SUCCESS')) {
          throw new Error(`etcdctl txn did not succeed: ${out.slice(0, 200)}`);
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, batches.length) }, worker));
    return { keys, revision: this.revision(), durationMs: Date.now() - t0 };
  }

  /** All keys and values (`get "" --prefix -w json`, base64-decoded). */
  public dump(prefix = ''): Map<string, string> {
    const out = JSON.parse(this.etcdctl(['get', prefix, '--prefix', '-w', 'json']));
    const map = new Map<string, string>();
    for (const kv of (out.kvs ?? []) as Array<{ key: string; value?: string }>) {
      map.set(Buffer.from(kv.key, 'base64').toString('utf8'), Buffer.from(kv.value ?? '', 'base64').toString('utf8'));
    }
    return map;
  }

  /** Current store revision (`endpoint status -w json`). */
  public revision(): number {
    const out = JSON.parse(this.etcdctl(['endpoint', 'status', '-w', 'json']));
    return Number(out[0].Status.header.revision);
  }

  /** Number of live keys under `prefix` (optionally at revision `rev`). */
  public keyCount(prefix = '', rev?: number): number {
    const args = ['get', prefix, '--prefix', '--keys-only', '--limit=1', '-w', 'json'];
    if (rev !== undefined) {
      args.push(`--rev=${rev}`);
    }
    return Number(JSON.parse(this.etcdctl(args)).count ?? 0);
  }

  /** `etcdctl snapshot save <file>`; returns the file. */
  public snapshotSave(file: string): string {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    this.etcdctl(['snapshot', 'save', file]);
    return file;
  }

  /** Stops etcd (process group, SIGTERM then SIGKILL) and removes a temporary data dir. */
  public async stop(): Promise<void> {
    await this.process.stop();
    if (this.ownedDir) {
      fs.rmSync(this.ownedDir, { recursive: true, force: true });
    }
  }
}

/** ETCDCTL_* env for `endpoint` using the kubeadm healthcheck-client cert (etcdctl 3.5 speaks v3 without ETCDCTL_API). */
export function etcdctlEnv(endpoint: string, pki: EtcdPki): Record<string, string> {
  return {
    ETCDCTL_ENDPOINTS: endpoint,
    ETCDCTL_CACERT: pki.caCert,
    ETCDCTL_CERT: pki.clientCert,
    ETCDCTL_KEY: pki.clientKey,
  };
}

/** `etcdutl snapshot status <file> -w json` (no server needed). */
export function snapshotStatus(file: string, version: string = DEFAULT_ETCD_TEST_VERSION): SnapshotStatus {
  try {
    const out = execFileSync(etcdBinary('etcdutl', version), ['snapshot', 'status', file, '-w', 'json'], {
      env: cleanEnv(),
      stdio: ['ignore', 'pipe', 'pipe'],
    }).toString();
    return JSON.parse(out) as SnapshotStatus;
  } catch (e) {
    throw new Error(`etcdutl snapshot status ${file} failed: ${errorText(e)}`);
  }
}

function etcdArgs(o: {
  name: string; dataDir: string; pki: EtcdPki; clientPort: number; peerPort: number; fastElection: boolean;
}): string[] {
  const client = `https://127.0.0.1:${o.clientPort}`;
  const peer = `https://127.0.0.1:${o.peerPort}`;
  return [
    `--name=${o.name}`,
    `--data-dir=${o.dataDir}`,
    `--listen-client-urls=${client}`,
    `--advertise-client-urls=${client}`,
    `--listen-peer-urls=${peer}`,
    `--initial-advertise-peer-urls=${peer}`,
    `--initial-cluster=${o.name}=${peer}`,
    '--initial-cluster-state=new',
    `--initial-cluster-token=${o.name}`,
    '--client-cert-auth=true',
    `--trusted-ca-file=${o.pki.caCert}`,
    `--cert-file=${o.pki.serverCert}`,
    `--key-file=${o.pki.serverKey}`,
    '--peer-client-cert-auth=true',
    `--peer-trusted-ca-file=${o.pki.caCert}`,
    `--peer-cert-file=${o.pki.peerCert}`,
    `--peer-key-file=${o.pki.peerKey}`,
    '--snapshot-count=10000',
    `--heartbeat-interval=${o.fastElection ? 10 : 100}`,
    `--election-timeout=${o.fastElection ? 100 : 1000}`,
    '--logger=zap',
    '--log-outputs=stderr',
  ];
}

async function launch(o: {
  name: string;
  dataDir: string;
  pki: EtcdPki;
  clientPort: number;
  peerPort: number;
  timeoutMs: number;
  fastElection: boolean;
  extraArgs?: readonly string[];
  version: string;
}): Promise<{ proc: ManagedProcess; startMs: number }> {
  const t0 = Date.now();
  const etcdctl = etcdBinary('etcdctl', o.version);
  const proc = startProcess({
    name: `etcd-${o.name}`,
    command: etcdBinary('etcd', o.version),
    args: [...etcdArgs(o), ...(o.extraArgs ?? [])],
    env: cleanEnv(),
  });
  const env = cleanEnv(etcdctlEnv(`https://127.0.0.1:${o.clientPort}`, o.pki));
  try {
    // etcdctl's gRPC dial retries a refused connection until --dial-timeout,
    // so only ask it once the port accepts connections.
    await waitFor(() => canConnect(o.clientPort), o.timeoutMs, {
      intervalMs: 20,
      description: `etcd ${o.name} to listen on 127.0.0.1:${o.clientPort}`,
      abort: () => proc.exited ? `etcd exited (${JSON.stringify(proc.exited)}):\n${proc.output(4000)}` : undefined,
    });
    await waitFor(() => {
      execFileSync(etcdctl, ['endpoint', 'health', '--dial-timeout=1s', '--command-timeout=2s'], {
        env, stdio: ['ignore', 'pipe', 'pipe'], timeout: 5000,
      });
      return true;
    }, o.timeoutMs, {
      intervalMs: 50,
      description: `etcd ${o.name} on 127.0.0.1:${o.clientPort} to be healthy`,
      abort: () => proc.exited ? `etcd exited (${JSON.stringify(proc.exited)}):\n${proc.output(4000)}` : undefined,
    });
  } catch (e) {
    await proc.stop();
    throw e;
  }
  return { proc, startMs: Date.now() - t0 };
}

/**
 * Starts etcd (`options.version`, default DEFAULT_ETCD_TEST_VERSION) with TLS client-cert auth on free client and peer ports on
 * 127.0.0.1 and waits until `etcdctl endpoint health` passes. Retries with new
 * ports if a port was taken in between.
 */
export async function startEtcd(options: StartEtcdOptions): Promise<EtcdServer> {
  const pki = etcdPkiPaths(options.pkiDir);
  const name = options.name ?? 'etcd-test';
  const version = options.version ?? DEFAULT_ETCD_TEST_VERSION;
  const ownedDir = options.dataDir ? undefined : fs.mkdtempSync(path.join(os.tmpdir(), 'etcd-data-'));
  const dataDir = options.dataDir ?? path.join(ownedDir!, 'data');
  for (let attempt = 1; ; attempt++) {
    const clientPort = await freePort();
    const peerPort = await freePort();
    try {
      const { proc, startMs } = await launch({
        name,
        dataDir,
        pki,
        clientPort,
        peerPort,
        timeoutMs: options.startTimeoutMs ?? 20_000,
        fastElection: options.fastElection ?? true,
        extraArgs: options.extraArgs,
        version,
      });
      return new EtcdServer({ name, dataDir, pki, clientPort, peerPort, process: proc, startMs, ownedDir, version });
    } catch (e) {
      if (attempt >= 3 || !/address already in use/i.test(String(e))) {
        if (ownedDir) {
          fs.rmSync(ownedDir, { recursive: true, force: true });
        }
        throw e;
      }
    }
  }
}

/**
 * Restores `snapshotFile` with `etcdutl snapshot restore` into a new data dir
 * as a one-member cluster and starts a second etcd on it (own client and peer
 * ports). Proves a snapshot restores.
 */
export async function restoreAndStart(options: RestoreAndStartOptions): Promise<EtcdServer> {
  const pki = etcdPkiPaths(options.pkiDir);
  const name = options.name ?? 'etcd-restored';
  const version = options.version ?? DEFAULT_ETCD_TEST_VERSION;
  const ownedDir = options.dataDir ? undefined : fs.mkdtempSync(path.join(os.tmpdir(), 'etcd-restore-'));
  const dataDir = options.dataDir ?? path.join(ownedDir!, 'data');
  const cleanup = () => {
    if (ownedDir) {
      fs.rmSync(ownedDir, { recursive: true, force: true });
    }
  };
  for (let attempt = 1; ; attempt++) {
    const clientPort = await freePort();
    const peerPort = await freePort();
    const peerUrl = `https://127.0.0.1:${peerPort}`;
    if (attempt > 1) {
      fs.rmSync(dataDir, { recursive: true, force: true }); // left by the failed attempt
    }
    const t0 = Date.now();
    try {
      execFileSync(etcdBinary('etcdutl', version), [
        'snapshot', 'restore', options.snapshotFile,
        `--data-dir=${dataDir}`,
        `--name=${name}`,
        `--initial-cluster=${name}=${peerUrl}`,
        `--initial-advertise-peer-urls=${peerUrl}`,
        `--initial-cluster-token=${name}`,
      ], { env: cleanEnv(), stdio: ['ignore', 'pipe', 'pipe'], timeout: 120_000 });
    } catch (e) {
      cleanup();
      throw new Error(`etcdutl snapshot restore ${options.snapshotFile} failed: ${errorText(e)}`);
    }
    const restoreMs = Date.now() - t0;
    try {
      const { proc, startMs } = await launch({
        name,
        dataDir,
        pki,
        clientPort,
        peerPort,
        timeoutMs: options.startTimeoutMs ?? 20_000,
        fastElection: options.fastElection ?? true,
        extraArgs: options.extraArgs,
        version,
      });
      return new EtcdServer({ name, dataDir, pki, clientPort, peerPort, process: proc, startMs, restoreMs, ownedDir, version });
    } catch (e) {
      if (attempt >= 3 || !/address already in use/i.test(String(e))) {
        cleanup();
        throw e;
      }
    }
  }
}
