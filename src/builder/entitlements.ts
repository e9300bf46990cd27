/**
 * What a build may do beyond the sandbox, as in BuildKit: a RUN on the host's network needs the
 * `network.host` entitlement and `RUN --security=insecure` needs `security.insecure`, which the
 * caller grants (`--allow`; the CLI's own `--network=host` grants `network.host`). Checked for the
 * whole plan before any step runs; the error names the Dockerfile line and the flag.
 */
import { InvalidArgumentError, PermissionDeniedError } from '../errors.js';
import type { NetworkMode } from '../network/network.js';
import type { BuildPlan, ExecStep } from '../plan/types.js';

export const ENTITLEMENTS = ['network.host', 'security.insecure'] as const;
export type Entitlement = (typeof ENTITLEMENTS)[number];

/** Checks an entitlement name as given (`--allow`). */
export function parseEntitlement(name: string): Entitlement {
  if (!(ENTITLEMENTS as readonly string[]).includes(name))
    throw new InvalidArgumentError(`unknown entitlement ${name}`, { hint: `use ${ENTITLEMENTS.join(' or ')}` });
  return name as Entitlement;
}

/** The network a RUN gets: its own `--network`, else the build's default (`--network`), else `default`. */
export function effectiveNetwork(step: Pick<ExecStep, 'network'>, buildDefault: NetworkMode | undefined): NetworkMode {
  return step.network === 'default' ? (buildDefault ?? 'default') : step.network;
}

/** Refuses a plan whose RUN steps need an entitlement that was not granted. */
export function checkEntitlements(plan: BuildPlan, file: string, network: NetworkMode | undefined, allowed: readonly Entitlement[]): void {
  const granted = new Set<Entitlement>(allowed);
  if (network === 'host') granted.add('network.host');
  for (const stage of plan.stages) {
    for (const step of stage.steps) {
      if (step.kind !== 'exec') continue;
      const needs: Entitlement[] = [
        ...(effectiveNetwork(step, network) === 'host' ? (['network.host'] as const) : []),
        ...(step.security === 'insecure' ? (['security.insecure'] as const) : []),
      ];
      const missing = needs.find((e) => !granted.has(e));
      if (missing) throw new PermissionDeniedError(`${file}:${step.line}: ${missing} is not allowed`, { hint: `grant it with --allow ${missing}` });
    }
  }
}
