/**
 * Fills an etcd to a database size with large random values in transactions (the benchmarks'
 * ~1 GiB etcd), reporting progress every 10 %.
 */
import { randomBytes } from 'crypto';
import { EtcdServer } from '../test/support/etcd';

/** 48 KiB of random bytes = exactly 64 KiB of base64 (no newline, no quote: fine for `etcdctl txn`). */
const RAW_VALUE_BYTES = 48 * 1024;
/** The size of each stored value. */
export const VALUE_BYTES = RAW_VALUE_BYTES * 4 / 3;
/** etcdctl's gRPC client refuses requests over 2 MiB (clientv3 default MaxCallSendMsgSize). */
const PUTS_PER_TXN = 24;
const LOAD_CONCURRENCY = 3;
const sec = (ms: number) => ms / 1000;

export function dbSize(etcd: EtcdServer): number {
  return Number(JSON.parse(etcd.etcdctl(['endpoint', 'status', '-w', 'json']))[0].Status.dbSize);
}

/**
 * @param putsPerTxn values per transaction: 24 needs `--max-request-bytes` above etcd's 1.5 MiB
 * default; 16 fits under it
 */
export async function fill(etcd: EtcdServer, targetBytes: number, putsPerTxn = PUTS_PER_TXN): Promise<{ keys: number; ms: number; dbSize: number }> {
  const t0 = Date.now();
  let keys = 0;
  let size = dbSize(etcd);
  let nextReport = 0.1;
  // Estimate the batches needed, then top up until dbSize reaches the target.
  while (size < targetBytes) {
    const missing = targetBytes - size;
    const batches = Math.max(1, Math.ceil(missing / (putsPerTxn * RAW_VALUE_BYTES * 4 / 3)));
    let next = 0;
    const worker = async () => {
      while (next < batches) {
        next++;
        const lines: string[] = [];
        for (let i = 0; i < putsPerTxn; i++) {
          const key = `/registry/bench/value-${String(keys++).padStart(7, '0')}`;
          lines.push(`put ${key} "${randomBytes(RAW_VALUE_BYTES).toString('base64')}"`);
        }
        // txn stdin: compares, blank line, success ops, blank line, failure ops, blank line
        const out = await etcd.etcdctlAsync(['txn'], `\n${lines.join('\n')}\n\n\n`);
        if (!out.startsWith('SUCCESS')) throw new Error(`etcdctl txn did not succeed: ${out.slice(0, 200)}`);
        const done = (keys * RAW_VALUE_BYTES * 4 / 3) / targetBytes;
        if (done >= nextReport) {
          process.stdout.write(`  loaded ~${Math.round(done * 100)}% (${keys} keys, ${sec(Date.now() - t0).toFixed(0)} s)\n`);
          nextReport += 0.1;
        }
      }
    };
    await Promise.all(Array.from({ length: LOAD_CONCURRENCY }, worker));
    size = dbSize(etcd);
  }
  return { keys, ms: Date.now() - t0, dbSize: size };
}

/**
 * One hour of churn as a kube-apiserver makes it, scaled to the bench's etcd: 200 small puts
 * (events, leases: new keys of ~1 KiB), 20 large puts (existing values rewritten), 20 deletes,
 * then a compaction at the current revision (kube-apiserver compacts every 5 minutes).
 */
export async function churn(etcd: EtcdServer, keys: number, round: number): Promise<void> {
  const ops: string[] = [];
  for (let i = 0; i < 200; i++) ops.push(`put /registry/events/bench/round-${round}-${i} "${randomBytes(768).toString('base64')}"`);
  for (let i = 0; i < 20; i++) {
    const k = (round * 7919 + i * 104729) % keys;
    ops.push(`put /registry/bench/value-${String(k).padStart(7, '0')} "${randomBytes(RAW_VALUE_BYTES).toString('base64')}"`);
  }
  for (let i = 0; i < 20; i++) ops.push(`del /registry/events/bench/round-${Math.max(0, round - 1)}-${i}`);
  for (let i = 0; i < ops.length; i += PUTS_PER_TXN) {
    const out = await etcd.etcdctlAsync(['txn'], `\n${ops.slice(i, i + PUTS_PER_TXN).join('\n')}\n\n\n`);
    if (!out.startsWith('SUCCESS')) throw new Error(`etcdctl txn did not succeed: ${out.slice(0, 200)}`);
  }
  const revision = JSON.parse(etcd.etcdctl(['endpoint', 'status', '-w', 'json']))[0].Status.header.revision;
  etcd.etcdctl(['compact', String(revision)]);
}
