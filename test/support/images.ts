/**
 * Image profiles: host binaries standing in for the container images the
 * library's manifests use. See pod-runner.ts.
 */
import * as fs from 'fs';
import * as path from 'path';
import { ImageProfile } from './pod-runner';
import { DEFAULT_ETCD_TEST_VERSION, etcdBinDir } from './tools';

/**
 * registry.k8s.io/etcd:3.5.x-0 (Kubernetes-built, up to early 3.6) — distroless-like: etcd,
 * etcdctl (of DEFAULT_ETCD_TEST_VERSION) and a static bash as /bin/sh, NO etcdutl and NO
 * coreutils (no ls, cat, mkdir, date, ...). The library runs nothing in it any more; the pod
 * runner's own tests use it as a shell without coreutils.
 */
export const LEGACY_ETCD_SHELL_PROFILE: ImageProfile = {
  files: {
    '/usr/local/bin/etcdctl': path.join(etcdBinDir(DEFAULT_ETCD_TEST_VERSION), 'etcdctl'),
    '/usr/local/bin/etcd': path.join(etcdBinDir(DEFAULT_ETCD_TEST_VERSION), 'etcd'),
    '/bin/sh': '/usr/bin/bash',
  },
  env: { PATH: '/usr/local/bin:/usr/bin:/bin' },
  user: 0,
  dirs: { '/root': 0o700, '/var/etcd': 0o755, '/var/lib/etcd': 0o755 },
};

/**
 * etcd's own images, distroless/static (gcr.io/etcd-development/etcd, quay.io/coreos/etcd, and
 * registry.k8s.io/etcd since 3.6.6): etcd, etcdctl and etcdutl of `version` in /usr/local/bin and
 * NOTHING else: no /bin/sh, no coreutils (etcd's Dockerfile @v3.6.0: FROM
 * gcr.io/distroless/static-debian12). Runs as root. A container that names a shell fails to
 * start, as with a real runtime.
 */
export function etcdDistrolessProfile(version: string): ImageProfile {
  const bin = etcdBinDir(version);
  return {
    files: {
      '/usr/local/bin/etcd': path.join(bin, 'etcd'),
      '/usr/local/bin/etcdctl': path.join(bin, 'etcdctl'),
      '/usr/local/bin/etcdutl': path.join(bin, 'etcdutl'),
    },
    env: { PATH: '/usr/local/bin:/usr/local/sbin:/usr/sbin:/usr/bin:/sbin:/bin' },
    user: 0,
    // The Dockerfile's CMD; its WORKDIRs leave /var/etcd and /var/lib/etcd.
    cmd: ['/usr/local/bin/etcd'],
    dirs: { '/var/etcd': 0o755, '/var/lib/etcd': 0o755 },
  };
}

/**
 * Image map for runPod({ images }) with etcd's distroless images of `version`, keyed by
 * repository (any tag): for a container, or an image volume's `reference`. Not in DEFAULT_IMAGES:
 * registry.k8s.io/etcd there is the 3.5.x image with a shell (ETCD_IMAGE_PROFILE); spread this
 * after it to test with a 3.6.6+ registry.k8s.io image.
 */
export function etcdImages(version: string): Record<string, ImageProfile> {
  const profile = etcdDistrolessProfile(version);
  return { 'registry.k8s.io/etcd': profile, 'gcr.io/etcd-development/etcd': profile };
}

/**
 * restic/restic (alpine): busybox applets + /usr/bin/restic, ENTRYPOINT restic. The host's
 * restic 0.18.0 and busybox-static 1.37.0 (Alpine 3.22's busybox version) stand in, both pinned
 * by scripts/setup.sh (busybox-static's ash finds applets without PATH: see pod-runner.ts). The real image also has a CA bundle in /etc/ssl/certs (and ssh, jq, fuse);
 * tests use private CAs given explicitly, so nothing of that is included.
 */
