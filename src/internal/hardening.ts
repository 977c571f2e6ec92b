import * as kplus from 'cdk8s-plus-28';

/**
 * The container security context every backup container gets: read-only root, no privilege
 * escalation, no capabilities beyond `add`, RuntimeDefault seccomp, an explicit user.
 *
 * cdk8s-plus-28 defaults to `runAsNonRoot: true` without a user, which a root image then fails
 * to start with; so the user is always explicit here.
 * @internal
 */
export function hardenedContainer(user: number, group: number, add: kplus.Capability[] = []): kplus.ContainerSecurityContextProps {
  return {
    ensureNonRoot: user !== 0,
    user,
    group,
    readOnlyRootFilesystem: true,
    allowPrivilegeEscalation: false,
    privileged: false,
    capabilities: { drop: [kplus.Capability.ALL], add: add.length > 0 ? add : undefined },
    seccompProfile: { type: kplus.SeccompProfileType.RUNTIME_DEFAULT },
  };
}
