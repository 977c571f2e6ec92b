import { Testing } from 'cdk8s';
import { testRepository } from './charts';
import { ClusterBackup, ClusterBackupProps, EtcdSource } from '../../src';

/** The acknowledgement a test cluster gives: the keys are kept outside it. */
export const ok = { keysStoredOutsideCluster: true, singleCredential: true };

/** A kubeadm ClusterBackup of three control-plane nodes, synthesized. */
export function synth(props: Partial<ClusterBackupProps> = {}) {
  const chart = Testing.chart();
  const backup = new ClusterBackup(chart, 'backup', {
    clusterName: 'prod',
    repository: testRepository(),
    etcd: { source: EtcdSource.kubeadm() },
    controlPlaneConfig: { nodes: ['cp-1', 'cp-2', 'cp-3'] },
    acknowledge: ok,
    ...props,
  });
  return { backup, manifests: Testing.synth(chart) };
}
