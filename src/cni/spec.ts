/**
 * What the CNI specification (1.0.0, 1.1.0; 0.3.x and 0.4.0 configurations accepted) fixes for every plugin: the
 * versions, the commands each version knows, and the error object with its well-known codes. Codes 1–99 are the
 * spec's; ours start at 100, as the spec reserves that range for plugins.
 */

export const SUPPORTED_VERSIONS = ['0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0'] as const;
export type CniVersion = (typeof SUPPORTED_VERSIONS)[number];
/** What VERSION answers with, and the version of an error when the configuration's own is unknown. */
export const LATEST_VERSION: CniVersion = '1.1.0';

export const COMMANDS = ['ADD', 'DEL', 'CHECK', 'VERSION', 'STATUS', 'GC'] as const;
export type Command = (typeof COMMANDS)[number];

export const ErrorCode = {
  incompatibleVersion: 1,
  unsupportedField: 2,
  unknownContainer: 3,
  invalidEnvironment: 4,
  ioFailure: 5,
  decodingFailure: 6,
  invalidNetworkConfig: 7,
  tryAgainLater: 11,
  /** STATUS: the plugin cannot serve ADD now. */
  pluginNotAvailable: 50,
  // Plugin-specific (100+).
  /** The agent answered that no address can be had; `details` carries the IPAM reason. */
  noAddress: 100,
  /** The agent answered with an error other than a shortage, or spoke another protocol version. */
  agentFailure: 101,
  /** A kernel write failed; what the plugin had done was undone. */
  wiringFailed: 102,
  /** CHECK found the wiring or the agent's record different from the result. */
  checkFailed: 103,
} as const;

/** A failure reported to the runtime as the spec's error object on stdout, exit status 1. */
export class CniError extends Error {
  readonly code: number;
  readonly details: string | undefined;
  constructor(code: number, msg: string, details?: string) {
    super(msg);
    this.name = 'CniError';
    this.code = code;
    this.details = details;
  }
}

/** The minimum version of the configuration each command needs (CHECK came with 0.4.0, STATUS and GC with 1.1.0). */
const SINCE: Record<Command, CniVersion> = {
  ADD: '0.3.0',
  DEL: '0.3.0',
  VERSION: '0.3.0',
  CHECK: '0.4.0',
  STATUS: '1.1.0',
  GC: '1.1.0',
};

function order(v: CniVersion): number {
  return SUPPORTED_VERSIONS.indexOf(v);
}

export function isSupportedVersion(v: string): v is CniVersion {
  return (SUPPORTED_VERSIONS as readonly string[]).includes(v);
}

export function isCommand(v: string): v is Command {
  return (COMMANDS as readonly string[]).includes(v);
}

/** Refuses a configuration version this plugin does not speak, or one older than the command. */
export function requireVersion(command: Command, version: string): CniVersion {
  if (!isSupportedVersion(version)) {
    throw new CniError(
      ErrorCode.incompatibleVersion,
      `cniVersion ${JSON.stringify(version)} is not supported; supported: ${SUPPORTED_VERSIONS.join(', ')}`,
    );
  }
  if (order(version) < order(SINCE[command])) {
    throw new CniError(
      ErrorCode.incompatibleVersion,
      `${command} needs cniVersion ${SINCE[command]} or later, the configuration says ${version}`,
    );
  }
  return version;
}

export interface ErrorObject {
  cniVersion: string;
  code: number;
  msg: string;
  details?: string;
}

export function errorObject(version: string, error: CniError): ErrorObject {
  const out: ErrorObject = { cniVersion: version, code: error.code, msg: error.message };
  if (error.details !== undefined) out.details = error.details;
  return out;
}

export function versionInfo(): { cniVersion: CniVersion; supportedVersions: CniVersion[] } {
  return { cniVersion: LATEST_VERSION, supportedVersions: [...SUPPORTED_VERSIONS] };
}
