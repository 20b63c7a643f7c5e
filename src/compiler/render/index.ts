/**
 * Renderers of a HostPlan (pure). For people: `renderPlanText`, `renderPlanJson`, `describe` (one line per object).
 * For the applier's writes, one payload per backend: `renderIpBatches` (`ip [-6] -batch -`), `renderIptablesRestore`
 * with `iptablesRuleLine` (`iptables-restore --noflush`), `renderNftReplace`/`renderNftDelete` (`nft -f -`); and for its
 * reads, `renderNftTable` equals `nft -s list table` output and `iptablesRuleLine(rule, 'append')` equals the rule's
 * `iptables-save` line.
 */
export { describe, ruleSelector, tableName } from './describe.ts';
export {
  ensure,
  isCidr,
  isInterfaceName,
  isIpAddress,
  isIptablesChain,
  isIptablesToken,
  isMac,
  isMark,
  isMtu,
  isNftIdentifier,
  isNftPriority,
  isNftRule,
  isProtocolName,
  isRouteTable,
  isRulePriority,
  isSysctlPath,
  isSysctlValue,
  NFT_HOOKS,
  RenderError,
} from './grammar.ts';
export {
  type IpBatches,
  type IpObject,
  type IpOp,
  ipBatchLine,
  renderIpBatches,
  routeProtocolSuffix,
} from './ip-batch.ts';
export {
  type IptablesOp,
  type IptablesRestoreInput,
  iptablesRuleLine,
  joinIptablesArgs,
  renderIptablesRestore,
} from './iptables.ts';
export { renderPlanJson } from './json.ts';
export { nftPriority, renderNftDelete, renderNftReplace, renderNftTable } from './nft.ts';
export { renderPlanText } from './text.ts';
