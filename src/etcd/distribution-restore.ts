import * as path from 'path';
import {
  EtcdRestoreTool, initialCluster, moveAsideLines, RestoreNode, RestoreScenario, RunbookBlock, waitPortClosedLines,
} from './restore-procedure';
import { shellComment, shellQuote, shellWords } from '../internal/shell';

/**
 * What a distribution's restore steps are built from: the nodes, the snapshot file already on
 * each node (the runbook's fetch step puts it there), the restore tool of the cluster's etcd
 * version, and the client certificates on the nodes.
 * @internal
 */
export interface RestoreContext {
  readonly clusterName: string;
  readonly nodes: RestoreNode[];
  /** Where the fetch step copies the snapshot on every node. */
  readonly snapshotOnNode: string;
  /** Where the fetch step copies the etcd version that took the snapshot (one line, `3.6.11`). */
  readonly versionOnNode: string;
  readonly tool: EtcdRestoreTool;
  /** Client certificates on the nodes (host paths), for the health checks. */
  readonly certs: { readonly ca: string; readonly cert: string; readonly key: string };
  /** Where the node's etcd keeps its data. */
  readonly dataDir: string;
}

/**
 * A distribution's restore procedures, one per situation. Every distribution must supply both:
 * a new one that forgets one does not compile.
 * @internal
 */
export interface DistributionRestore {
  /** Quorum lost, or the whole cluster lost and rebuilt: every member from the same snapshot. */
  quorumLost(ctx: RestoreContext): RestoreScenario;
  /** One control-plane node lost while the others keep quorum: replace its member, no snapshot. */
  memberLost(ctx: RestoreContext): RestoreScenario;
}

const QUORUM_WHEN = 'most etcd members are down or lost their data, or the whole cluster is being rebuilt: every member is restored from the same snapshot';
const MEMBER_WHEN = 'one control-plane node is gone and the others still answer (`etcdctl endpoint health` passes on a majority): no snapshot is restored';

function every(nodes: RestoreNode[]): string[] {
  return nodes.map((n) => n.name);
}

function endpoints(nodes: RestoreNode[]): string {
  return nodes.map((n) => `https://${n.address}:2379`).join(',');
}

/** Polls `endpoint health` of every member for up to five minutes, then shows the members. */
function healthLines(ctx: RestoreContext): string[] {
  const health = ctx.tool.etcdctl(endpoints(ctx.nodes), ctx.certs, 'endpoint', 'health');
  return [
    `for attempt in $(seq 60); do ${health} && break; sleep 5; done`,
    health,
    ctx.tool.etcdctl(endpoints(ctx.nodes), ctx.certs, 'member', 'list', '-w', 'table'),
  ];
}

/**
 * `LOST` (the placeholder the operator replaces) and `address`, looked up from the members the
 * library knows, so a typo in the name stops the block instead of adding a wrong member.
 */
function lostMemberLines(ctx: RestoreContext, placeholder: string): string[] {
  // The address is for adding the member back (external etcd); kubeadm's join adds it itself.
  const known = ctx.nodes.map((n) => `${shellQuote(n.name)}) address=${shellQuote(n.address)} ;;`).join(' ');
  return [
    `LOST=${shellQuote(placeholder)}   ${shellComment(`one of ${ctx.nodes.map((n) => n.name).join(', ')}`).trim()}`,
    `case "\${LOST}" in ${known} *) echo "\${LOST} is not one of the members" >&2; exit 1 ;; esac`,
  ];
}

/**
 * Remove the member named `LOST` (when it is listed) and add it back at `address`, each retried
 * for a minute: with --strict-reconfig-check (etcd's default) a member change is refused with
 * "unhealthy cluster" until the leader has been connected to a quorum for 5 s (etcd
 * server/etcdserver/server.go, mayRemoveMember/mayAddMember, HealthInterval), which a moment
 * after a member went down is not the case. An add that went through before a retry leaves the
 * peer URL listed: "Peer URLs already exists" means done. A member already gone counts as removed.
 */
