/**
 * A real S3-protocol server (npm `s3rver` 3.7) over HTTPS on 127.0.0.1.
 *
 * restic against s3rver works only over HTTPS: over plain HTTP s3rver stores
 * the aws-chunked signatures into the objects and restic then fails.
 *
 * On-disk layout (s3rver FilesystemStore): `<dataDir>/<bucket>/<dirs of the
 * key>/<last part>._S3rver_object`, next to `…._S3rver_object.md5` and
 * `…._S3rver_metadata.json`; multipart uploads in progress live under
 * `<dataDir>/<bucket>/._S3rver_uploads/`. `listObjects` reads that layout.
 */
import * as fs from 'fs';
import * as https from 'https';
import * as os from 'os';
import * as path from 'path';
import { makeServerCert } from './pki';
import { cleanEnv, ManagedProcess, startProcess, waitFor } from './processes';

const OBJECT_SUFFIX = '._S3rver_object';

export interface StartS3Options {
  /** Bucket created at startup (`--configure-bucket`). */
  readonly bucket: string;
  /**
   * Where s3rver keeps buckets and objects.
   * @default - a fresh temporary directory, removed by `stop()`
   */
  readonly dataDir?: string;
  /**
   * Directory for the CA and the server certificate (`s3rver.crt/.key`,
   * `ca.crt`); an existing ca.crt/ca.key there is reused.
   * @default - a fresh temporary directory, removed by `stop()`
   */
  readonly pkiDir?: string;
  /**
   * Address s3rver listens on and the endpoint names (in the server certificate too), e.g. the
   * far end of a shaped veth (bench). @default '127.0.0.1'
   */
  readonly host?: string;
  /** Words run before s3rver's command, e.g. `['ip', 'netns', 'exec', '<ns>']`. @default none */
  readonly commandPrefix?: readonly string[];
  /** Suppress s3rver's request log. @default false */
  readonly silent?: boolean;
  readonly startTimeoutMs?: number;
}

export interface S3ObjectInfo {
  readonly key: string;
  readonly size: number;
}

export class S3Server {
  /** https://127.0.0.1:PORT */
  public readonly endpoint: string;
  public readonly port: number;
  /** CA that signed the server certificate (restic: `--cacert`). */
  public readonly caCertFile: string;
  /** s3rver's built-in credentials. */
  public readonly accessKeyId = 'S3RVER';
  public readonly secretAccessKey = 'S3RVER';
  public readonly region = 'us-east-1';
  public readonly bucket: string;
  public readonly dataDir: string;
  public readonly process: ManagedProcess;
  public readonly startMs: number;
  private readonly ownedDirs: string[];

  /** @internal */
  constructor(props: {
    port: number;
    host?: string;
    caCertFile: string;
    bucket: string;
    dataDir: string;
    process: ManagedProcess;
    startMs: number;
    ownedDirs: string[];
  }) {
    this.port = props.port;
    this.endpoint = `https://${props.host ?? '127.0.0.1'}:${props.port}`;
    this.caCertFile = props.caCertFile;
    this.bucket = props.bucket;
    this.dataDir = props.dataDir;
    this.process = props.process;
    this.startMs = props.startMs;
    this.ownedDirs = props.ownedDirs;
  }

  public get pid(): number {
    return this.process.pid;
  }

  /** restic repository URL for `path` in this bucket: `s3:https://127.0.0.1:PORT/bucket/path`. */
  public resticRepository(repoPath: string): string {
    return `s3:${this.endpoint}/${this.bucket}/${repoPath.replace(/^\/+/, '')}`;
  }

