/**
 * moto's S3 server with IAM enforced, on plain HTTP at 127.0.0.1: a real S3 protocol server whose
 * keys can be refused deletes (IAM user policies), with versioning and Object Lock.
 *
 * - The server is Debian's python3-moto 5.1.1 on the system python (`/usr/bin/python3
 *   /usr/bin/moto_server`, installed by scripts/setup.sh), never a pip/pyenv moto (5.2 breaks
 *   restic's prefixed listings, moto#5948), with a clean environment.
 * - `INITIAL_NO_AUTH_ACTION_COUNT=3`: moto takes the first 3 actions unauthenticated; startMoto
 *   spends them on the admin user (CreateUser, PutUserPolicy with an allow-everything policy,
 *   CreateAccessKey). Every later request is SigV4-checked (a wrong key: InvalidAccessKeyId or
 *   SignatureDoesNotMatch) and must be allowed by the key's IAM user policies (else AccessDenied).
 *   moto evaluates Action and Resource only: Conditions and bucket policies are NOT enforced.
 * - The admin calls are signed here (SigV4, node crypto; no AWS SDK in node_modules) and the XML
 *   answers read with regular expressions: enough for the few calls below.
 * - The readiness probe is a TCP connect (an HTTP action would spend one of the 3 free actions).
 */
import * as crypto from 'crypto';
import * as http from 'http';
import { canConnect, cleanEnv, ManagedProcess, startProcess, waitFor } from './processes';

/** The system python and moto's server script (scripts/setup.sh installs python3-moto 5.1.1). */
export const MOTO_PYTHON = '/usr/bin/python3';
export const MOTO_SERVER_SCRIPT = '/usr/bin/moto_server';

export interface StartMotoOptions {
  readonly startTimeoutMs?: number;
}

export interface AccessKey {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
}

export interface CreateBucketOptions {
  /** Object Lock (which also turns versioning on); only possible at creation. @default false */
  readonly objectLock?: boolean;
  /** Versioning enabled. @default - on with objectLock, else off */
  readonly versioning?: boolean;
  /** Default retention (GOVERNANCE mode) in days; needs objectLock. @default none */
  readonly defaultRetentionDays?: number;
}

/** One entry of ListObjectVersions: an object version or a delete marker. */
export interface ObjectVersion {
  readonly key: string;
  readonly versionId: string;
  readonly isLatest: boolean;
  readonly deleteMarker: boolean;
  /** Size in bytes; 0 for delete markers. */
  readonly size: number;
  readonly lastModified: string;
}

export interface ObjectInfo {
  readonly key: string;
  readonly size: number;
}

/** An S3 call's answer. */
export interface S3Response {
  readonly status: number;
  readonly body: string;
}

const SERVICE_REGION = 'us-east-1';

export class MotoServer {
  /** http://127.0.0.1:PORT */
  public readonly endpoint: string;
  public readonly port: number;
  public readonly region = SERVICE_REGION;
  /** The admin user's key (allowed everything). */
  public readonly admin: AccessKey;
  public readonly process: ManagedProcess;
  public readonly startMs: number;

  /** @internal */
  constructor(props: { port: number; admin: AccessKey; process: ManagedProcess; startMs: number }) {
    this.port = props.port;
    this.endpoint = `http://127.0.0.1:${props.port}`;
    this.admin = props.admin;
    this.process = props.process;
    this.startMs = props.startMs;
  }

  /** restic repository URL: `s3:http://127.0.0.1:PORT/bucket/prefix`. */
  public resticRepository(bucket: string, prefix: string): string {
    return `s3:${this.endpoint}/${bucket}/${prefix.replace(/^\/+|\/+$/g, '')}`;
  }

  /** Creates a bucket (as admin). */
  public async createBucket(name: string, options: CreateBucketOptions = {}): Promise<void> {
    const headers: Record<string, string> = options.objectLock ? { 'x-amz-bucket-object-lock-enabled': 'true' } : {};
    await this.s3Ok('PUT', `/${name}`, {}, '', headers);
    if (options.versioning ?? false) {
      await this.s3Ok('PUT', `/${name}`, { versioning: '' },
        '<VersioningConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Status>Enabled</Status></VersioningConfiguration>');
    }
    if (options.defaultRetentionDays !== undefined) {
      if (!options.objectLock) {
        throw new Error(`createBucket(${name}): defaultRetentionDays needs objectLock`);
      }
      await this.s3Ok('PUT', `/${name}`, { 'object-lock': '' },
        '<ObjectLockConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><ObjectLockEnabled>Enabled</ObjectLockEnabled>'
        + `<Rule><DefaultRetention><Mode>GOVERNANCE</Mode><Days>${options.defaultRetentionDays}</Days></DefaultRetention></Rule>`
        + '</ObjectLockConfiguration>');
    }
  }

  /**
   * Creates an IAM user whose only permissions are `policyDocument` (an inline user policy) and
   * returns a new access key of it.
   */
  public async createUser(name: string, policyDocument: object | string): Promise<AccessKey> {
    return createUserWith(this.port, this.admin, name, policyDocument);
  }