function reconfigureLines(ctx: RestoreContext, addBack: boolean): string[] {
  const etcdctl = (...args: string[]) => ctx.tool.etcdctl(endpoints(ctx.nodes), ctx.certs, ...args);
  // One line per command (an operator pastes lines); `last` is the attempt that gives up.
  const retry = (attempt: string, failed: string) =>
    `for attempt in $(seq 11) last; do if ${attempt}; then break; fi; if test "\${attempt}" = last; then echo "\${LOST} ${failed}: check etcdctl endpoint health" >&2; exit 1; fi; sleep 5; done`;
  return [
    `member_id() { ${etcdctl('member', 'list')} | awk -F', ' -v name="\${LOST}" '$3 == name {print $1}'; }`,
    `remove_member() { id=$(member_id); test -z "\${id}" || ${etcdctl('member', 'remove')} "\${id}"; }`,
    retry('remove_member', 'could not be removed'),
    ...(addBack ? [
      `add_member() { if out=$(${etcdctl('member', 'add')} "\${LOST}" --peer-urls "https://\${address}:2380" 2>&1); then echo "\${out}"; else echo "\${out}" >&2; case "\${out}" in *"Peer URLs already exists"*) ;; *) return 1 ;; esac; fi; }`,
      retry('add_member', 'could not be added'),
    ] : []),
  ];
}

/**
 * kubeadm: etcd and the API server are static pods; moving their manifests out of
 * /etc/kubernetes/manifests stops them (the kubelet looks every 20 s, fileCheckFrequency) and
 * moving them back starts them. The order is upstream's (kubernetes.io, "Operating etcd clusters
 * for Kubernetes", restoring): stop every API server, restore every member from the same
 * snapshot, then start them. The member name is the node name (kubeadm's etcd.yaml `--name`).
 * @internal
 */