  /** Objects whose key starts with `prefix`, sorted by key (read from the data dir). */
  public listObjects(prefix = '', bucket = this.bucket): S3ObjectInfo[] {
    const root = path.join(this.dataDir, bucket);
    const result: S3ObjectInfo[] = [];
    const walk = (dir: string, keyPrefix: string) => {
      let entries: fs.Dirent[];
      try {
        entries = fs.readdirSync(dir, { withFileTypes: true });
      } catch {
        return;
      }
      for (const entry of entries) {
        if (entry.isDirectory()) {
          if (keyPrefix === '' && entry.name === '._S3rver_uploads') {
            continue;
          }
          walk(path.join(dir, entry.name), `${keyPrefix}${entry.name}/`);
        } else if (entry.isFile() && entry.name.endsWith(OBJECT_SUFFIX)) {
          const key = keyPrefix + entry.name.slice(0, -OBJECT_SUFFIX.length);
          if (key.startsWith(prefix)) {
            result.push({ key, size: fs.statSync(path.join(dir, entry.name)).size });
          }
        }
      }
    };
    walk(root, '');
    return result.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  /** Content of an object, read from the data dir. */
  public readObject(key: string, bucket = this.bucket): Buffer {
    return fs.readFileSync(path.join(this.dataDir, bucket, `${key}${OBJECT_SUFFIX}`));
  }

  /** Stops s3rver (process group) and removes temporary directories it owns. */
  public async stop(): Promise<void> {
    await this.process.stop();
    for (const dir of this.ownedDirs) {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }
}

function s3rverScript(): string {
  return require.resolve('s3rver/bin/s3rver.js');
}

function httpsStatus(url: string, ca: Buffer): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = https.get(url, { ca, timeout: 2000 }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
  });
}

/**
 * Starts s3rver over HTTPS on 127.0.0.1 with `bucket` created. It listens on
 * port 0 and we read the port from its "S3rver listening on" line (no race for
 * a free port), then wait until an HTTPS request verified against the CA works.
 */
export async function startS3(options: StartS3Options): Promise<S3Server> {
  const t0 = Date.now();
  const ownedDirs: string[] = [];
  const tmp = (label: string) => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), `s3rver-${label}-`));
    ownedDirs.push(dir);
    return dir;
  };
  const dataDir = options.dataDir ?? tmp('data');
  fs.mkdirSync(dataDir, { recursive: true });
  const host = options.host ?? '127.0.0.1';
  const cert = makeServerCert(options.pkiDir ?? tmp('pki'), 's3rver', host === '127.0.0.1' ? [] : [`IP:${host}`]);
  const args = [
    s3rverScript(),
    '-d', dataDir,
    '-a', host,
    '-p', '0',
    '--key', cert.key,
    '--cert', cert.cert,
    '--no-vhost-buckets',
    '--configure-bucket', options.bucket,
  ];
  if (options.silent) {
    args.push('--silent');
  }
  const prefix = options.commandPrefix ?? [];
  const proc = startProcess({
    name: 's3rver',
    command: prefix.length > 0 ? prefix[0] : process.execPath,
    args: prefix.length > 0 ? [...prefix.slice(1), process.execPath, ...args] : args,
    env: cleanEnv({ HOME: dataDir }),
  });
  try {
    const timeout = options.startTimeoutMs ?? 20_000;
    const abort = () => proc.exited ? `s3rver exited (${JSON.stringify(proc.exited)}):\n${proc.output(4000)}` : undefined;
    const port = await waitFor(() => {
      const m = /S3rver listening on [^:\s]+:(\d+)/.exec(proc.output());
      return m ? Number(m[1]) : undefined;
    }, timeout, { description: 's3rver to listen', abort });
    const ca = fs.readFileSync(cert.caCert);
    await waitFor(async () => (await httpsStatus(`https://${host}:${port}/`, ca)) > 0, timeout,
      { description: `s3rver HTTPS on ${host}:${port}`, abort });
    return new S3Server({
      port,
      host,
      caCertFile: cert.caCert,
      bucket: options.bucket,
      dataDir,
      process: proc,
      startMs: Date.now() - t0,
      ownedDirs,
    });
  } catch (e) {
    await proc.stop();
    for (const dir of ownedDirs) {
      fs.rmSync(dir, { recursive: true, force: true });
    }
    throw e;
  }
}
