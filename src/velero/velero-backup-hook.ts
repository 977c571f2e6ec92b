import { Duration } from 'cdk8s';
import { checkNames, goDuration } from './velero-common';
import { configError } from '../internal/errors';
import { checkLabels } from '../internal/names';

/**
 * A command Velero runs in a pod's container before or after backing it up.
 */
export interface VeleroHookCommand {
  /** The command (exec form, no shell unless you call one). */
  readonly command: string[];
  /**
   * Container to run it in.
   * @default - the pod's first container
   */
  readonly container?: string;
  /**
   * Let the backup go on if the command fails. The default fails the pod's backup, because a
   * backup taken without its consistency step may not restore.
   * @default false
   */
  readonly continueOnError?: boolean;
  /**
   * How long Velero waits for the command.
   * @default Duration.seconds(30) (Velero's default)
   */
  readonly timeout?: Duration;
}

/**
 * Props of a {@link VeleroBackupHook}.
 */
export interface VeleroBackupHookProps {
  /** Name of the hook (unique within a Schedule). */
  readonly name: string;
  /**
   * Namespaces whose pods the hook applies to.
   * @default - all namespaces the backup includes
   */
  readonly includedNamespaces?: string[];
  /**
   * Namespaces excluded.
   * @default - none
   */
  readonly excludedNamespaces?: string[];
  /**
   * Pod labels that select the pods (matchLabels).
   * @default - every pod in the included namespaces
   */
  readonly podLabels?: { [key: string]: string };
  /**
   * Commands run before the pod's volumes are backed up.
   * @default - none
   */
  readonly pre?: VeleroHookCommand[];
  /**
   * Commands run after the pod's volumes are backed up.
   * @default - none
   */
  readonly post?: VeleroHookCommand[];
}

/**
 * Options of the ready-made hooks.
 */
export interface VeleroAppHookOptions {
  /** Name of the hook. */
  readonly name: string;
  /** Namespace of the application's pods. */
  readonly namespace: string;
  /** Labels of the application's pods. */
  readonly podLabels: { [key: string]: string };
  /**
   * Container to run the commands in.
   * @default - the pod's first container
   */
  readonly container?: string;
}

/**
 * Options of {@link VeleroBackupHook.fsFreeze}.
 */
export interface VeleroFsFreezeOptions extends VeleroAppHookOptions {
  /** Mount path of the volume to freeze, inside the container. */
  readonly mountPath: string;
}

/**
 * Options of {@link VeleroBackupHook.postgresCheckpoint}.
 */
export interface VeleroPostgresCheckpointOptions extends VeleroAppHookOptions {
  /**
   * Database user.
   * @default 'postgres'
   */
  readonly user?: string;
}

/**
 * Options of {@link VeleroBackupHook.postgresDump}.
 */
export interface VeleroPostgresDumpOptions extends VeleroAppHookOptions {
  /** A path on a volume that Velero backs up, e.g. `/var/lib/postgresql/data/backup.dump`. */
  readonly dumpFile: string;
  /**
   * Database to dump.
   * @default 'postgres'
   */
  readonly database?: string;
  /**
   * Database user.
   * @default 'postgres'
   */
  readonly user?: string;
  /**
   * How long the dump may take.
   * @default Duration.minutes(10)
   */
  readonly timeout?: Duration;
}

/**
 * Database-native consistency for Velero backups: commands Velero execs in the application's
 * pods around the backup of their volumes.
 */
export class VeleroBackupHook {
  /**
   * Freeze a filesystem while its volume is snapshotted (needs a privileged container with
   * `fsfreeze`, e.g. a sidecar; the post hook always unfreezes).
   */
  public static fsFreeze(o: VeleroFsFreezeOptions): VeleroBackupHook {
    if (!o.mountPath || !o.mountPath.startsWith('/')) {
      throw configError(`VeleroBackupHook.fsFreeze({ mountPath }): expected an absolute path inside the container; got ${JSON.stringify(o.mountPath)}`);
    }
    // Velero's default is the pod's first container: usually the application, without fsfreeze
    // or the privilege to freeze (Velero's own example, examples/nginx-app/with-pv.yaml, runs it
    // in a privileged sidecar).
    if (!o.container) {
      throw configError(`VeleroBackupHook.fsFreeze({ container }): name the container that runs fsfreeze (a privileged sidecar mounting ${o.mountPath}, as in Velero's nginx example); the pod's first container usually has neither fsfreeze nor the privilege`);
    }
    return new VeleroBackupHook({
      name: o.name,
      includedNamespaces: [o.namespace],
      podLabels: o.podLabels,
      pre: [{ container: o.container, command: ['/sbin/fsfreeze', '--freeze', o.mountPath] }],
      // Unfreezing must happen even if something else failed.
      post: [{ container: o.container, command: ['/sbin/fsfreeze', '--unfreeze', o.mountPath], continueOnError: true }],
    });
  }