  /** Every version and delete marker under `prefix`, by key, newest first within a key (as S3 lists them). */
  public async listObjectVersions(bucket: string, prefix = ''): Promise<ObjectVersion[]> {
    const result: ObjectVersion[] = [];
    let markers: Record<string, string> = {};
    for (;;) {
      const body = await this.s3Ok('GET', `/${bucket}`, { versions: '', prefix, ...markers });
      for (const m of body.matchAll(/<(Version|DeleteMarker)>([\s\S]*?)<\/\1>/g)) {
        result.push({
          key: xmlField(m[2], 'Key') ?? '',
          versionId: xmlField(m[2], 'VersionId') ?? '',
          isLatest: xmlField(m[2], 'IsLatest') === 'true',
          deleteMarker: m[1] === 'DeleteMarker',
          size: Number(xmlField(m[2], 'Size') ?? 0),
          lastModified: xmlField(m[2], 'LastModified') ?? '',
        });
      }
      if (xmlField(body, 'IsTruncated') !== 'true') {
        return result;
      }
      markers = { 'key-marker': xmlField(body, 'NextKeyMarker') ?? '', 'version-id-marker': xmlField(body, 'NextVersionIdMarker') ?? '' };
    }
  }

  /** The current objects under `prefix` (ListObjectsV2), sorted by key. */
  public async listObjects(bucket: string, prefix = ''): Promise<ObjectInfo[]> {
    const result: ObjectInfo[] = [];
    let token: Record<string, string> = {};
    for (;;) {
      const body = await this.s3Ok('GET', `/${bucket}`, { 'list-type': '2', prefix, ...token });
      for (const m of body.matchAll(/<Contents>([\s\S]*?)<\/Contents>/g)) {
        result.push({ key: xmlField(m[1], 'Key') ?? '', size: Number(xmlField(m[1], 'Size') ?? 0) });
      }
      if (xmlField(body, 'IsTruncated') !== 'true') {
        return result.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
      }
      token = { 'continuation-token': xmlField(body, 'NextContinuationToken') ?? '' };
    }
  }

  /** A signed S3 request (path-style) with `key` (default: admin); never throws for an HTTP error status. */
  public s3(method: string, pathName: string, query: Record<string, string> = {}, body = '',
    headers: Record<string, string> = {}, key: AccessKey = this.admin): Promise<S3Response> {
    return signedRequest(this.port, key, 's3', method, pathName, query, body, headers);
  }

  /** Stops moto (process group); its state lives only in memory. */
  public async stop(): Promise<void> {
    await this.process.stop();
  }

  private async s3Ok(method: string, pathName: string, query: Record<string, string> = {}, body = '',
    headers: Record<string, string> = {}): Promise<string> {
    const r = await this.s3(method, pathName, query, body, headers);
    if (r.status < 200 || r.status > 299) {
      throw new Error(`moto: ${method} ${pathName} ${JSON.stringify(query)} answered ${r.status}: ${r.body.slice(0, 2000)}`);
    }
    return r.body;
  }
}

/** Everything, for the admin user. */
const ADMIN_POLICY = { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }] };

/**
 * Starts moto_server on 127.0.0.1 (port 0: the port is read from its "Running on" line) and
 * creates the admin user with moto's 3 unauthenticated actions.
 */
export async function startMoto(options: StartMotoOptions = {}): Promise<MotoServer> {
  const t0 = Date.now();
  const proc = startProcess({
    name: 'moto',
    command: MOTO_PYTHON,
    args: [MOTO_SERVER_SCRIPT, '-H', '127.0.0.1', '-p', '0'],
    env: cleanEnv({ INITIAL_NO_AUTH_ACTION_COUNT: '3', HOME: '/nonexistent', PYTHONDONTWRITEBYTECODE: '1' }),
  });
  try {
    const timeout = options.startTimeoutMs ?? 20_000;
    const abort = () => proc.exited ? `moto exited (${JSON.stringify(proc.exited)}):\n${proc.output(4000)}` : undefined;
    const port = await waitFor(() => {
      const m = /Running on http:\/\/127\.0\.0\.1:(\d+)/.exec(proc.output());
      return m ? Number(m[1]) : undefined;
    }, timeout, { description: 'moto to listen', abort });
    await waitFor(() => canConnect(port), timeout, { description: `moto on 127.0.0.1:${port}`, abort });
    // The 3 unauthenticated actions (signed with any key: moto checks nothing yet).
    const admin = await createUserWith(port, { accessKeyId: 'BOOTSTRAP', secretAccessKey: 'BOOTSTRAP' }, 'admin', ADMIN_POLICY);
    return new MotoServer({ port, admin, process: proc, startMs: Date.now() - t0 });
  } catch (e) {
    await proc.stop();
    throw e;
  }
}

