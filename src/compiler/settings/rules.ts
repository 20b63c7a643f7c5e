import type { ConfigIssue } from './issues.ts';
import type { Source } from './sources.ts';
import type { Config } from './types.ts';

type Sources = Readonly<Record<string, Source>>;

/** Set by the operator rather than left at its default. */
function explicit(sources: Sources, key: keyof Config): boolean {
  const kind = sources[key]?.kind;
  return kind !== undefined && kind !== 'default' && kind !== 'derived';
}

function issue(
  config: Config,
  sources: Sources,
  key: keyof Config,
  severity: ConfigIssue['severity'],
  code: ConfigIssue['code'],
  reason: string,
): ConfigIssue {
  const value = config[key];
  return { severity, code, key, value: String(value), source: sources[key], reason } as ConfigIssue;
}

/**
 * Rules that span several settings. Errors are the combinations the reference refuses (ipamd or the entrypoint
 * exits); warnings are the combinations it silently ignores or overrides, said out loud here.
 */
export function crossFieldIssues(config: Config, sources: Sources): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const add = (key: keyof Config, severity: ConfigIssue['severity'], code: ConfigIssue['code'], reason: string) =>
    issues.push(issue(config, sources, key, severity, code, reason));

  if (config.ENABLE_IPv4 === config.ENABLE_IPv6) {
    add(
      'ENABLE_IPv6',
      'error',
      'conflict',
      `exactly one of ENABLE_IPv4 and ENABLE_IPv6 must be true (ENABLE_IPv4=${config.ENABLE_IPv4}); dual-stack pods are not supported`,
    );
  }
  if (config.ENABLE_IPv6) {
    if (!config.ENABLE_PREFIX_DELEGATION)
      add(
        'ENABLE_IPv6',
        'error',
        'conflict',
        'IPv6 mode needs ENABLE_PREFIX_DELEGATION=true (pods get addresses from a /80 prefix)',
      );
    if (config.AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG)
      add(
        'AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG',
        'error',
        'conflict',
        'custom networking is not supported in IPv6 mode (ENABLE_IPv6=true)',
      );
    for (const key of ['AWS_VPC_ENI_MTU', 'POD_MTU'] as const) {
      if (config[key] < 1280)
        issues.push({
          ...issue(
            config,
            sources,
            key,
            'error',
            'invalid_value',
            'below the IPv6 minimum MTU in IPv6 mode (ENABLE_IPv6=true)',
          ),
          allowed: 'an integer in 1280–9001',
        });
    }
  }
  const targets = [config.WARM_PREFIX_TARGET, config.WARM_IP_TARGET, config.MINIMUM_IP_TARGET];
  if (config.ENABLE_PREFIX_DELEGATION && targets.every((t) => t === 0)) {
    add(
      'ENABLE_PREFIX_DELEGATION',
      'error',
      'conflict',
      'prefix delegation needs at least one of WARM_PREFIX_TARGET, WARM_IP_TARGET, MINIMUM_IP_TARGET above 0 (all are 0)',
    );
  }

  const ipTargets = config.WARM_IP_TARGET > 0 || config.MINIMUM_IP_TARGET > 0;
  if (explicit(sources, 'WARM_ENI_TARGET') && ipTargets) {
    add(
      'WARM_ENI_TARGET',
      'warning',
      'ignored',
      `ignored because WARM_IP_TARGET=${config.WARM_IP_TARGET} / MINIMUM_IP_TARGET=${config.MINIMUM_IP_TARGET} take precedence`,
    );
  } else if (explicit(sources, 'WARM_ENI_TARGET') && config.ENABLE_PREFIX_DELEGATION) {
    add(
      'WARM_ENI_TARGET',
      'warning',
      'ignored',
      'ignored with ENABLE_PREFIX_DELEGATION=true; WARM_PREFIX_TARGET sizes the pool',
    );
  }
  if (config.MINIMUM_IP_TARGET > 0 && config.WARM_IP_TARGET === 0) {
    add(
      'MINIMUM_IP_TARGET',
      'warning',
      'ignored',
      'set without WARM_IP_TARGET: no free addresses are kept beyond the minimum, so once it is used up every new pod waits for an EC2 call',
    );
  }
  // The stock aws-node DaemonSet sets WARM_PREFIX_TARGET=1 with prefix delegation off: not worth a warning.
  if (explicit(sources, 'WARM_PREFIX_TARGET') && !config.ENABLE_PREFIX_DELEGATION && config.WARM_PREFIX_TARGET !== 1) {
    add('WARM_PREFIX_TARGET', 'warning', 'ignored', 'ignored without ENABLE_PREFIX_DELEGATION=true');
  }
  if (config.AWS_VPC_K8S_CNI_EXTERNALSNAT && config.AWS_VPC_K8S_CNI_EXCLUDE_SNAT_CIDRS.length > 0) {
    add(
      'AWS_VPC_K8S_CNI_EXCLUDE_SNAT_CIDRS',
      'warning',
      'ignored',
      'has no effect with AWS_VPC_K8S_CNI_EXTERNALSNAT=true (the node does no SNAT to exclude from)',
    );
  }
  if (
    config.ENABLE_IMDS_ONLY_MODE &&
    explicit(sources, 'DISABLE_NETWORK_RESOURCE_PROVISIONING') &&
    !config.DISABLE_NETWORK_RESOURCE_PROVISIONING
  ) {
    add(
      'DISABLE_NETWORK_RESOURCE_PROVISIONING',
      'warning',
      'ignored',
      'overridden: ENABLE_IMDS_ONLY_MODE=true always disables network resource provisioning',
    );
  }
  if (explicit(sources, 'POD_SECURITY_GROUP_ENFORCING_MODE') && !config.ENABLE_POD_ENI) {
    add('POD_SECURITY_GROUP_ENFORCING_MODE', 'warning', 'ignored', 'has no effect without ENABLE_POD_ENI=true');
  }
  return issues;
}