export function kubeadmRestore(): DistributionRestore {
  const manifests = '/etc/kubernetes/manifests';
  const stopped = '/etc/kubernetes/manifests-stopped';
  const controlPlane = ['kube-apiserver.yaml', 'kube-controller-manager.yaml', 'kube-scheduler.yaml'];
  const moveLines = (files: string[], from: string, to: string) => [
    shellWords('sudo', 'mkdir', '-p', to),
    ...files.map((f) => `if sudo test -e ${shellQuote(`${from}/${f}`)}; then ${shellWords('sudo', 'mv', `${from}/${f}`, `${to}/`)}; fi`),
  ];
  return {
    quorumLost: (ctx) => {
      const token = `${ctx.clusterName}-restored`;
      const cluster = initialCluster(ctx.nodes);
      const blocks: RunbookBlock[] = [
        ...ctx.nodes.map((n): RunbookBlock => ({
          on: [n.name],
          title: 'stop the API server, controller manager, scheduler and etcd',
          note: 'Every node before any restore: a member left running keeps serving the old cluster.',
          lines: [...moveLines([...controlPlane, 'etcd.yaml'], manifests, stopped), ...waitPortClosedLines(n.address, 2379, 'etcd')],
        })),
        { on: every(ctx.nodes), title: `the etcd tools (${ctx.tool.binary}, etcdctl) of the snapshot's etcd version, unless the node has them`, lines: ctx.tool.installLines(ctx.versionOnNode) },
        ...ctx.nodes.map((n): RunbookBlock => ({
          on: [n.name],
          title: `restore member ${n.name} from the snapshot`,
          lines: [
            ...moveAsideLines(ctx.dataDir),
            ...ctx.tool.restoreLines({ snapshot: ctx.snapshotOnNode, dataDir: ctx.dataDir, name: n.name, initialCluster: cluster, token, peerUrl: `https://${n.address}:2380` }),
          ],
        })),
        {
          on: every(ctx.nodes),
          title: 'start etcd',
          note: 'The kubelet starts it (on a rebuilt node the kubelet was kept stopped until now; the API server\'s manifest is still out).',
          lines: [...moveLines(['etcd.yaml'], stopped, manifests), shellWords('sudo', 'systemctl', 'start', 'kubelet')],
        },
        { on: [ctx.nodes[0].name], title: 'wait until every member is healthy', lines: healthLines(ctx) },
        {
          on: every(ctx.nodes),
          title: 'start the API server, controller manager and scheduler, and restart the kubelet',
          note: 'Upstream restarts them all after a restore, so none keeps state from before it.',
          lines: [...moveLines(controlPlane, stopped, manifests), shellWords('sudo', 'systemctl', 'restart', 'kubelet')],
        },
      ];
      return {
        title: 'Quorum lost, or the whole cluster lost',
        when: QUORUM_WHEN,
        intro: 'On rebuilt nodes, restore each node\'s control-plane config first (its section below) and keep the kubelet stopped until the last step.',
        blocks,
      };
    },
    memberLost: (ctx) => {
      const list = ctx.tool.etcdctl(endpoints(ctx.nodes), ctx.certs, 'member', 'list');
      return {
        title: 'One control-plane node lost',
        when: MEMBER_WHEN,
        intro: 'Set `LOST` to the lost node\'s name in each block. The remaining members keep quorum: remove the lost member, then let kubeadm join the rebuilt node (kubernetes.io, "Replacing a failed etcd member"; kubeadm adds it as a learner and promotes it).',
        blocks: [
          {
            on: every(ctx.nodes),
            once: true,
            title: 'remove the lost member (on a healthy node; it gets etcdctl if it has none)',
            lines: [
              ...ctx.tool.clientInstallLines(),
              ...lostMemberLines(ctx, '<lost-node>'),
              ...reconfigureLines(ctx, false),
              list,
            ],
          },
          {
            on: every(ctx.nodes),
            once: true,
            title: 'upload the certificates and print the control-plane join command (on a healthy node)',
            note: "Run `kubectl delete node '<lost-node>'` from your workstation first. The uploaded certificates expire after two hours.",
            lines: [
              `key=$(${shellWords('sudo', 'kubeadm', 'init', 'phase', 'upload-certs', '--upload-certs')} | tail -n 1)`,
              `${shellWords('sudo', 'kubeadm', 'token', 'create', '--print-join-command', '--certificate-key')} "\${key}"`,
            ],
          },
          {
            on: ['<lost-node>'],
            title: 'join the rebuilt node, reinstalled with the same Kubernetes version',
            note: 'kubeadm\'s preflight refuses a node that has a kubelet.conf, static-pod manifests or /var/lib/etcd (a restored config backup brings them): reset it, then run the printed join command.',
            lines: [shellWords('sudo', 'kubeadm', 'reset', '-f'), shellComment('then: the join command printed in the step before')],
          },
        ],
      };
    },
  };
}

/**
 * k3s and RKE2 restore their embedded etcd themselves: `<bin> server --cluster-reset
 * --cluster-reset-restore-path=<file>` on one server, then every other server deletes
 * `server/db` and rejoins (docs.k3s.io "etcd-snapshot", RKE2 "datastore/backup_restore"). The
 * server token decrypts the bootstrap data (CA keys) stored in etcd, so the reset is given the
 * token the config backup kept (`server/token`).
 * @internal
 */
