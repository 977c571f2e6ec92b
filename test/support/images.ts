/**
 * Image profiles: host binaries standing in for the container images the
 * library's manifests use. See pod-runner.ts.
 */
import * as fs from 'fs';
import * as path from 'path';
import { templatesDir } from './commands';
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
// Database images (DatabaseDumpBackup): Debian's PostgreSQL / MariaDB packages at the images' versions, each in a
// root file system of its own that scripts/setup.sh builds (debootstrapped trixie, see there), used as the image.
//
// Measured on this host (Debian bookworm, 2026-12):
// - Roots under DATABASE_ROOTS: postgres-18 (postgresql-18 18.6 from sid: the default image's pg_dump),
//   postgres-17 (postgresql-17 17.12, trixie: an older server), mariadb-11.8 (mariadb 11.8.9, trixie). Their
//   binaries need glibc >= 2.41 (18.6: 2.43) and libicu76/78, libssl3t64...: they do not run on bookworm's
//   libraries, so the pod runner uses a root as the image's whole root file system (ImageProfile.rootfs), and the
//   harness (postgres.ts, mariadb.ts) runs a root's programs with its /usr and /etc mounted over the host's in a
//   private mount namespace (rootProgram()): host temp dirs keep their paths.
// - Both images run as ROOT by default (their entrypoints step down with gosu); both create their database user
//   with uid/gid 999 (POSTGRES_IMAGE_UID, MARIADB_IMAGE_UID); setup.sh creates them so in the roots.
// - postgres image: /bin/sh is dash, bash is there; PATH ends in /usr/lib/postgresql/<major>/bin (initdb, postgres,
//   pg_ctl are only there; /usr/bin/pg_dump etc. are Debian's perl pg_wrapper); LANG=en_US.utf8 with that locale
//   generated; from 18 on PGDATA=/var/lib/postgresql/<major>/docker (before: /var/lib/postgresql/data);
//   /var/run/postgresql is 3777 postgres. The image is built from PGDG's packages, the roots from Debian's: the
//   same layout (Debian's postgresql-common), the same binaries' version.
// - mariadb:11.x image (Ubuntu noble): since 11.0 there are NO mysql-named tools (mysql, mysqldump,
//   mysql_install_db): only mariadb, mariadb-dump, mariadb-admin, mariadb-install-db, mariadbd. Debian's 11.8 still
//   links them; setup.sh removes the links from the root, so a script that calls mysqldump fails here as in the
//   image. Share dir /usr/share/mariadb; /run/mysqld is 1777; LANG=C.UTF-8; /bin/sh is dash.
// - mariadb-dump reads MYSQL_PWD and MYSQL_TCP_PORT but NOT MYSQL_HOST (the `mariadb` client does): pass
//   --host. Neither reads the user from the environment (USER is ignored: it takes the login name): pass --user.
// ---------------------------------------------------------------------------

/** uid/gid of `postgres` in docker.io/library/postgres (the image itself runs as root). */
export const POSTGRES_IMAGE_UID = 999;
/** uid/gid of `mysql` in docker.io/library/mariadb (the image itself runs as root). */
export const MARIADB_IMAGE_UID = 999;

/** Where scripts/setup.sh builds the database images' root file systems. */
export const DATABASE_ROOTS = '/opt/cdk8s-backup-tools/rootfs';
/** PostgreSQL major of BackupDefaults.POSTGRES_IMAGE (its pg_dump dumps this major and older servers). */
export const POSTGRES_IMAGE_MAJOR = '18';
/** An older PostgreSQL server major the tests dump with the image's client. */
export const POSTGRES_OLDER_MAJOR = '17';

/** A PostgreSQL installation in a root of DATABASE_ROOTS (Debian layout). */
export interface RootPostgres {
  /** major version, e.g. '18' */
  readonly version: string;
  /** the root file system */
  readonly root: string;
  /** bin dir inside the root */
  readonly binDir: string;
}

/** The PostgreSQL root of a major (default: the image's), or undefined if setup.sh has not built it. */
export function rootPostgres(major: string = POSTGRES_IMAGE_MAJOR): RootPostgres | undefined {
  const root = path.join(DATABASE_ROOTS, `postgres-${major}`);
  const binDir = `/usr/lib/postgresql/${major}/bin`;
  return fs.existsSync(path.join(root, binDir, 'initdb')) ? { version: major, root, binDir } : undefined;
}

/** The MariaDB root (mariadbd in /usr/sbin, clients in /usr/bin), or undefined if setup.sh has not built it. */
export function rootMariadb(): { readonly root: string } | undefined {
  const root = path.join(DATABASE_ROOTS, 'mariadb-11.8');
  return fs.existsSync(path.join(root, 'usr/sbin/mariadbd')) ? { root } : undefined;
}