  /** PostgreSQL: a CHECKPOINT before the volume snapshot, so crash recovery after restore is short. */
  public static postgresCheckpoint(o: VeleroPostgresCheckpointOptions): VeleroBackupHook {
    return new VeleroBackupHook({
      name: o.name,
      includedNamespaces: [o.namespace],
      podLabels: o.podLabels,
      pre: [{ container: o.container, command: ['psql', '-U', o.user ?? 'postgres', '-c', 'CHECKPOINT'] }],
    });
  }

  /**
   * PostgreSQL: a logical dump (`pg_dump -Fc`) written onto a backed-up volume before the backup,
   * so the backup holds a consistent dump even if the volume snapshot is not crash-consistent.
   */
  public static postgresDump(o: VeleroPostgresDumpOptions): VeleroBackupHook {
    if (!o.dumpFile || !o.dumpFile.startsWith('/')) {
      throw configError(`VeleroBackupHook.postgresDump({ dumpFile }): expected an absolute path on a backed-up volume; got ${JSON.stringify(o.dumpFile)}`);
    }
    return new VeleroBackupHook({
      name: o.name,
      includedNamespaces: [o.namespace],
      podLabels: o.podLabels,
      pre: [{
        container: o.container,
        command: ['pg_dump', '-U', o.user ?? 'postgres', '-d', o.database ?? 'postgres', '-Fc', '-f', o.dumpFile],
        timeout: o.timeout ?? Duration.minutes(10),
      }],
    });
  }

  /** Name of the hook. */
  public readonly name: string;

  private readonly props: VeleroBackupHookProps;

  /**
   * The namespaces whose pods it runs in.
   * @default - all the backup includes
   */
  public get includedNamespaces(): string[] | undefined {
    return this.props.includedNamespaces ? [...this.props.includedNamespaces] : undefined;
  }

  constructor(props: VeleroBackupHookProps) {
    if (!props.name || !/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(props.name)) {
      throw configError(`VeleroBackupHook: name must be lowercase letters, digits, '-' and '.'; got ${JSON.stringify(props.name)}`);
    }
    if ((props.pre ?? []).length + (props.post ?? []).length === 0) {
      throw configError(`VeleroBackupHook ${props.name}: give at least one pre or post command`);
    }
    for (const c of [...(props.pre ?? []), ...(props.post ?? [])]) {
      if (!c.command || c.command.length === 0 || c.command.some((a) => typeof a !== 'string')) {
        throw configError(`VeleroBackupHook ${props.name}: every command needs at least the program to run`);
      }
    }
    checkNames(`VeleroBackupHook ${props.name}: includedNamespaces`, props.includedNamespaces);
    checkLabels(`VeleroBackupHook ${props.name}: podLabels`, props.podLabels);
    this.name = props.name;
    this.props = props;
  }

  /** The hook as Velero's `hooks.resources[]` entry. @internal */
  public _render(): any {
    const exec = (c: VeleroHookCommand, which: string) => ({
      exec: {
        container: c.container,
        command: [...c.command],
        onError: c.continueOnError ? 'Continue' : 'Fail',
        timeout: c.timeout ? goDuration(`VeleroBackupHook ${this.name}: ${which}.timeout`, c.timeout) : undefined,
      },
    });
    const p = this.props;
    return {
      name: p.name,
      includedNamespaces: p.includedNamespaces,
      excludedNamespaces: p.excludedNamespaces,
      labelSelector: p.podLabels ? { matchLabels: { ...p.podLabels } } : undefined,
      pre: p.pre?.map((c) => exec(c, 'pre')),
      post: p.post?.map((c) => exec(c, 'post')),
    };
  }
}
