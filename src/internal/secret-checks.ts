import { configError } from './errors';
import { DNS_SUBDOMAIN } from './names';

/** A Secret key reference, as every public `SecretKeyRef` is (structural: internal/ imports nothing above it). */
interface SecretKeyRef {
  readonly name: string;
  readonly key: string;
}

const SECRET_KEY = /^[-._a-zA-Z0-9]+$/;

/** @internal */
export function checkSecretName(option: string, name: string): void {
  if (!name || name.length > 253 || !DNS_SUBDOMAIN.test(name)) {
    throw configError(`${option}: a Secret name must be a DNS subdomain (lowercase letters, digits, '-', '.'; ≤ 253 characters); got ${JSON.stringify(name)}`);
  }
}

/** @internal */
export function checkSecretKey(option: string, key: string): void {
  if (!key || key.length > 253 || !SECRET_KEY.test(key)) {
    throw configError(`${option}: a Secret key may contain only letters, digits, '-', '_' and '.'; got ${JSON.stringify(key)}`);
  }
}

/** @internal */
export function checkSecretKeyRef<T extends SecretKeyRef>(option: string, ref: T): T {
  if (!ref) throw configError(`${option}: a Secret reference { name, key } is required`);
  checkSecretName(`${option}.name`, ref.name);
  checkSecretKey(`${option}.key`, ref.key);
  return ref;
}
