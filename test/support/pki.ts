/**
 * Test PKI made with openssl: a CA and leaf certificates with EC P-256 keys.
 * One `openssl req -x509 -CA ...` call per certificate (OpenSSL >= 3.0).
 */
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { cleanEnv } from './processes';

const OPENSSL = '/usr/bin/openssl';

/** SANs of every server/peer certificate made here. */
export const LOCAL_SANS = ['IP:127.0.0.1', 'IP:::1', 'DNS:localhost'];

export interface EtcdPki {
  readonly dir: string;
  readonly caCert: string;
  readonly caKey: string;
  readonly serverCert: string;
  readonly serverKey: string;
  readonly peerCert: string;
  readonly peerKey: string;
  /** Client certificate (clientAuth), as kubeadm's healthcheck-client. */
  readonly clientCert: string;
  readonly clientKey: string;
}

export interface ServerCert {
  readonly caCert: string;
  readonly caKey: string;
  readonly cert: string;
  readonly key: string;
}

type Usage = 'ca' | 'server' | 'client' | 'server+client';

interface CertSpec {
  readonly cn: string;
  readonly usage: Usage;
  readonly sans?: readonly string[];
  readonly certFile: string;
  readonly keyFile: string;
  /** Signing CA; omitted for a self-signed CA. */
  readonly ca?: { readonly cert: string; readonly key: string };
}

function extensions(spec: CertSpec): string[] {
  if (spec.usage === 'ca') {
    return [
      'basicConstraints = critical,CA:TRUE',
      'keyUsage = critical,keyCertSign,cRLSign,digitalSignature',
      'subjectKeyIdentifier = hash',
    ];
  }
  const eku = spec.usage === 'server' ? 'serverAuth' : spec.usage === 'client' ? 'clientAuth' : 'serverAuth,clientAuth';
  const lines = [
    'basicConstraints = critical,CA:FALSE',
    'keyUsage = critical,digitalSignature',
    `extendedKeyUsage = ${eku}`,
    'subjectKeyIdentifier = hash',
    'authorityKeyIdentifier = keyid',
  ];
  if (spec.sans && spec.sans.length > 0) {
    lines.push(`subjectAltName = ${spec.sans.join(',')}`);
  }
  return lines;
}

function makeCert(spec: CertSpec): void {
  const dir = path.dirname(spec.certFile);
  const config = path.join(dir, `.${path.basename(spec.certFile)}.cnf`);
  fs.writeFileSync(config, [
    '[req]',
    'distinguished_name = dn',
    'prompt = no',
    '[dn]',
    `CN = ${spec.cn}`,
    '[ext]',
    ...extensions(spec),
    '',
  ].join('\n'));
  const args = [
    'req', '-x509', '-new', '-config', config, '-extensions', 'ext',
    '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
    '-keyout', spec.keyFile, '-out', spec.certFile,
    '-days', spec.usage === 'ca' ? '3650' : '365',
  ];
  if (spec.ca) {
    args.push('-CA', spec.ca.cert, '-CAkey', spec.ca.key);
  }
  try {
    execFileSync(OPENSSL, args, { env: cleanEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (e) {
    const err = e as { stderr?: Buffer; message: string };
    throw new Error(`openssl failed for ${spec.certFile}: ${err.stderr?.toString() ?? err.message}`);
  } finally {
    fs.rmSync(config, { force: true });
  }
  protectKey(spec.keyFile);
  fs.chmodSync(spec.certFile, 0o644);
}

/** Keys: mode 0600, owned by root when we are root (as kubeadm leaves them). */
function protectKey(file: string): void {
  fs.chmodSync(file, 0o600);
  if (process.getuid?.() === 0) {
    fs.chownSync(file, 0, 0);
  }
}

/** Creates `<dir>/ca.crt` + `ca.key` unless both already exist. */
export function ensureCa(dir: string, cn = 'test-ca'): { cert: string; key: string } {
  fs.mkdirSync(dir, { recursive: true });
  const cert = path.join(dir, 'ca.crt');
  const key = path.join(dir, 'ca.key');
  if (!fs.existsSync(cert) || !fs.existsSync(key)) {
    makeCert({ cn, usage: 'ca', certFile: cert, keyFile: key });
  }
  return { cert, key };
}

/**
 * kubeadm-like etcd PKI in `dir` (think /etc/kubernetes/pki/etcd): ca.crt/.key,
 * server.crt/.key and peer.crt/.key (serverAuth+clientAuth, SANs
 * IP:127.0.0.1, IP:::1, DNS:localhost), healthcheck-client.crt/.key (clientAuth).
 * Takes ~50 ms.
 */
export function makeEtcdPki(dir: string): EtcdPki {
  const ca = ensureCa(dir, 'etcd-ca');
  const leaf = (name: string, cn: string, usage: Usage, sans?: readonly string[]) => {
    const certFile = path.join(dir, `${name}.crt`);
    const keyFile = path.join(dir, `${name}.key`);
    makeCert({ cn, usage, sans, certFile, keyFile, ca });
    return { certFile, keyFile };
  };
  const server = leaf('server', 'localhost', 'server+client', LOCAL_SANS);
  const peer = leaf('peer', 'localhost', 'server+client', LOCAL_SANS);
  const client = leaf('healthcheck-client', 'kube-etcd-healthcheck-client', 'client');
  return {
    dir,
    caCert: ca.cert,
    caKey: ca.key,
    serverCert: server.certFile,
    serverKey: server.keyFile,
    peerCert: peer.certFile,
    peerKey: peer.keyFile,
    clientCert: client.certFile,
    clientKey: client.keyFile,
  };
}

/** The file names `makeEtcdPki` uses, for a directory made earlier. */
export function etcdPkiPaths(dir: string): EtcdPki {
  const f = (name: string) => path.join(dir, name);
  return {
    dir,
    caCert: f('ca.crt'),
    caKey: f('ca.key'),
    serverCert: f('server.crt'),
    serverKey: f('server.key'),
    peerCert: f('peer.crt'),
    peerKey: f('peer.key'),
    clientCert: f('healthcheck-client.crt'),
    clientKey: f('healthcheck-client.key'),
  };
}

/**
 * An HTTPS server certificate `<dir>/<name>.crt` + `<name>.key` (serverAuth,
 * SANs IP:127.0.0.1, IP:::1, DNS:localhost) signed by `<dir>/ca.crt`, which is
 * created if missing (and reused if present).
 */
export function makeServerCert(dir: string, name = 'server', extraSans: readonly string[] = []): ServerCert {
  const ca = ensureCa(dir);
  const cert = path.join(dir, `${name}.crt`);
  const key = path.join(dir, `${name}.key`);
  makeCert({ cn: name, usage: 'server', sans: [...LOCAL_SANS, ...extraSans], certFile: cert, keyFile: key, ca });
  return { caCert: ca.cert, caKey: ca.key, cert, key };
}
