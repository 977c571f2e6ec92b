import { EtcdVersion } from '../../../src';
import { EtcdRestoreTool, initialCluster, moveAsideLines, onMarker, renderScenario, WORKSTATION } from '../../../src/etcd/restore-procedure';

describe('Distribution: the facts of each control plane, in one place', () => {
  test('the restore tool is etcdutl (etcdctl snapshot restore is gone in 3.6), with the revision bump where it exists', () => {
    const tool = (v: string) => new EtcdRestoreTool(EtcdVersion.of(v));
    expect(tool('3.6.11').restoreLines({ snapshot: 's', dataDir: 'd', name: 'n', initialCluster: 'i', token: 't', peerUrl: 'p' })[0])
      .toBe('sudo etcdutl snapshot restore s --data-dir d \\');
    expect(tool('3.5.9').canBumpRevision).toBe(false);
    expect(tool('3.5.10').canBumpRevision).toBe(true);
    expect(tool('3.7.0').canBumpRevision).toBe(true);
    expect(() => EtcdVersion.of('3.5')).toThrow(/etcdVersion: expected an etcd version like '3.6.11'/);
    expect(() => EtcdVersion.of('3.8.0')).toThrow(/etcd 3.5 to 3.7 are supported/);
  });
});

describe('restore procedure helpers', () => {
  test('a directory is moved aside only when it exists, with a time stamp', () => {
    expect(moveAsideLines('/var/lib/etcd')).toEqual(['if sudo test -e /var/lib/etcd; then sudo mv /var/lib/etcd /var/lib/etcd.before-restore."$(date +%Y%m%d%H%M%S)"; fi']);
  });

  test('the initial cluster names every member with its peer URL', () => {
    expect(initialCluster([{ name: 'cp-1', address: '10.0.0.1' }, { name: 'cp-2', address: '[fd00::2]' }]))
      .toBe('cp-1=https://10.0.0.1:2380,cp-2=https://[fd00::2]:2380');
  });

  test('a block opens with the marker of where it runs', () => {
    expect(onMarker({ on: ['cp-1', 'cp-2'], title: 't', lines: [] })).toBe('# on: cp-1 cp-2');
    expect(onMarker({ on: ['cp-1', 'cp-2'], once: true, title: 't', lines: [] })).toBe('# on: one of cp-1 cp-2');
  });

  test('a scenario renders numbered steps, each block in a strict subshell', () => {
    const md = renderScenario({
      title: 'Quorum lost',
      when: 'every member is gone',
      intro: 'Read this first.',
      blocks: [{ on: [WORKSTATION], title: 'fetch the snapshot', lines: ['restic restore latest'] }, { on: ['cp-1'], once: true, title: 'restore', lines: ['etcdutl'], note: 'Slow.' }],
    }, '###').join('\n');
    expect(md).toContain('### Quorum lost\n\nWhen: every member is gone.\n\nRead this first.\n');
    expect(md).toContain('**Step 1 — on your workstation:** fetch the snapshot.\n\n```sh\n# on: workstation\n(\nset -euo pipefail\nrestic restore latest\n)\n```');
    expect(md).toContain('**Step 2 — on ONE of cp-1:** restore. Slow.');
  });

  test('etcdctl commands quote every word', () => {
    const tool = new EtcdRestoreTool(EtcdVersion.of('3.6.11'));
    expect(tool.etcdctl('https://10.0.0.1:2379', { ca: '/pki/ca.crt', cert: '/pki/c.crt', key: '/pki/c.key' }, 'member', 'list'))
      .toBe('sudo etcdctl --endpoints https://10.0.0.1:2379 --cacert /pki/ca.crt --cert /pki/c.crt --key /pki/c.key member list');
  });
});
