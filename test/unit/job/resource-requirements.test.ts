import { Size, Testing } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { ControlPlaneConfigBackup, Database, DatabaseDumpBackup, EtcdSource, ResourceRequirements } from '../../../src';
import { podSpec, synthEtcdBackup, testRepository } from '../../support/charts';
import { expectValidManifests } from '../../support/validate';

const etcdPod = (snapshot?: ResourceRequirements, upload?: ResourceRequirements) =>
  podSpec(synthEtcdBackup({ resources: { snapshot, upload } }).manifests);
const limits = (cpu: string, memory: string) => ({ cpu, memory });

describe('ResourceRequirements', () => {
  test('without resources, every container keeps its default', () => {
    const spec = podSpec(synthEtcdBackup().manifests);
    expect(spec.initContainers[0].resources).toEqual({ requests: limits('100m', '64Mi'), limits: limits('1000m', '256Mi') });
    expect(spec.containers[0].resources).toEqual({ requests: limits('100m', '256Mi'), limits: limits('1000m', '1024Mi') });
    expect(etcdPod({}, {}).containers[0].resources).toEqual(spec.containers[0].resources);

    const chart = Testing.chart();
    new ControlPlaneConfigBackup(chart, 'config', { clusterName: 'prod', source: EtcdSource.kubeadm(), repository: testRepository(), nodes: ['cp-1'] });
    new DatabaseDumpBackup(chart, 'db', { clusterName: 'prod', repository: testRepository(), database: Database.mysql({ host: 'db', credentials: { password: { name: 'db', key: 'p' } } }) });
    const [config, db] = Testing.synth(chart).filter((m) => m.kind === 'CronJob').map((cj) => cj.spec.jobTemplate.spec.template.spec);
    expect(config.containers[0].resources).toEqual({ requests: limits('100m', '128Mi'), limits: limits('1000m', '512Mi') });
    expect(db.containers[0].resources).toEqual({ requests: limits('100m', '128Mi'), limits: limits('1000m', '1024Mi') });
  });

  test('GIVEN every field WHEN synthesized THEN CPU renders as written and memory in MiB, schema-valid', () => {
    // GIVEN / WHEN
    const { manifests } = synthEtcdBackup({
      resources: {
        snapshot: { cpuRequest: '0.25', cpuLimit: '2', memoryRequest: Size.mebibytes(32), memoryLimit: Size.gibibytes(0.5) },
        upload: { cpuRequest: '250m', cpuLimit: '1.5', memoryRequest: Size.mebibytes(512), memoryLimit: Size.gibibytes(2) },
      },
    });

    // THEN
    const spec = podSpec(manifests);
    expect(spec.initContainers[0].resources).toEqual({ requests: limits('0.25', '32Mi'), limits: limits('2', '512Mi') });
    expect(spec.containers[0].resources).toEqual({ requests: limits('250m', '512Mi'), limits: limits('1.5', '2048Mi') });
    expectValidManifests(manifests);
  });

  test('a field left out keeps the container\'s default', () => {
    expect(etcdPod(undefined, { memoryLimit: Size.gibibytes(2) }).containers[0].resources)
      .toEqual({ requests: limits('100m', '256Mi'), limits: limits('1000m', '2048Mi') });
    expect(etcdPod({ cpuLimit: '500m' }).initContainers[0].resources).toEqual({ requests: limits('100m', '64Mi'), limits: limits('500m', '256Mi') });
  });

  test.each<[string, ResourceRequirements, RegExp]>([
    ['a CPU quantity that does not parse', { cpuLimit: '2 cores' }, /resources\.upload\.cpuLimit: expected a CPU quantity of at least 1m, in cores \('1', '0\.5'\) or millicores \('250m'\); got "2 cores"/],
    ['a CPU quantity finer than 1m', { cpuRequest: '0.0005' }, /resources\.upload\.cpuRequest: expected a CPU quantity of at least 1m/],
    ['fractional millicores', { cpuRequest: '1.5m' }, /resources\.upload\.cpuRequest: expected a CPU quantity/],
    ['zero CPU', { cpuLimit: '0' }, /resources\.upload\.cpuLimit: expected a CPU quantity of at least 1m/],
    ['a CPU request above its limit', { cpuRequest: '2', cpuLimit: '500m' }, /resources\.upload: cpuRequest \(2000m\) is above cpuLimit \(500m\); .*lower cpuRequest or raise cpuLimit/],
    ['a CPU request above the default limit', { cpuRequest: '1500m' }, /resources\.upload: cpuRequest \(1500m\) is above cpuLimit \(1000m, the default\)/],
    ['a memory request above its limit', { memoryRequest: Size.gibibytes(2), memoryLimit: Size.gibibytes(1) }, /resources\.upload: memoryRequest \(2048Mi\) is above memoryLimit \(1024Mi\); .*lower memoryRequest or raise memoryLimit/],
    ['a memory limit below the default request', { memoryLimit: Size.mebibytes(128) }, /resources\.upload: memoryRequest \(256Mi, the default\) is above memoryLimit \(128Mi\)/],
    ['memory that is no whole number of MiB', { memoryLimit: Size.kibibytes(1536) }, /resources\.upload\.memoryLimit: expected a whole number of mebibytes, at least 1 .*; got 1\.5 MiB/],
    ['memory that is no Size', { memoryLimit: '1Gi' as any }, /resources\.upload\.memoryLimit: expected a cdk8s Size, e\.g\. Size\.mebibytes\(256\)/],
    ['a misspelt field', { memoryLimits: Size.gibibytes(1) } as any, /resources\.upload: unknown field 'memoryLimits'; resources have cpuRequest, cpuLimit, memoryRequest and memoryLimit/],
  ])('GIVEN %s WHEN the job is built THEN it names the option and the fix', (_, upload, message) => {
    expect(() => etcdPod(undefined, upload)).toThrow(/^EtcdSnapshotBackup: resources\.upload/);
    expect(() => etcdPod(undefined, upload)).toThrow(message);
  });

  test('cdk8s-plus ContainerResources from untyped code are refused with the reason; each job names its option', () => {
    const kplusResources: kplus.ContainerResources = { cpu: { request: kplus.Cpu.millis(100) }, memory: { limit: Size.gibibytes(1) } };
    expect(() => etcdPod(kplusResources as any)).toThrow(/EtcdSnapshotBackup: resources\.snapshot: unknown field 'cpu', 'memory'; .*\(plain data, not cdk8s-plus ContainerResources\)/);
    expect(() => new ControlPlaneConfigBackup(Testing.chart(), 'config', {
      clusterName: 'prod',
      source: EtcdSource.kubeadm(),
      repository: testRepository(),
      nodes: ['cp-1'],
      resources: { cpuRequest: 'x' },
    })).toThrow(/^ControlPlaneConfigBackup: resources\.cpuRequest: expected a CPU quantity/);
    expect(() => new DatabaseDumpBackup(Testing.chart(), 'db', {
      clusterName: 'prod',
      repository: testRepository(),
      database: Database.mysql({ host: 'db', credentials: { password: { name: 'db', key: 'p' } } }),
      resources: { memoryRequest: Size.gibibytes(4) },
    })).toThrow(/^DatabaseDumpBackup: resources: memoryRequest \(4096Mi\) is above memoryLimit \(1024Mi, the default\)/);
  });
});
