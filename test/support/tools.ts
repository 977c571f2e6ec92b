/**
 * The one place that names the etcd tool binaries the tests run.
 *
 * scripts/setup.sh unpacks Debian's etcd-server/etcd-client of each version in ETCD_TEST_VERSIONS
 * into `${TOOLS_DIR}/etcd-<version>/usr/bin` (etcd, etcdctl, etcdutl) instead of installing one
 * etcd system-wide: the tests need two versions side by side (the runbook's default, the version
 * of `registry.k8s.io/etcd:3.5.16-0`, and the newest 3.5), and a kubeadm host has no etcd tools on
 * its PATH, so none may be in /usr/bin for a node script to find by accident.
 *
 * restic's REST server is unpacked the same way, into `${TOOLS_DIR}/rest-server-<version>/usr/bin`
 * (Debian's restic-rest-server, not installed: its postinst adds a user, its unit starts a server).
 *
 * restic and busybox are single system-wide binaries (/usr/bin/restic, /usr/bin/busybox: restic
 * 0.18.0 and busybox-static 1.37.0, pinned by setup.sh) and are named where they are used, as is
 * moto (/usr/bin/moto_server on /usr/bin/python3: test/support/moto.ts).
 */
import * as fs from 'fs';
import * as path from 'path';

/** Where scripts/setup.sh unpacks the etcd versions (`etcd-<version>/usr/bin`). */
export const TOOLS_DIR = '/opt/cdk8s-backup-tools';

/** The etcd versions scripts/setup.sh provides, oldest first. */
export const ETCD_TEST_VERSIONS: readonly string[] = ['3.5.16', '3.5.30'];

/** The etcd the harnesses start unless a test asks for another of ETCD_TEST_VERSIONS. */
export const DEFAULT_ETCD_TEST_VERSION = '3.5.30';

export type EtcdTool = 'etcd' | 'etcdctl' | 'etcdutl';

/** `${TOOLS_DIR}/etcd-<version>/usr/bin`; throws when that version is not one setup.sh installs or is missing. */
export function etcdBinDir(version: string = DEFAULT_ETCD_TEST_VERSION): string {
  if (!ETCD_TEST_VERSIONS.includes(version)) {
    throw new Error(`etcd ${version} is not a test version (${ETCD_TEST_VERSIONS.join(', ')}): scripts/setup.sh installs only those`);
  }
  return path.join(TOOLS_DIR, `etcd-${version}`, 'usr', 'bin');
}

/** The absolute path of an etcd tool of `version`; throws, naming scripts/setup.sh, when it is not installed. */
export function etcdBinary(tool: EtcdTool, version: string = DEFAULT_ETCD_TEST_VERSION): string {
  const bin = path.join(etcdBinDir(version), tool);
  try {
    fs.accessSync(bin, fs.constants.X_OK);
  } catch {
    throw new Error(`${bin} is missing (etcd ${version}): run scripts/setup.sh`);
  }
  return bin;
}

/** The restic REST server version scripts/setup.sh unpacks. */
export const REST_SERVER_VERSION = '0.13.0';

/** Where scripts/setup.sh unpacks restic's REST server (start it through restServerBinary(), which checks). */
export const REST_SERVER_BINARY = path.join(TOOLS_DIR, `rest-server-${REST_SERVER_VERSION}`, 'usr', 'bin', 'restic-rest-server');

/** REST_SERVER_BINARY; throws, naming scripts/setup.sh, when it is not installed. */
export function restServerBinary(): string {
  const bin = REST_SERVER_BINARY;
  try {
    fs.accessSync(bin, fs.constants.X_OK);
  } catch {
    throw new Error(`${bin} is missing (rest-server ${REST_SERVER_VERSION}): run scripts/setup.sh`);
  }
  return bin;
}

/**
 * The etcd version of an etcd image reference's tag: `registry.k8s.io/etcd:3.5.30-0` and
 * `gcr.io/etcd-development/etcd:v3.5.30` → '3.5.30'; undefined without a version tag.
 */
export function etcdVersionOfImage(image: string): string | undefined {
  const tag = /:([^/:@]+)(@.*)?$/.exec(image)?.[1];
  return tag ? /^v?(\d+\.\d+\.\d+)(-\d+)?$/.exec(tag)?.[1] : undefined;
}