/** CreateUser, PutUserPolicy, CreateAccessKey: exactly 3 IAM actions. */
async function createUserWith(port: number, key: AccessKey, name: string, policyDocument: object | string): Promise<AccessKey> {
  const policy = typeof policyDocument === 'string' ? policyDocument : JSON.stringify(policyDocument);
  await iamOk(port, key, { Action: 'CreateUser', UserName: name });
  await iamOk(port, key, { Action: 'PutUserPolicy', UserName: name, PolicyName: `${name}-policy`, PolicyDocument: policy });
  const body = await iamOk(port, key, { Action: 'CreateAccessKey', UserName: name });
  const accessKeyId = xmlField(body, 'AccessKeyId');
  const secretAccessKey = xmlField(body, 'SecretAccessKey');
  if (!accessKeyId || !secretAccessKey) {
    throw new Error(`moto: CreateAccessKey for ${name} answered no key: ${body}`);
  }
  return { accessKeyId, secretAccessKey };
}

async function iamOk(port: number, key: AccessKey, params: Record<string, string>): Promise<string> {
  const body = new URLSearchParams({ ...params, Version: '2010-05-08' }).toString();
  const r = await signedRequest(port, key, 'iam', 'POST', '/', {}, body,
    { 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' });
  if (r.status !== 200) {
    throw new Error(`moto: IAM ${params.Action} answered ${r.status}: ${r.body.slice(0, 2000)}`);
  }
  return r.body;
}

/** The text of the first `<name>` element in `xml`, entities decoded. */
function xmlField(xml: string, name: string): string | undefined {
  const m = new RegExp(`<${name}>([\\s\\S]*?)</${name}>`).exec(xml);
  return m ? xmlDecode(m[1]) : undefined;
}

function xmlDecode(s: string): string {
  return s.replace(/&(lt|gt|quot|apos|amp|#\d+|#x[0-9a-fA-F]+);/g, (_, e: string) => {
    switch (e) {
      case 'lt': return '<';
      case 'gt': return '>';
      case 'quot': return '"';
      case 'apos': return '\'';
      case 'amp': return '&';
      default: return String.fromCodePoint(e[1] === 'x' ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10));
    }
  });
}

/** RFC 3986 encoding as SigV4 wants it (everything but unreserved characters). */
function uriEncode(s: string): string {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

function sha256Hex(data: string | Buffer): string {
  return crypto.createHash('sha256').update(data).digest('hex');
}

function hmac(key: string | Buffer, data: string): Buffer {
  return crypto.createHmac('sha256', key).update(data).digest();
}

/**
 * An AWS SigV4-signed HTTP request to moto on 127.0.0.1:port. moto routes it to the service
 * named in the credential scope (s3, iam) and recomputes the signature with botocore.
 */
function signedRequest(port: number, key: AccessKey, service: string, method: string, pathName: string,
  query: Record<string, string>, body: string, extraHeaders: Record<string, string>): Promise<S3Response> {
  const amzDate = new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
  const date = amzDate.slice(0, 8);
  const payload = Buffer.from(body, 'utf8');
  const canonicalUri = pathName.split('/').map(uriEncode).join('/');
  const canonicalQuery = Object.entries(query)
    .map(([k, v]) => [uriEncode(k), uriEncode(v)])
    .sort(([a, av], [b, bv]) => (a < b ? -1 : a > b ? 1 : av < bv ? -1 : av > bv ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`)
    .join('&');
  const headers: Record<string, string> = {
    'host': `127.0.0.1:${port}`,
    'x-amz-date': amzDate,
    'x-amz-content-sha256': sha256Hex(payload),
  };
  for (const [k, v] of Object.entries(extraHeaders)) {
    headers[k.toLowerCase()] = v;
  }
  if (payload.length > 0 && service === 's3') {
    headers['content-md5'] = crypto.createHash('md5').update(payload).digest('base64');
  }
  const names = Object.keys(headers).sort();
  const canonicalHeaders = names.map((n) => `${n}:${headers[n].trim().replace(/\s+/g, ' ')}\n`).join('');
  const signedHeaders = names.join(';');
  const canonicalRequest = [method, canonicalUri, canonicalQuery, canonicalHeaders, signedHeaders, headers['x-amz-content-sha256']].join('\n');
  const scope = `${date}/${SERVICE_REGION}/${service}/aws4_request`;
  const stringToSign = ['AWS4-HMAC-SHA256', amzDate, scope, sha256Hex(canonicalRequest)].join('\n');
  const signingKey = hmac(hmac(hmac(hmac(`AWS4${key.secretAccessKey}`, date), SERVICE_REGION), service), 'aws4_request');
  const signature = crypto.createHmac('sha256', signingKey).update(stringToSign).digest('hex');
  headers.authorization = `AWS4-HMAC-SHA256 Credential=${key.accessKeyId}/${scope}, SignedHeaders=${signedHeaders}, Signature=${signature}`;
  headers['content-length'] = String(payload.length);
  return new Promise((resolve, reject) => {
    const req = http.request({
      host: '127.0.0.1',
      port,
      method,
      path: canonicalUri + (canonicalQuery ? `?${canonicalQuery}` : ''),
      headers,
      timeout: 30_000,
    }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`moto: ${method} ${pathName} timed out`)));
    req.on('error', reject);
    req.end(payload);
  });
}
