/**
 * Image profiles: host binaries standing in for the container images the
 * library's manifests use. See pod-runner.ts.
 */
import { ImageProfile } from './pod-runner';

/**
 * registry.k8s.io/etcd:3.5.x — distroless-like: etcd, etcdctl and a static bash
 * as /bin/sh, NO coreutils (no ls, cat, mkdir, date, ...).
 */
export const ETCD_IMAGE_PROFILE: ImageProfile = {
  files: {
    '/usr/local/bin/etcdctl': '/usr/bin/etcdctl',
    '/usr/local/bin/etcd': '/usr/bin/etcd',
    '/bin/sh': '/usr/bin/bash',
  },
  env: { PATH: '/usr/local/bin:/usr/bin:/bin' },
  user: 0,
  dirs: { '/root': 0o700, '/var/etcd': 0o755, '/var/lib/etcd': 0o755 },
};

/**
 * restic/restic (alpine): busybox applets + /usr/bin/restic, ENTRYPOINT restic.
 * The real image also has a CA bundle in /etc/ssl/certs (and ssh, jq, fuse);
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

/** Default image map for runPod({ images }): keyed by repository, so any tag matches. */
export const DEFAULT_IMAGES: Record<string, ImageProfile> = {
  'registry.k8s.io/etcd': ETCD_IMAGE_PROFILE,
  'restic/restic': RESTIC_IMAGE_PROFILE,
};
