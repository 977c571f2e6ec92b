import { isIPv6 } from 'net';
import { configError } from './errors';

/**
 * Storage endpoints (restic's S3 endpoint, Velero's `s3Url`). WHATWG URL parsing accepts `'`,
 * `;`, `{`, `}`, `$` and `()` in a host, and drops tabs and line breaks anywhere: a parse alone
 * lets through hosts that no DNS knows and that the runbook would print.
 */

const LABEL = '[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?';
const DNS_NAME = new RegExp(`^${LABEL}(?:\\.${LABEL})*$`);
const OCTET = '(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])';
const IPV4 = new RegExp(`^${OCTET}(?:\\.${OCTET}){3}$`);
/** A name that ends in a number is an IPv4 address to URL parsers (`1.2.3` is 1.2.0.3, `0x7f.1` is 127.0.0.1). */
const ENDS_IN_NUMBER = /(^|\.)([0-9]+|0[xX][0-9A-Fa-f]*)$/;

/** A DNS name, a dotted-quad IPv4 address or a bracketed IPv6 address. @internal */
export function isHost(host: string): boolean {
  if (IPV4.test(host)) return true;
  if (host.startsWith('[') && host.endsWith(']')) return isIPv6(host.slice(1, -1));
  return host.length <= 253 && DNS_NAME.test(host) && !ENDS_IN_NUMBER.test(host);
}

/**
 * An http(s) URL whose host is a DNS name, a dotted-quad IPv4 address or a bracketed IPv6
 * address, with an optional port 1-65535. What follows the host is the caller's to check.
 * @internal
 */
export function checkHttpUrlHost(option: string, value: string): void {
  const authority = typeof value === 'string' ? /^https?:\/\/([^/?#]*)(?:[/?#]|$)/i.exec(value)?.[1] : undefined;
  const m = authority === undefined ? null : /^([^:[\]]+|\[[^\]]*\])(?::([0-9]{1,5}))?$/.exec(authority);
  const port = m?.[2] === undefined ? undefined : Number(m[2]);
  if (!m || !isHost(m[1]) || (port !== undefined && (port < 1 || port > 65535))) {
    throw configError(`${option}: expected http(s)://HOST[:PORT] where HOST is a DNS name (letters, digits, '-' and '.'), an IPv4 address or a bracketed IPv6 address and PORT is 1-65535, e.g. https://minio.example.com:9000; got ${JSON.stringify(value)}`);
  }
  // eslint-disable-next-line no-control-regex
  if (/[\s\u0000-\u001f\u007f]/.test(value)) {
    throw configError(`${option}: expected a URL without whitespace or control characters; got ${JSON.stringify(value)}`);
  }
}
