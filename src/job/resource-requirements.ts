import { Size, SizeRoundingBehavior } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { configError } from '../internal/errors';

/**
 * CPU and memory of a container, as plain data (any cdk8s-plus, or none, can hand them over):
 * the requests the scheduler reserves and the limits the kubelet enforces. A field left out
 * keeps the container's default (each option says which); a request may not exceed its limit,
 * e.g. `{ cpuRequest: '250m', cpuLimit: '2', memoryRequest: Size.mebibytes(256), memoryLimit: Size.gibibytes(2) }`.
 */
export interface ResourceRequirements {
  /**
   * CPU reserved for the container, as a Kubernetes quantity: cores (`'1'`, `'0.5'`) or
   * millicores (`'250m'`), in steps of 1m.
   * @default - the container's default request
   */
  readonly cpuRequest?: string;
  /**
   * CPU the container may use at most (throttled above), as in `cpuRequest`.
   * @default - the container's default limit
   */
  readonly cpuLimit?: string;
  /**
   * Memory reserved for the container (a whole number of mebibytes).
   * @default - the container's default request
   */
  readonly memoryRequest?: Size;
  /**
   * Memory the container may use at most (killed above), a whole number of mebibytes.
   * @default - the container's default limit
   */
  readonly memoryLimit?: Size;
}

const FIELDS = ['cpuRequest', 'cpuLimit', 'memoryRequest', 'memoryLimit'];

/**
 * A container's resources: `given` over the container's defaults (CPU in millicores, memory in
 * mebibytes), checked; `option` names the option, e.g. `EtcdSnapshotBackup: resources.upload`.
 * Without `given`, exactly the defaults (`option` may then be empty: nothing is checked). The one
 * place a container's resources are built.
 * @internal
 */
export function containerResources(option: string, given: ResourceRequirements | undefined,
  cpuRequestMillis: number, cpuLimitMillis: number, memRequestMi: number, memLimitMi: number): kplus.ContainerResources {
  const g = given ?? {};
  if (typeof g !== 'object') throw configError(`${option}: expected { cpuRequest, cpuLimit, memoryRequest, memoryLimit }; got ${JSON.stringify(g)}`);
  const unknown = Object.keys(g).filter((f) => !FIELDS.includes(f) && (g as any)[f] !== undefined);
  if (unknown.length > 0) {
    throw configError(`${option}: unknown field ${unknown.map((f) => `'${f}'`).join(', ')}; resources have cpuRequest, cpuLimit, memoryRequest and memoryLimit`
      + ' (plain data, not cdk8s-plus ContainerResources)');
  }
  const cpuRequest = g.cpuRequest === undefined ? undefined : cpuMillis(`${option}.cpuRequest`, g.cpuRequest);
  const cpuLimit = g.cpuLimit === undefined ? undefined : cpuMillis(`${option}.cpuLimit`, g.cpuLimit);
  const memRequest = g.memoryRequest === undefined ? memRequestMi : mebibytes(`${option}.memoryRequest`, g.memoryRequest);
  const memLimit = g.memoryLimit === undefined ? memLimitMi : mebibytes(`${option}.memoryLimit`, g.memoryLimit);
  const cpuReq = cpuRequest ?? cpuRequestMillis;
  const cpuLim = cpuLimit ?? cpuLimitMillis;
  if (cpuReq > cpuLim) {
    throw configError(`${option}: cpuRequest (${cpuReq}m${cpuRequest === undefined ? ', the default' : ''}) is above cpuLimit `
      + `(${cpuLim}m${cpuLimit === undefined ? ', the default' : ''}); Kubernetes rejects a request above its limit: lower cpuRequest or raise cpuLimit`);
  }
  if (memRequest > memLimit) {
    throw configError(`${option}: memoryRequest (${memRequest}Mi${g.memoryRequest === undefined ? ', the default' : ''}) is above memoryLimit `
      + `(${memLimit}Mi${g.memoryLimit === undefined ? ', the default' : ''}); Kubernetes rejects a request above its limit: lower memoryRequest or raise memoryLimit`);
  }
  return {
    cpu: { request: cpu(g.cpuRequest, cpuRequestMillis), limit: cpu(g.cpuLimit, cpuLimitMillis) },
    memory: { request: Size.mebibytes(memRequest), limit: Size.mebibytes(memLimit) },
  };
}

/** The user's quantity as written (`'250m'`, `'0.5'`), or the default in millicores. */
function cpu(given: string | undefined, defaultMillis: number): kplus.Cpu {
  if (given === undefined) return kplus.Cpu.millis(defaultMillis);
  return given.endsWith('m') ? kplus.Cpu.millis(Number(given.slice(0, -1))) : kplus.Cpu.units(Number(given));
}

function cpuMillis(option: string, quantity: string): number {
  const m = typeof quantity === 'string' ? /^(?:(\d+)m|(\d+(?:\.\d{1,3})?|\.\d{1,3}))$/.exec(quantity) : null;
  const millis = m ? (m[1] !== undefined ? Number(m[1]) : Math.round(Number(m[2]) * 1000)) : NaN;
  if (!m || millis < 1) {
    throw configError(`${option}: expected a CPU quantity of at least 1m, in cores ('1', '0.5') or millicores ('250m'); got ${JSON.stringify(quantity)}`);
  }
  return millis;
}

function mebibytes(option: string, size: Size): number {
  let mi: number;
  try {
    mi = size.toMebibytes({ rounding: SizeRoundingBehavior.NONE });
  } catch {
    throw configError(`${option}: expected a cdk8s Size, e.g. Size.mebibytes(256) or Size.gibibytes(1); got ${JSON.stringify(size)}`);
  }
  if (!Number.isInteger(mi) || mi < 1) {
    throw configError(`${option}: expected a whole number of mebibytes, at least 1 (e.g. Size.mebibytes(256)); got ${mi} MiB`);
  }
  return mi;
}
