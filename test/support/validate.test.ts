import { Chart, Cron, Testing } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import {
  checkNameLimits,
  expectValidManifests,
  isBuiltinKind,
  isCustomResource,
  validateManifests,
} from './validate';

function synthCronJob(name?: string): any[] {
  const chart = new Chart(Testing.app(), 'test');
  new kplus.CronJob(chart, 'c', {
    metadata: name ? { name } : undefined,
    schedule: Cron.hourly(),
    containers: [{ image: 'busybox:1.36', securityContext: { ensureNonRoot: false } }],
  });
  return Testing.synth(chart);
}

function podSpecOf(cronJob: any): any {
  return cronJob.spec.jobTemplate.spec.template.spec;
}

describe('validateManifests', () => {
  test('a CronJob synthesized with cdk8s-plus-28 is valid', () => {
    const manifests = synthCronJob();
    expect(manifests).toHaveLength(1);
    expect(manifests[0].kind).toBe('CronJob');
    expect(validateManifests(manifests)).toEqual([]);
    expect(() => expectValidManifests(manifests)).not.toThrow();
  });

  test('an image volume (KEP-4639, newer than 1.28) is checked against its own schema, then accepted', () => {
    const withImage = (image: any, extra: any = {}) => {
      const [cronJob] = synthCronJob();
      podSpecOf(cronJob).volumes = [{ name: 'etcd-image', image, ...extra }];
      podSpecOf(cronJob).containers[0].volumeMounts = [{ name: 'etcd-image', mountPath: '/etcd-image', readOnly: true }];
      return validateManifests([cronJob]);
    };
    expect(withImage({ reference: 'registry.k8s.io/etcd:3.6.11-0', pullPolicy: 'IfNotPresent' })).toEqual([]);
    expect(withImage({ reference: 'not an image' }).join('\n')).toMatch(/volumes\[0\]\.image\.reference: must be an image reference/);
    expect(withImage({ reference: 'etcd:3', pullPolicy: 'Sometimes' }).join('\n')).toMatch(/pullPolicy: Unsupported value "Sometimes"/);
    expect(withImage({ reference: 'etcd:3', ref: 'x' }).join('\n')).toMatch(/unknown field 'ref'/);
    expect(withImage({ reference: 'etcd:3' }, { emptyDir: {} }).join('\n')).toMatch(/an image volume has no other source \(emptyDir\)/);
  });

  test('a misspelt field is rejected and named', () => {
    const [cronJob] = synthCronJob();
    podSpecOf(cronJob).hostNetwrok = true;
    const problems = validateManifests([cronJob]);
    expect(problems.length).toBeGreaterThan(0);
    expect(problems.join('\n')).toMatch(/spec\.jobTemplate\.spec\.template\.spec\.hostNetwrok: .*'hostNetwrok'/);
    expect(problems.every((p) => p.startsWith('[0] CronJob '))).toBe(true);
    expect(() => expectValidManifests([cronJob])).toThrow(/hostNetwrok/);
  });

  test('every misspelt field of one object literal is reported', () => {
    const [cronJob] = synthCronJob();
    Object.assign(podSpecOf(cronJob), { hostNetwrok: true, restartPolicyy: 'Never' });
    cronJob.spec.jobTemplate.spec.template.spec.containers[0].imagePullPolicyy = 'Always';
    const problems = validateManifests([cronJob]).join('\n');
    expect(problems).toMatch(/hostNetwrok/);
    expect(problems).toMatch(/restartPolicyy/);
    expect(problems).toMatch(/containers\[0\]\.imagePullPolicyy/);
  });

  test('a wrong type is rejected by the schema and the strict check', () => {
    const [cronJob] = synthCronJob();
    cronJob.spec.jobTemplate.spec.backoffLimit = 'six';
    const problems = validateManifests([cronJob]);
    const text = problems.join('\n');
    expect(text).toMatch(/spec\.jobTemplate\.spec\.backoffLimit: .*integer.*\(kubernetes-models schema\)/);
    expect(text).toMatch(/spec\.jobTemplate\.spec\.backoffLimit: .*'string' is not assignable to type 'number'.*strict check/);
  });

  test('a missing required field is rejected', () => {
    const [cronJob] = synthCronJob();
    delete cronJob.spec.schedule;
    expect(validateManifests([cronJob]).join('\n')).toMatch(/schedule/);
  });

  test('problems are mapped to the right object', () => {
    const [a] = synthCronJob('first');
    const [b] = synthCronJob('second');
    podSpecOf(b).hostNetwrok = true;
    const problems = validateManifests([a, b]);
    expect(problems.length).toBeGreaterThan(0);
    expect(problems.every((p) => p.startsWith('[1] CronJob second: '))).toBe(true);
  });

  test('a CronJob name of 53 characters is rejected, 52 is accepted', () => {
    const [ok] = synthCronJob('a'.repeat(52));
    expect(validateManifests([ok])).toEqual([]);
    const [tooLong] = synthCronJob('a'.repeat(53));
    expect(tooLong.metadata.name).toHaveLength(53);
    const problems = validateManifests([tooLong]);
    expect(problems).toEqual([expect.stringMatching(/metadata\.name: .*no more than 52 characters/)]);
    expect(checkNameLimits([tooLong])).toHaveLength(1);
  });

  test('bad label values and keys are rejected', () => {
    const [cronJob] = synthCronJob();
    cronJob.metadata.labels = { app: 'bad value!' };
    cronJob.spec.jobTemplate.spec.template.metadata.labels['example.com/long'] = 'x'.repeat(64);
    cronJob.spec.jobTemplate.spec.template.metadata.labels['-bad-key'] = 'ok';
    const problems = validateManifests([cronJob]).join('\n');
    expect(problems).toMatch(/metadata\.labels\.app: invalid label value "bad value!"/);
    expect(problems).toMatch(/template\.metadata\.labels\["example\.com\/long"\]: invalid label value .*no more than 63/);
    expect(problems).toMatch(/invalid label key "-bad-key"/);
  });

  test('name rules depend on the kind', () => {
    const objs = [
      { apiVersion: 'v1', kind: 'Service', metadata: { name: '1svc' }, spec: { ports: [{ port: 80 }] } },
      { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'a'.repeat(100) } },
      { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'a'.repeat(64) } },
      { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: { name: 'system:backup-reader' }, rules: [] },
      { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'Upper_Case' } },
    ];
    const problems = checkNameLimits(objs);
    expect(problems).toEqual([
      expect.stringMatching(/^\[0\] Service 1svc: .*DNS-1035 label/),
      expect.stringMatching(/^\[2\] Namespace a+: .*no more than 63/),
      expect.stringMatching(/^\[4\] Secret Upper_Case: .*DNS-1123 subdomain/),
    ]);
  });

  test('custom resources are left to the CRD check, unknown built-in kinds are reported', () => {
    const backup = { apiVersion: 'velero.io/v1', kind: 'Backup', metadata: { name: 'b', namespace: 'velero' }, spec: { anything: true } };
    const oldCronJob = { apiVersion: 'batch/v1beta1', kind: 'CronJob', metadata: { name: 'c' }, spec: {} };
    expect(isBuiltinKind(backup)).toBe(false);
    expect(isCustomResource(backup)).toBe(true);
    expect(isBuiltinKind(oldCronJob)).toBe(false);
    expect(isCustomResource(oldCronJob)).toBe(false);
    expect(validateManifests([backup])).toEqual([]);
    expect(validateManifests([oldCronJob])).toEqual([expect.stringMatching(/removed in Kubernetes 1\.25/)]);
  });

  test('all registered kinds are checked in one call', () => {
    const chart = new Chart(Testing.app(), 'test');
    const sa = new kplus.ServiceAccount(chart, 'sa');
    const cm = new kplus.ConfigMap(chart, 'cm', { data: { a: 'b' } });
    new kplus.Secret(chart, 'secret', { stringData: { k: 'v' } });
    const dep = new kplus.Deployment(chart, 'dep', {
      containers: [{ image: 'busybox:1.36', portNumber: 8080, securityContext: { ensureNonRoot: false } }],
      serviceAccount: sa,
    });
    dep.exposeViaService();
    new kplus.Job(chart, 'job', { containers: [{ image: 'busybox:1.36', volumeMounts: [{ path: '/cfg', volume: kplus.Volume.fromConfigMap(chart, 'v', cm) }] }] });
    const role = new kplus.Role(chart, 'role');
    role.allowRead(cm);
    role.bind(sa);
    const objs = Testing.synth(chart);
    expect(new Set(objs.map((o: any) => o.kind))).toEqual(new Set(['ServiceAccount', 'ConfigMap', 'Secret', 'Deployment', 'Service', 'Job', 'Role', 'RoleBinding']));
    expect(objs.every(isBuiltinKind)).toBe(true);
    expect(validateManifests(objs)).toEqual([]);

    const broken = JSON.parse(JSON.stringify(objs));
    broken.find((o: any) => o.kind === 'Role').rules[0].verbz = ['get'];
    broken.find((o: any) => o.kind === 'Service').spec.portz = [];
    const problems = validateManifests(broken).join('\n');
    expect(problems).toMatch(/Role .*rules\[0\]\.verbz/);
    expect(problems).toMatch(/Service .*spec\.portz/);
  });
});
