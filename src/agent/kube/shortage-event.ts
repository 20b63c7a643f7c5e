/** The Warning Event a pod gets when the IPAM could not give it an address. Pure. */
import { shortageSentence } from '../../cni/agent.ts';
import { formatReason, type ShortageReason } from '../../lib/shortage.ts';
import type { EventObject, EventSpec } from './correlate.ts';

/**
 * Reason `FailedIPAM` + the code in the API's CamelCase (`FailedIPAMEniLimit`), so `kubectl get events
 * --field-selector reason=…` finds one kind of failure; the message carries the numbers, then what to do (the words
 * the plugin's CNI error uses).
 */
export function shortageEvent(pod: EventObject, reason: ShortageReason): EventSpec {
  const pascal = reason.code
    .toLowerCase()
    .split('_')
    .map((word) => word.charAt(0).toUpperCase() + word.slice(1))
    .join('');
  return {
    object: pod,
    type: 'Warning',
    reason: `FailedIPAM${pascal}`,
    message: `${formatReason(reason)}: ${shortageSentence(reason)}`,
  };
}
