/** ENI links: MTU on the primary and every managed secondary ENI; secondaries are brought up by ipamd. */
import type { Link } from '../plan.ts';
import type { HostContext, NamedEni } from './context.ts';

function link(eni: NamedEni, mtu: number, because: string): Link {
  return { kind: 'link', name: eni.name, mac: eni.mac, mtu, up: true, because };
}

export function buildLinks(ctx: HostContext): Link[] {
  const mtu = ctx.config.AWS_VPC_ENI_MTU;
  return [
    link(ctx.primary, mtu, 'AWS_VPC_ENI_MTU'),
    ...ctx.secondaries.map((eni) => link(eni, mtu, 'AWS_VPC_ENI_MTU')),
  ];
}
