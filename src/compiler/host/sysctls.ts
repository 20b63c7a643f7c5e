/** The init container's sysctls (reference §2.2 A): written before ipamd starts, so pods never see a strict rp_filter. */
import type { Sysctl } from '../plan.ts';
import type { HostContext } from './context.ts';

function sysctl(path: string, value: string, because: string): Sysctl {
  return { kind: 'sysctl', path, value, because };
}

export function buildSysctls(ctx: HostContext): Sysctl[] {
  const { config, primary } = ctx;
  // Loose reverse-path filtering: replies for pods on secondary ENIs arrive on the primary interface (fwmark routing).
  const sysctls = [sysctl(`net/ipv4/conf/${primary.name}/rp_filter`, '2', 'fact:primary-interface')];
  // The reference writes 1 when not disabled: it actively re-enables early demux.
  sysctls.push(
    sysctl('net/ipv4/tcp_early_demux', config.DISABLE_TCP_EARLY_DEMUX ? '0' : '1', 'DISABLE_TCP_EARLY_DEMUX'),
  );
  if (config.ENABLE_IPv6) sysctls.push(sysctl('net/ipv6/conf/all/disable_ipv6', '0', 'ENABLE_IPv6'));
  if (config.ENABLE_IPv6 || config.ENABLE_V6_EGRESS) {
    const because = config.ENABLE_IPv6 ? 'ENABLE_IPv6' : 'ENABLE_V6_EGRESS';
    sysctls.push(sysctl('net/ipv6/conf/all/forwarding', '1', because));
    // Forwarding turns router advertisements off; 2 keeps the primary ENI's default route learnt from RAs.
    sysctls.push(sysctl(`net/ipv6/conf/${primary.name}/accept_ra`, '2', because));
  }
  return sysctls;
}
