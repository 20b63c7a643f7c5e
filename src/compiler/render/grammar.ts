/**
 * The values a renderer may put on a batch line, by their type's own grammar. Renderers REFUSE anything else with a
 * RenderError instead of escaping it: a value that is not an interface name, an address, a table number… is a bug or
 * a tampered input, and no quoting makes `ip -batch`, `iptables-restore` or `nft -f` safe from a newline or a `;`.
 * The saved-plan schema (src/apply/saved.ts) uses the same predicates, so a file is refused before anything runs.
 */
import { isIpv4, isIpv6 } from '../../lib/address.ts';

export class RenderError extends Error {
  override readonly name = 'RenderError';
  readonly field: string;
  constructor(field: string, value: unknown) {
    const shown = JSON.stringify(value)?.slice(0, 120) ?? String(value);
    super(`refusing to render ${field} ${shown}: not a valid value of its type`);
    this.field = field;
  }
}

export function ensure<T>(valid: (value: T) => boolean, field: string, value: T): T {
  if (!valid(value)) throw new RenderError(field, value);
  return value;
}

/** The kernel's dev_valid_name: 1..15 bytes, not `.`/`..`, no `/`, `:`, whitespace or NUL. */
export function isInterfaceName(name: string): boolean {
  return (
    typeof name === 'string' &&
    name.length >= 1 &&
    Buffer.byteLength(name) <= 15 &&
    name !== '.' &&
    name !== '..' &&
    // biome-ignore lint/suspicious/noControlCharactersInRegex: the kernel refuses control characters
    !/[/:\s\u0000-\u001f\u007f]/.test(name)
  );
}

export function isIpv4Address(text: string): boolean {
  return typeof text === 'string' && isIpv4(text);
}

/** An IPv6 address without a zone (`%eth0`), in any of its textual forms. */
export function isIpv6Address(text: string): boolean {
  return typeof text === 'string' && isIpv6(text);
}

export function isIpAddress(text: string): boolean {
  return isIpv4Address(text) || isIpv6Address(text);
}

/** `address/length` with a decimal length within the family's bits. */
export function isCidr(text: string): boolean {
  if (typeof text !== 'string') return false;
  const match = /^([^/]+)\/(0|[1-9]\d{0,2})$/.exec(text);
  if (match === null) return false;
  const length = Number(match[2]);
  if (isIpv4Address(match[1]!)) return length <= 32;
  return isIpv6Address(match[1]!) && length <= 128;
}

const isIntegerIn = (value: number, min: number, max: number) =>
  typeof value === 'number' && Number.isInteger(value) && value >= min && value <= max;

/** Route table ids are u32; 0 (unspec) is not a table. */
export const isRouteTable = (table: number) => isIntegerIn(table, 1, 0xffffffff);
/** ip rule priorities are u32. */
export const isRulePriority = (priority: number) => isIntegerIn(priority, 0, 0xffffffff);
export const isMark = (mark: number) => isIntegerIn(mark, 0, 0xffffffff);
export const isMtu = (mtu: number) => isIntegerIn(mtu, 68, 65535);
export const isNftPriority = (priority: number) => isIntegerIn(priority, -0x80000000, 0x7fffffff);

/** A protocol word or number for `ip rule ipproto` / `ip route proto`, as /etc/protocols and rt_protos spell them. */
export function isProtocolName(text: string): boolean {
  return typeof text === 'string' && /^[a-z0-9][a-z0-9_.-]{0,31}$/i.test(text);
}

/** A MAC address as `ip -json` prints it. */
export function isMac(text: string): boolean {
  return typeof text === 'string' && (text === '' || /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i.test(text));
}

/**
 * The sysctls the compiler emits (src/compiler/host/sysctls.ts), as patterns: any other key could name any file
 * under /proc/sys (or, with `..`, outside it).
 */
const SYSCTL_PATHS: readonly { readonly prefix: string; readonly suffix: string }[] = [
  { prefix: 'net/ipv4/conf/', suffix: '/rp_filter' },
  { prefix: 'net/ipv6/conf/', suffix: '/accept_ra' },
  { prefix: 'net/ipv4/tcp_early_demux', suffix: '' },
  { prefix: 'net/ipv6/conf/all/disable_ipv6', suffix: '' },
  { prefix: 'net/ipv6/conf/all/forwarding', suffix: '' },
];

export function isSysctlPath(path: string): boolean {
  if (typeof path !== 'string') return false;
  return SYSCTL_PATHS.some(({ prefix, suffix }) => {
    if (suffix === '') return path === prefix;
    if (!path.startsWith(prefix) || !path.endsWith(suffix)) return false;
    const dev = path.slice(prefix.length, path.length - suffix.length);
    return dev === 'all' || dev === 'default' || isInterfaceName(dev);
  });
}

export function isSysctlValue(value: string): boolean {
  return typeof value === 'string' && /^-?\d{1,10}$/.test(value);
}

/** iptables chain names: at most 28 characters (XT_EXTENSION_MAXNAMELEN - 1), no option-like or blank forms. */
export function isIptablesChain(name: string): boolean {
  return typeof name === 'string' && /^[A-Za-z0-9_][A-Za-z0-9_.+-]{0,27}$/.test(name);
}

/**
 * One token of an iptables rule: any text that stays on its line (comments may hold spaces, quotes and whatever
 * iptables-save prints raw, which the renderer quotes as iptables-save does), but never a line break or NUL: a
 * newline would start a new `iptables-restore` line.
 */
export function isIptablesToken(token: string): boolean {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: line breaks and NUL are what is refused
  return typeof token === 'string' && token.length <= 256 && !/[\n\r\u0000]/.test(token);
}

/** nft table and chain identifiers. */
export function isNftIdentifier(name: string): boolean {
  return typeof name === 'string' && /^[A-Za-z_][A-Za-z0-9_-]{0,63}$/.test(name);
}

export const NFT_HOOKS: readonly string[] = ['prerouting', 'input', 'forward', 'output', 'postrouting'];

/**
 * One nft rule statement: printable text with balanced double quotes and none of the characters that end a rule,
 * a chain or a table in `nft -f` input (newline, `;`, braces) or start a comment (`#`), inside quotes or not.
 */
export function isNftRule(rule: string): boolean {
  if (typeof rule !== 'string' || rule.length === 0 || rule.length > 1024) return false;
  if (!/^[A-Za-z0-9 _.:/*&|!=<>,"+@$[\]()~^-]+$/.test(rule)) return false;
  return (rule.match(/"/g)?.length ?? 0) % 2 === 0;
}