export function rancherRestore(bin: string, service: string, joinPort: number): DistributionRestore {
  const server = `/var/lib/rancher/${bin}/server`;
  const tokenFile = `${server}/token`;
  return {
    quorumLost: (ctx) => {
      const [first, ...others] = ctx.nodes;
      return {
        title: 'Quorum lost, or the whole cluster lost',
        when: QUORUM_WHEN,
        intro: `On rebuilt servers, install the same ${bin} version without starting it, and restore each server's config first (its section below): it brings back \`${tokenFile}\`, `
          + `the original server token, without which the reset cannot decrypt the cluster's bootstrap data. ${bin} restores only onto its own etcd minor or a newer one: `
          + 'its release must embed etcd of the snapshot\'s `etcd-version` minor or newer (the cluster\'s own release is). `--etcd-s3=false` makes it restore the local file even where '
          + `${bin}'s own S3 snapshots are configured (docs.k3s.io "etcd-snapshot"; RKE2 "datastore/backup_restore").`,
        blocks: [
          { on: every(ctx.nodes), title: `stop ${bin} on every server`, lines: [shellWords('sudo', 'systemctl', 'stop', service)] },
          {
            on: [first.name],
            title: `reset the cluster to the snapshot on ${first.name}, then start it`,
            note: `${bin} restores the snapshot into a new one-member cluster and moves the old data dir aside; it prints "restart without --cluster-reset flag now".`,
            lines: [
              `sudo ${bin} server --cluster-reset ${shellWords(`--cluster-reset-restore-path=${ctx.snapshotOnNode}`)} --etcd-s3=false --token="$(sudo cat ${shellQuote(tokenFile)})"`,
              shellWords('sudo', 'systemctl', 'start', service),
            ],
          },
          ...(others.length > 0 ? [{
            on: every(others),
            title: 'on every other server: delete its etcd data and rejoin',
            lines: [...moveAsideLines(`${server}/db`), shellWords('sudo', 'systemctl', 'start', service)],
          }] : []),
        ],
      };
    },
    memberLost: () => ({
      title: 'One server lost',
      when: MEMBER_WHEN,
      intro: `Delete the lost server's Node (\`kubectl delete node '<lost-node>'\`): ${bin}'s member controller removes the etcd member of a deleted node (k3s pkg/etcd/member_controller.go). `
        + `Then install ${bin} on the rebuilt server with the cluster's token and \`--server https://<healthy-server>:${joinPort}\`; it must have no \`${server}/db\` (with one, --server is ignored).`,
      blocks: [
        { on: ['<lost-node>'], title: 'on the rebuilt server, before it starts', lines: [...moveAsideLines(`${server}/db`), shellWords('sudo', 'systemctl', 'start', service)] },
      ],
    }),
  };
}

/**
 * An etcd cluster of its own, under systemd (the unit runs as `etcd`, upstream's and Debian's):
 * etcd.io "Disaster recovery": every member from the same snapshot with its own name and peer
 * URL, owned by the unit's user, started together.
 * @internal
 */
