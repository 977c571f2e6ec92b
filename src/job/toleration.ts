import { Duration } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { configError } from '../internal/errors';
import { isLabelKey, isLabelValue } from '../internal/names';

/**
 * A taint the pods tolerate: the fields of a Kubernetes `core/v1` Toleration, as plain data
 * (any cdk8s-plus, or none, can hand them over), checked when the job is built, e.g.
 * `{ key: 'node-role.kubernetes.io/control-plane', operator: 'Exists', effect: 'NoSchedule' }`.
 */
export interface Toleration {
  /**
   * The taint key (a label key, e.g. `node-role.kubernetes.io/control-plane`).
   * @default - every key (only with `operator: 'Exists'`)
   */
  readonly key?: string;
  /**
   * `Equal` (the taint's value is `value`) or `Exists` (any value).
   * @default 'Equal'
   */
  readonly operator?: string;
  /**
   * The taint value `Equal` matches (a label value; `''` for a taint without one). Required with
   * `Equal`, not allowed with `Exists`.
   * @default - none
   */
  readonly value?: string;
  /**
   * The taint effect it tolerates: `NoSchedule`, `PreferNoSchedule` or `NoExecute`.
   * @default - every effect
   */
  readonly effect?: string;
  /**
   * How long a pod stays on a node after a matching `NoExecute` taint appears (whole seconds;
   * only with `effect: 'NoExecute'`).
   * @default - forever
   */
  readonly tolerationSeconds?: number;
}

const FIELDS = ['key', 'operator', 'value', 'effect', 'tolerationSeconds'];
const OPERATORS = ['Equal', 'Exists'];
const EFFECTS: { [effect: string]: kplus.TaintEffect } = {
  NoSchedule: kplus.TaintEffect.NO_SCHEDULE,
  PreferNoSchedule: kplus.TaintEffect.PREFER_NO_SCHEDULE,
  NoExecute: kplus.TaintEffect.NO_EXECUTE,
};

/**
 * Checks tolerations as the API server would, and what it would accept but never match (an
 * `Equal` without a value); `option` names the list, e.g. `EtcdSource.kubeadm({ tolerations })`.
 * @internal
 */
export function checkTolerations(option: string, tolerations: Toleration[]): Toleration[] {
  if (!Array.isArray(tolerations)) throw configError(`${option}: expected a list of tolerations; got ${JSON.stringify(tolerations)}`);
  tolerations.forEach((t, i) => {
    const at = `${option}[${i}]`;
    if (t === null || typeof t !== 'object') throw configError(`${at}: expected { key, operator, value, effect, tolerationSeconds }; got ${JSON.stringify(t)}`);
    const unknown = Object.keys(t).filter((f) => !FIELDS.includes(f) && (t as any)[f] !== undefined);
    if (unknown.length > 0) {
      throw configError(`${at}: unknown field ${unknown.map((f) => `'${f}'`).join(', ')}; a toleration has key, operator, value, effect and tolerationSeconds`
        + ' (plain data, not a cdk8s-plus NodeTaintQuery)');
    }
    const operator = t.operator ?? 'Equal';
    if (!OPERATORS.includes(operator)) throw configError(`${at}: operator must be 'Equal' or 'Exists'; got ${JSON.stringify(t.operator)}`);
    if (t.key !== undefined && t.key !== '' && !isLabelKey(t.key)) {
      throw configError(`${at}: key must be a taint key (a label key like 'node-role.kubernetes.io/control-plane'); got ${JSON.stringify(t.key)}`);
    }
    if (operator === 'Exists') {
      if (t.value !== undefined && t.value !== '') {
        throw configError(`${at}: operator 'Exists' matches any value, so it takes none; drop value ${JSON.stringify(t.value)}, or use operator 'Equal'`);
      }
    } else {
      if (t.key === undefined || t.key === '') {
        throw configError(`${at}: a toleration without a key matches every taint only with operator 'Exists'; set key, or operator: 'Exists'`);
      }
      if (t.value === undefined) {
        throw configError(`${at}: operator 'Equal' (the default) needs a value; set value (\`''\` for a taint without one), or operator: 'Exists' to tolerate any value of ${JSON.stringify(t.key)}`);
      }
      if (!isLabelValue(t.value)) {
        throw configError(`${at}: value must be a taint value (up to 63 letters, digits, '-', '_', '.', starting and ending with a letter or digit); got ${JSON.stringify(t.value)}`);
      }
    }
    if (t.effect !== undefined && !(t.effect in EFFECTS)) {
      throw configError(`${at}: effect must be 'NoSchedule', 'PreferNoSchedule' or 'NoExecute' (or unset for every effect); got ${JSON.stringify(t.effect)}`);
    }
    if (t.tolerationSeconds !== undefined) {
      if (!Number.isInteger(t.tolerationSeconds) || t.tolerationSeconds < 0) {
        throw configError(`${at}: tolerationSeconds must be a whole number of seconds, 0 or more; got ${t.tolerationSeconds}`);
      }
      if (t.effect !== 'NoExecute') {
        throw configError(`${at}: tolerationSeconds applies only to effect 'NoExecute' (the eviction it delays); got effect ${JSON.stringify(t.effect)}`);
      }
    }
  });
  return tolerations;
}

/** A checked toleration as cdk8s-plus-28 renders it (key, operator, value and effect as given). @internal */
export function taintQuery(t: Toleration): kplus.NodeTaintQuery {
  const options = {
    effect: t.effect === undefined ? undefined : EFFECTS[t.effect],
    evictAfter: t.tolerationSeconds === undefined ? undefined : Duration.seconds(t.tolerationSeconds),
  };
  // Without a key (every taint), the key is left out of the manifest.
  const key = t.key || undefined;
  return (t.operator ?? 'Equal') === 'Exists' ? kplus.NodeTaintQuery.exists(key as string, options) : kplus.NodeTaintQuery.is(key as string, t.value!, options);
}
