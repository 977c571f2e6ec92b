import { configError } from './errors';
/**
 * Host paths (hostPath volumes, certificate files, config archives), checked once for every
 * construct that takes them.
 */

/**
 * Characters of one path segment: what real configuration paths use (`/etc/kubernetes/pki`,
 * `/var/lib/rancher/k3s/server/tls`, `kubelet-client-2024-01-01@x.pem`) and nothing a shell, a
 * restic file list or a YAML scalar reads as syntax (no whitespace, quotes, `$`, backticks, `;`,
 * `&`, `|`, `{}`, `()`, `<>`, globs, `~`, `\`).
 */
const SEGMENT = /^[A-Za-z0-9._+@-]+$/;

/** Linux PATH_MAX, counting the terminating NUL. */
const MAX_PATH = 4095;

/** Linux NAME_MAX. */
const MAX_SEGMENT = 255;

/**
 * An absolute, normalized host path of path-safe characters: segments of letters, digits, `.`,
 * `_`, `-`, `+` and `@` separated by single `/`; no `.` or `..` segment, no trailing `/`.
 * @internal
 */
export function checkHostPath(option: string, path: string, example: string = '/etc/kubernetes/pki'): string {
  const ok = typeof path === 'string'
    && path.length <= MAX_PATH
    && path.startsWith('/')
    && path.slice(1).split('/').every((s) => SEGMENT.test(s) && s !== '.' && s !== '..' && s.length <= MAX_SEGMENT);
  if (!ok) {
    throw configError(`${option}: expected an absolute host path of segments of letters, digits, '.', '_', '-', '+' and '@' separated by single '/' (no '.' or '..' segment, no trailing '/'), e.g. ${example}; got ${JSON.stringify(path)}`);
  }
  return path;
}