export function externalRestore(unit: string, user: string): DistributionRestore {
  return {
    quorumLost: (ctx) => {
      const cluster = initialCluster(ctx.nodes);
      return {
        title: 'Quorum lost, or the whole etcd cluster lost',
        when: QUORUM_WHEN,
        intro: 'Stop every kube-apiserver that uses this etcd first, and start them again after the last step.',
        blocks: [
          { on: every(ctx.nodes), title: 'stop etcd on every member', lines: [shellWords('sudo', 'systemctl', 'stop', unit)] },
          { on: every(ctx.nodes), title: 'the etcd tools of the snapshot\'s etcd version, unless the host has them', lines: ctx.tool.installLines(ctx.versionOnNode) },
          ...ctx.nodes.map((n): RunbookBlock => ({
            on: [n.name],
            title: `restore member ${n.name}`,
            lines: [
              ...moveAsideLines(ctx.dataDir),
              ...ctx.tool.restoreLines({
                snapshot: ctx.snapshotOnNode, dataDir: ctx.dataDir, name: n.name, initialCluster: cluster, token: `${ctx.clusterName}-restored`, peerUrl: `https://${n.address}:2380`,
              }),
              shellWords('sudo', 'chown', '-R', `${user}:${user}`, ctx.dataDir),
            ],
          })),
          // Type=notify: a plain start blocks until the member has quorum, which needs the others.
          { on: every(ctx.nodes), title: 'start etcd on every member', lines: [shellWords('sudo', 'systemctl', 'start', '--no-block', unit)] },
        ],
      };
    },
    memberLost: (ctx) => {
      const lost = lostMemberLines(ctx, '<lost-member>');
      const env = '/etc/etcd-rejoin.env';
      const dropIn = `/etc/systemd/system/${unit}.service.d/90-rejoin.conf`;
      return {
        title: 'One member lost',
        when: 'one etcd member is gone and the others still answer (`etcdctl endpoint health` passes on a majority): no snapshot is restored',
        intro: 'etcd.io "Runtime reconfiguration": remove the lost member, add it back, and start it empty with `--initial-cluster-state=existing`. '
          + `The rebuilt host has etcd ${ctx.tool.version} installed with its unit, its server and peer certificates in place, and etcd not started. Set \`LOST\` in each block; \`<etcd-ca.crt>\`, \`<etcd-client.crt>\` and \`<etcd-client.key>\` are the etcd CA and a client certificate and key on the member hosts (the backup's TLS Secret holds a copy).`,
        blocks: [
          {
            on: every(ctx.nodes),
            once: true,
            title: 'remove the lost member and add it back (on a healthy member; it gets etcdctl if it has none)',
            lines: [
              ...ctx.tool.clientInstallLines(),
              ...lost,
              ...reconfigureLines(ctx, true),
            ],
          },
          {
            on: ['<lost-member>'],
            title: 'start the new member empty, joining the existing cluster',
            note: 'A systemd drop-in gives this first start `ETCD_INITIAL_CLUSTER_STATE=existing` and the members (etcd reads its `ETCD_*` environment, as Debian\'s, kubespray\'s and etcd\'s own units configure it); once the member has joined, etcd ignores them and the drop-in is removed. A unit that passes `--initial-cluster*` flags overrides the environment: the step stops and says so.',
            lines: [
              ...lost,
              // A case on the unit's text, not a grep: no pipe to fail under pipefail.
              `case "$(${shellWords('sudo', 'systemctl', 'cat', unit)})" in *--initial-cluster*) echo ${shellQuote(`the ${unit} unit passes --initial-cluster flags, which override the environment: for this start set --initial-cluster-state=existing and --initial-cluster=${initialCluster(ctx.nodes)} there`)} >&2; exit 1 ;; esac`,
              shellWords('sudo', 'systemctl', 'stop', unit),
              ...moveAsideLines(ctx.dataDir),
              shellWords('sudo', 'install', '-d', '-m', '0700', '-o', user, '-g', user, ctx.dataDir),
              `cluster=${shellQuote(initialCluster(ctx.nodes))}`,
              // Here-strings, not heredocs or pipes: one line each.
              `sudo tee ${shellQuote(env)} >/dev/null <<< "$(printf '%s\\n' "ETCD_NAME=\${LOST}" "ETCD_INITIAL_CLUSTER=\${cluster}" "ETCD_INITIAL_ADVERTISE_PEER_URLS=https://\${address}:2380" ETCD_INITIAL_CLUSTER_STATE=existing)"`,
              shellWords('sudo', 'mkdir', '-p', path.posix.dirname(dropIn)),
              `sudo tee ${shellQuote(dropIn)} >/dev/null <<< "$(printf '%s\\n' '[Service]' ${shellQuote(`EnvironmentFile=${env}`)})"`,
              shellWords('sudo', 'systemctl', 'daemon-reload'),
              // Type=notify: a plain start would block until the member has caught up.
              shellWords('sudo', 'systemctl', 'start', '--no-block', unit),
              ...healthLines(ctx),
              shellWords('sudo', 'rm', '-f', dropIn, env),
              shellWords('sudo', 'systemctl', 'daemon-reload'),
            ],
          },
        ],
      };
    },
  };
}
