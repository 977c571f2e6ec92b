import * as kplus from 'cdk8s-plus-28';
import { hardenedContainer } from '../../../src/internal/hardening';

describe('hardenedContainer', () => {
  test('a non-root user: read-only root, no escalation, every capability dropped, RuntimeDefault', () => {
    expect(hardenedContainer(65532, 65532)).toEqual({
      ensureNonRoot: true,
      user: 65532,
      group: 65532,
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
      privileged: false,
      capabilities: { drop: [kplus.Capability.ALL], add: undefined },
      seccompProfile: { type: kplus.SeccompProfileType.RUNTIME_DEFAULT },
    });
  });

  test('root only with an explicit user 0, and only the capabilities it adds', () => {
    const root = hardenedContainer(0, 0, [kplus.Capability.DAC_READ_SEARCH]);
    expect(root.ensureNonRoot).toBe(false);
    expect(root.user).toBe(0);
    expect(root.capabilities).toEqual({ drop: [kplus.Capability.ALL], add: [kplus.Capability.DAC_READ_SEARCH] });
  });
});