/** A user of a root's /etc/passwd (the servers run as the images' users, uid 999). */
export function rootUser(root: string, name: string): { readonly name: string; readonly uid: number; readonly gid: number } {
  const e = fs.readFileSync(path.join(root, 'etc/passwd'), 'utf8').split('\n').map((l) => l.split(':')).find((f) => f[0] === name);
  if (!e) throw new Error(`no user ${name} in ${root}/etc/passwd: run scripts/setup.sh`);
  return { name, uid: Number(e[2]), gid: Number(e[3]) };
}

const rootPrograms = new Map<string, string>();

/**
 * A host executable that runs `program` (an absolute path inside `root`) with the root's /usr and /etc mounted over
 * the host's in a private mount namespace (needs root): the root's libraries and users, the host's /tmp, /proc and
 * /dev, so the caller's paths stay valid. Every step execs: the process id is the program's (signals reach it).
 */
export function rootProgram(root: string, program: string): string {
  const key = `${root}\0${program}`;
  let wrapper = rootPrograms.get(key);
  if (!wrapper || !fs.existsSync(wrapper)) {
    // one directory per root, named like the program: a PATH entry finds them by name (restore sections)
    const dir = path.join(templatesDir(), 'bin', path.basename(root));
    fs.mkdirSync(dir, { recursive: true, mode: 0o755 });
    wrapper = path.join(dir, path.basename(program));
    const sq = (x: string) => `'${x.replace(/'/g, "'\\''")}'`;
    fs.writeFileSync(wrapper, [
      '#!/bin/sh',
      `exec /usr/bin/unshare --mount --propagation private -- /bin/sh -c 'mount --bind "$0/usr" /usr && mount --bind "$0/etc" /etc && exec "$@"' ${sq(root)} ${sq(program)} "$@"`,
      '',
    ].join('\n'), { mode: 0o755 });
    rootPrograms.set(key, wrapper);
  }
  return wrapper;
}

/** A profile that fails on use, naming what is missing (so that importing this module never throws). */
function missingProfile(what: string): ImageProfile {
  return { files: { '/missing': `/nonexistent/${what}-is-not-installed--run-scripts/setup.sh` } };
}

/** The postgres image of a major: its root as the image (rootfs), the image's env, user and dirs. */
export function postgresProfile(major: string = POSTGRES_IMAGE_MAJOR): ImageProfile {
  const pg = rootPostgres(major);
  if (!pg) return missingProfile(`postgres-${major}-root`);
  return {
    files: {},
    rootfs: pg.root,
    env: {
      PATH: `/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:${pg.binDir}`,
      LANG: 'en_US.utf8',
      PG_MAJOR: pg.version,
      PGDATA: Number(major) >= 18 ? `/var/lib/postgresql/${major}/docker` : '/var/lib/postgresql/data',
    },
    user: 0,
    entrypoint: ['docker-entrypoint.sh'],
    cmd: ['postgres'],
    dirs: { '/docker-entrypoint-initdb.d': 0o755 },
  };
}

/**
 * docker.io/library/postgres:18.x-trixie — Debian trixie with PostgreSQL 18: client tools (pg_dump, pg_dumpall,
 * pg_restore, psql, pg_isready), server (postgres, initdb, pg_ctl) in /usr/lib/postgresql/18/bin on PATH, dash as
 * /bin/sh, bash, coreutils. Runs as root (uid 0) by default; the `postgres` user is uid/gid 999
 * (POSTGRES_IMAGE_UID). The entrypoint is not included: containers must set a command.
 */
export const POSTGRES_IMAGE_PROFILE: ImageProfile = postgresProfile();

function buildMariadbProfile(): ImageProfile {
  const m = rootMariadb();
  if (!m) return missingProfile('mariadb-11.8-root');
  return {
    files: {},
    rootfs: m.root,
    env: { PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', LANG: 'C.UTF-8' },
    user: 0,
    entrypoint: ['docker-entrypoint.sh'],
    cmd: ['mariadbd'],
    dirs: { '/docker-entrypoint-initdb.d': 0o755 },
  };
}

/**
 * docker.io/library/mariadb:11.8 — MariaDB 11.8: mariadb, mariadb-dump, mariadb-admin, mariadb-install-db,
 * my_print_defaults, mariadbd (/usr/sbin), share dir, plugins; dash as /bin/sh, bash, coreutils. NO mysql-named
 * tools (none since 11.0). Runs as root by default; `mysql` is uid/gid 999 (MARIADB_IMAGE_UID). The entrypoint is
 * not included: containers must set a command.
 */
export const MARIADB_IMAGE_PROFILE: ImageProfile = buildMariadbProfile();

/** Image map for runPod({ images }) with the database images, keyed by repository (any tag, docker.io/library/ or not). */
export const DATABASE_IMAGES: Record<string, ImageProfile> = {
  postgres: POSTGRES_IMAGE_PROFILE,
  mariadb: MARIADB_IMAGE_PROFILE,
};
