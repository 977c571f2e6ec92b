/**
 * Test support: the summary line a job's scripts end with (assets/summary-lib.sh,
 * docs/summary-line.md), read as a log pipeline would: the last line of a container's stdout,
 * parsed as JSON.
 */
import { ContainerResult } from './pod-runner';

/** The fields every summary line has; the rest depend on the kind. */
export interface JobSummary {
  readonly summary: string;
  readonly kind: string;
  readonly cluster: string;
  readonly job: string;
  readonly result: 'succeeded' | 'failed';
  readonly failedStep: string | null;
  readonly exitCode: number;
  readonly durationSeconds: number;
  readonly [field: string]: unknown;
}

/** The last line of the container's stdout as a summary line; throws (with the output) when it is not one. */
export function summaryOf(c: ContainerResult | undefined): JobSummary {
  if (!c) throw new Error('summaryOf: no such container');
  const lines = c.stdout.split('\n').filter((l) => l !== '');
  const last = lines[lines.length - 1] ?? '';
  let parsed: any;
  try {
    parsed = JSON.parse(last);
  } catch (e) {
    throw new Error(`summaryOf: the last stdout line of ${c.name} is not JSON: ${JSON.stringify(last)}\n--- stdout\n${c.stdout}\n--- stderr\n${c.stderr}`);
  }
  if (parsed?.summary !== 'cdk8s-backup/v1') throw new Error(`summaryOf: the last stdout line of ${c.name} is not a summary line: ${last}`);
  // The exit code the line reports is the container's: the summary never hides a failure.
  if (c.exitCode !== null && parsed.exitCode !== c.exitCode) {
    throw new Error(`summaryOf: ${c.name} exited ${c.exitCode}, its summary says ${parsed.exitCode}: ${last}`);
  }
  return parsed;
}