export const RESTIC_IMAGE_PROFILE: ImageProfile = {
  busybox: '/usr/bin/busybox',
  files: { '/usr/bin/restic': '/usr/bin/restic' },
  env: { PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' },
  user: 0,
  entrypoint: ['/usr/bin/restic'],
  dirs: { '/root': 0o700, '/home': 0o755, '/var': 0o755, '/usr/local/bin': 0o755 },
};

/**
 * The etcd image the library's jobs mount (registry.k8s.io/etcd of the test version, as 3.6.6+
 * ships it: distroless, no shell), for the image volume of `EtcdTools.imageVolume()`.
 */
export const ETCD_IMAGE_PROFILE: ImageProfile = etcdDistrolessProfile(DEFAULT_ETCD_TEST_VERSION);

/**
 * What README's Dockerfile for `EtcdTools.shellImage()` builds: alpine (busybox) with etcd,
 * etcdctl and etcdutl of `version` copied into /usr/local/bin.
 */
export function etcdShellImageProfile(version: string = DEFAULT_ETCD_TEST_VERSION): ImageProfile {
  const etcd = etcdDistrolessProfile(version);
  return { ...RESTIC_IMAGE_PROFILE, files: { ...etcd.files }, entrypoint: undefined, cmd: ['/bin/sh'] };
}

/** Default image map for runPod({ images }): keyed by repository, so any tag matches. */
export const DEFAULT_IMAGES: Record<string, ImageProfile> = {
  'registry.k8s.io/etcd': LEGACY_ETCD_SHELL_PROFILE,
  'restic/restic': RESTIC_IMAGE_PROFILE,
};

// ---------------------------------------------------------------------------
// Database images (DatabaseDumpBackup): host PostgreSQL / MariaDB standing in for the official images.
//
// Measured on this host (Debian bookworm, 2026-12):
// - Host versions: PostgreSQL 15.18 (Debian postgresql-15), MariaDB 10.11.19 (Debian). The images are newer
//   (postgres:16-bookworm, mariadb:11.4): the profiles put the host's binaries at the host's paths
//   (/usr/lib/postgresql/<host major>/...), because postgres/initdb find their share and lib dirs relative to
//   their own binary. Scripts must reach the tools through PATH, never by a versioned absolute path.
// - The pod runner maps `files` (regular files, each with its shared libraries) and `hostDirs` (read-only
//   directories: share dirs, zoneinfo, locales). Server plugins (postgres lib/*.so, MariaDB plugin/*.so) are
//   listed as `files` so that their own libraries come along (llvmjit.so needs libLLVM-14).
// - Both images run as ROOT by default (their entrypoints step down with gosu); both create their database user
//   with uid/gid 999 (POSTGRES_IMAGE_UID, MARIADB_IMAGE_UID). /etc/passwd and /etc/group (test/support/image-files)
//   have that user: initdb refuses a uid without a passwd entry ("could not look up effective user ID 999").
// - postgres image: /bin/sh is dash, bash is there; PATH ends in /usr/lib/postgresql/16/bin (initdb, postgres,
//   pg_ctl are only there; /usr/bin/pg_dump etc. are Debian's perl pg_wrapper, left out here); LANG=en_US.utf8
//   with that locale generated; PGDATA=/var/lib/postgresql/data; /var/run/postgresql is 3777 postgres.
//   This host has only the C.utf8 locale: a script must give initdb its locale (`--locale=C.UTF-8` or
//   `--no-locale`, with `-E UTF8`), which is deterministic in the image too.
// - mariadb:11.x image (Ubuntu noble): since 11.0 there are NO mysql-named tools (mysql, mysqldump,
//   mysql_install_db): only mariadb, mariadb-dump, mariadb-admin, mariadb-install-db, mariadbd. This profile
//   has only the mariadb-named ones, so a script that calls mysqldump fails here as it would in the image.
//   Its share dir is /usr/share/mariadb; Debian's 10.11 (compiled-in) is /usr/share/mysql, mapped at that path.
//   /run/mysqld is 1777; LANG=C.UTF-8; /bin/sh is dash.
// - mariadb-dump 10.11 reads MYSQL_PWD and MYSQL_TCP_PORT but NOT MYSQL_HOST (the `mariadb` client does): pass
//   --host. Neither reads the user from the environment (USER is ignored: it takes the login name): pass --user.
// ---------------------------------------------------------------------------

/** uid/gid of `postgres` in docker.io/library/postgres (the image itself runs as root). */
export const POSTGRES_IMAGE_UID = 999;
/** uid/gid of `mysql` in docker.io/library/mariadb (the image itself runs as root). */
export const MARIADB_IMAGE_UID = 999;

/** Debian/Ubuntu userland a script in either image can rely on (coreutils, grep, sed, findutils, mawk, gzip, hostname). */
const DEBIAN_USERLAND = [
  'cat', 'mkdir', 'rm', 'rmdir', 'sleep', 'head', 'tail', 'cut', 'tr', 'sed', 'grep', 'wc', 'sha256sum', 'id', 'env',
  'dirname', 'basename', 'mktemp', 'date', 'ls', 'cp', 'mv', 'ln', 'chmod', 'touch', 'stat', 'tee', 'sort', 'uniq',
  'printf', 'true', 'false', 'expr', 'seq', 'timeout', 'od', 'sync', 'readlink', 'realpath', 'uname', 'hostname',
  'find', 'xargs', 'gzip',
];

function firstExisting(...candidates: string[]): string | undefined {
  return candidates.find((c) => fs.existsSync(c));
}

/** A Debian/Ubuntu base: /bin/sh (dash), /bin/bash, awk (mawk) and DEBIAN_USERLAND in /usr/bin. */
function debianBase(): Record<string, string> {
  const files: Record<string, string> = {
    '/bin/sh': firstExisting('/usr/bin/dash', '/bin/dash') ?? '/usr/bin/dash',
    '/bin/bash': firstExisting('/usr/bin/bash', '/bin/bash') ?? '/usr/bin/bash',
    '/usr/bin/bash': firstExisting('/usr/bin/bash', '/bin/bash') ?? '/usr/bin/bash',
    '/usr/bin/awk': firstExisting('/usr/bin/mawk', '/usr/bin/awk') ?? '/usr/bin/awk',
  };
  for (const name of DEBIAN_USERLAND) {
    files[`/usr/bin/${name}`] = firstExisting(`/usr/bin/${name}`, `/bin/${name}`) ?? `/usr/bin/${name}`;
  }
  return files;
}

function numericVersion(v: string): number[] {
  return v.split('.').map((x) => Number(x));
}

/** A PostgreSQL server installation on this host (Debian layout). */
export interface HostPostgres {
  /** major version, e.g. '15' */
  readonly version: string;
  readonly binDir: string;
  readonly libDir: string;
  readonly shareDir: string;
}

/** The newest PostgreSQL server installed on this host (Debian layout), found by globbing /usr/lib/postgresql/<v>/bin/initdb. */
export function hostPostgres(): HostPostgres | undefined {
  let versions: string[];
  try {
    versions = fs.readdirSync('/usr/lib/postgresql')
      .filter((v) => /^\d+(\.\d+)?$/.test(v) && fs.existsSync(`/usr/lib/postgresql/${v}/bin/initdb`));
  } catch {
    return undefined;
  }
  versions.sort((a, b) => {
    const [x, y] = [numericVersion(a), numericVersion(b)];
    return (x[0] - y[0]) || ((x[1] ?? 0) - (y[1] ?? 0));
  });
  const version = versions.pop();
  if (!version) return undefined;
  return {
    version,
    binDir: `/usr/lib/postgresql/${version}/bin`,
    libDir: `/usr/lib/postgresql/${version}/lib`,
    shareDir: `/usr/share/postgresql/${version}`,
  };
}

/** A profile that fails on use, naming what is missing (so that importing this module never throws). */
function missingProfile(what: string): ImageProfile {
  return { files: { '/missing': `/nonexistent/${what}-is-not-installed--run-scripts/setup.sh` } };
}

const IMAGE_FILES = path.join(__dirname, 'image-files');

function buildPostgresProfile(): ImageProfile {
  const pg = hostPostgres();
  if (!pg) return missingProfile('postgresql');
  const files = debianBase();
  for (const tool of ['postgres', 'initdb', 'pg_ctl', 'pg_dump', 'pg_dumpall', 'pg_restore', 'psql', 'pg_isready', 'createdb', 'createuser', 'dropdb']) {
    files[`${pg.binDir}/${tool}`] = `${pg.binDir}/${tool}`;
  }
  // server modules (plpgsql and dict_snowball are loaded by initdb; llvmjit once a query is costly enough)
  for (const so of fs.readdirSync(pg.libDir).filter((f) => f.endsWith('.so'))) {
    files[`${pg.libDir}/${so}`] = `${pg.libDir}/${so}`;
  }
  files['/etc/passwd'] = path.join(IMAGE_FILES, 'postgres', 'passwd');
  files['/etc/group'] = path.join(IMAGE_FILES, 'postgres', 'group');
  const hostDirs: Record<string, string> = { [pg.shareDir]: pg.shareDir };
  for (const d of [`${pg.libDir}/bitcode`, '/usr/share/zoneinfo', '/usr/lib/locale']) {
    if (fs.existsSync(d)) hostDirs[d] = d;
  }
  return {
    files,
    hostDirs,
    env: {
      PATH: `/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:${pg.binDir}`,
      LANG: 'en_US.utf8',
      PG_MAJOR: pg.version,
      PGDATA: '/var/lib/postgresql/data',
    },
    user: 0,
    entrypoint: ['docker-entrypoint.sh'],
    cmd: ['postgres'],
    dirs: {
      '/root': 0o700,
      '/home': 0o755,
      '/var/lib/postgresql': 0o1777,
      '/var/lib/postgresql/data': 0o1777,
      '/var/run/postgresql': 0o3777,
      '/docker-entrypoint-initdb.d': 0o755,
    },
  };
}

/**
 * docker.io/library/postgres:<major>-bookworm — Debian bookworm-slim with PostgreSQL: client tools (pg_dump,
 * pg_dumpall, pg_restore, psql, pg_isready), server (postgres, initdb, pg_ctl) in /usr/lib/postgresql/<v>/bin on
 * PATH, the share dir, server modules, zoneinfo, locales; dash as /bin/sh, bash, coreutils. Runs as root
 * (uid 0) by default; the `postgres` user is uid/gid 999 (POSTGRES_IMAGE_UID). The entrypoint is not included:
 * containers must set a command. Host version (15 on bookworm) standing in for the image's.
 */
export const POSTGRES_IMAGE_PROFILE: ImageProfile = buildPostgresProfile();

/** The MariaDB installed on this host: mariadbd and its share (errmsg, charsets, bootstrap SQL) and plugin dirs. */
export function hostMariadb(): { readonly mariadbd: string; readonly shareDir: string; readonly pluginDir: string } | undefined {
  const mariadbd = firstExisting('/usr/sbin/mariadbd', '/usr/sbin/mysqld');
  const shareDir = firstExisting('/usr/share/mariadb/charsets', '/usr/share/mysql/charsets');
  const pluginDir = firstExisting('/usr/lib/mysql/plugin');
  if (!mariadbd || !shareDir || !pluginDir) return undefined;
  return { mariadbd, shareDir: path.dirname(shareDir), pluginDir };
}

function buildMariadbProfile(): ImageProfile {
  const m = hostMariadb();
  if (!m) return missingProfile('mariadb-server');
  const files = debianBase();
  for (const tool of ['mariadb', 'mariadb-dump', 'mariadb-admin', 'mariadb-install-db', 'my_print_defaults']) {
    const src = firstExisting(`/usr/bin/${tool}`);
    if (src) files[`/usr/bin/${tool}`] = src;
  }
  files['/usr/sbin/mariadbd'] = m.mariadbd;
  for (const so of fs.readdirSync(m.pluginDir).filter((f) => f.endsWith('.so'))) {
    files[`${m.pluginDir}/${so}`] = `${m.pluginDir}/${so}`;
  }
  files['/etc/passwd'] = path.join(IMAGE_FILES, 'mariadb', 'passwd');
  files['/etc/group'] = path.join(IMAGE_FILES, 'mariadb', 'group');
  const hostDirs: Record<string, string> = { [m.shareDir]: m.shareDir };
  for (const d of ['/usr/share/zoneinfo', '/usr/lib/locale']) {
    if (fs.existsSync(d)) hostDirs[d] = d;
  }
  return {
    files,
    hostDirs,
    env: { PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', LANG: 'C.UTF-8' },
    user: 0,
    entrypoint: ['docker-entrypoint.sh'],
    cmd: ['mariadbd'],
    dirs: { '/root': 0o700, '/home': 0o755, '/var/lib/mysql': 0o755, '/run/mysqld': 0o1777, '/docker-entrypoint-initdb.d': 0o755 },
  };
}

/**
 * docker.io/library/mariadb:11.x — Ubuntu with MariaDB: mariadb, mariadb-dump, mariadb-admin, mariadb-install-db,
 * my_print_defaults, mariadbd (/usr/sbin), share dir, plugins, zoneinfo, locales; dash as /bin/sh, bash,
 * coreutils. NO mysql-named tools (none since 11.0). Runs as root by default; `mysql` is uid/gid 999
 * (MARIADB_IMAGE_UID). The entrypoint is not included: containers must set a command.
 */
export const MARIADB_IMAGE_PROFILE: ImageProfile = buildMariadbProfile();

/** Image map for runPod({ images }) with the database images, keyed by repository (any tag, docker.io/library/ or not). */
export const DATABASE_IMAGES: Record<string, ImageProfile> = {
  postgres: POSTGRES_IMAGE_PROFILE,
  mariadb: MARIADB_IMAGE_PROFILE,
};
