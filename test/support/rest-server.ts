/**
 * restic's REST server (Debian's restic-rest-server 0.13.0, unpacked by scripts/setup.sh) on plain
 * HTTP at 127.0.0.1: a backup server that refuses deletes to its clients with `--append-only`
 * (DELETE is allowed on locks/ only).
 *
 * - Two instances may serve the same data directory: an append-only one (the writer's URL) and a
 *   full one (the maintainer's URL), each with its own users (htpasswd file).
 * - Users are written as `{SHA}` htpasswd entries (base64 of the password's SHA-1: the server
 *   accepts those and bcrypt), so no htpasswd tool is needed. No users: `--no-auth`.
 * - `--private-repos`: a user reaches only the repositories under `/<user>/`.
 * - It listens on port 0; the port is read from its "start server on" line.
 * - restic's URL: `rest:http://user:password@127.0.0.1:PORT/<user>/<repo>/`, or the URL without
 *   credentials and RESTIC_REST_USERNAME / RESTIC_REST_PASSWORD (restic 0.18.0 reads those only
 *   when the URL has neither: internal/backend/rest/config.go ApplyEnvironment).
 */
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { canConnect, cleanEnv, ManagedProcess, startProcess, waitFor } from './processes';
import { restServerBinary } from './tools';

export interface StartRestServerOptions {
  /** The server's `--path` (created if missing); not removed by `stop()`. */
  readonly dataDir: string;
  /** `--append-only`: no DELETE except on locks/. */
  readonly appendOnly: boolean;
  /** name → password, written to the instance's own htpasswd file. @default - none: `--no-auth` */
  readonly users?: Record<string, string>;
  /** `--private-repos`: each user only under `/<user>/`. @default false */
  readonly privateRepos?: boolean;
  readonly startTimeoutMs?: number;
}

export class RestServer {
  /** http://127.0.0.1:PORT */
  public readonly url: string;
  public readonly port: number;
  public readonly dataDir: string;
  public readonly appendOnly: boolean;
  public readonly process: ManagedProcess;
  public readonly startMs: number;
  private readonly ownedDir: string;

  /** @internal */
  constructor(props: { port: number; dataDir: string; appendOnly: boolean; process: ManagedProcess; startMs: number; ownedDir: string }) {
    this.port = props.port;
    this.url = `http://127.0.0.1:${props.port}`;
    this.dataDir = props.dataDir;
    this.appendOnly = props.appendOnly;
    this.process = props.process;
    this.startMs = props.startMs;
    this.ownedDir = props.ownedDir;
  }

  /**
   * restic repository URL for `repoPath` (e.g. `team/etcd`): `rest:http://user:password@127.0.0.1:PORT/team/etcd/`,
   * without credentials when `user` is not given.
   */
  public resticRepository(repoPath: string, user?: { name: string; password: string }): string {
    const auth = user ? `${encodeURIComponent(user.name)}:${encodeURIComponent(user.password)}@` : '';
    return `rest:http://${auth}127.0.0.1:${this.port}/${repoPath.replace(/^\/+|\/+$/g, '')}/`;
  }

  /** Stops the server (process group) and removes its htpasswd directory; the data dir stays. */
  public async stop(): Promise<void> {
    await this.process.stop();
    fs.rmSync(this.ownedDir, { recursive: true, force: true });
  }
}

/** An htpasswd line the server accepts: `name:{SHA}base64(sha1(password))`. */
export function htpasswdLine(name: string, password: string): string {
  return `${name}:{SHA}${crypto.createHash('sha1').update(password, 'utf8').digest('base64')}`;
}

/** Starts restic's REST server on 127.0.0.1 (a free port) over `dataDir`. */
export async function startRestServer(options: StartRestServerOptions): Promise<RestServer> {
  const t0 = Date.now();
  const bin = restServerBinary();
  fs.mkdirSync(options.dataDir, { recursive: true });
  const ownedDir = fs.mkdtempSync(path.join(os.tmpdir(), 'rest-server-'));
  const args = ['--path', options.dataDir, '--listen', '127.0.0.1:0'];
  const users = Object.entries(options.users ?? {});
  if (users.length > 0) {
    const htpasswd = path.join(ownedDir, 'htpasswd');
    fs.writeFileSync(htpasswd, users.map(([name, password]) => `${htpasswdLine(name, password)}\n`).join(''), { mode: 0o600 });
    args.push('--htpasswd-file', htpasswd);
  } else {
    args.push('--no-auth');
  }
  if (options.appendOnly) {
    args.push('--append-only');
  }
  if (options.privateRepos) {
    args.push('--private-repos');
  }
  const proc = startProcess({
    name: options.appendOnly ? 'rest-server-append-only' : 'rest-server',
    command: bin,
    args,
    env: cleanEnv({ HOME: ownedDir }),
  });
  try {
    const timeout = options.startTimeoutMs ?? 10_000;
    const abort = () => proc.exited ? `rest-server exited (${JSON.stringify(proc.exited)}):\n${proc.output(4000)}` : undefined;
    const port = await waitFor(() => {
      const m = /start server on 127\.0\.0\.1:(\d+)/.exec(proc.output());
      return m ? Number(m[1]) : undefined;
    }, timeout, { description: 'rest-server to listen', abort });
    await waitFor(() => canConnect(port), timeout, { description: `rest-server on 127.0.0.1:${port}`, abort });
    return new RestServer({ port, dataDir: options.dataDir, appendOnly: options.appendOnly, process: proc, startMs: Date.now() - t0, ownedDir });
  } catch (e) {
    await proc.stop();
    fs.rmSync(ownedDir, { recursive: true, force: true });
    throw e;
  }
}
