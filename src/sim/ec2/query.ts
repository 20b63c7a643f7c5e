import { Ec2Error, invalidParameter, missingParameter } from './errors.ts';

export interface Filter {
  readonly name: string;
  readonly values: readonly string[];
}

/**
 * The parameters of one EC2 Query request (`Filter.1.Value.2=x` style), with typed accessors that answer EC2's own
 * validation errors (`MissingParameter`, `InvalidParameterValue`) naming the parameter.
 */
export class QueryParams {
  readonly #values: ReadonlyMap<string, string>;
  readonly #prefix: string;

  constructor(values: ReadonlyMap<string, string>, prefix = '') {
    this.#values = values;
    this.#prefix = prefix;
  }

  static parse(body: string): QueryParams {
    return new QueryParams(new Map(new URLSearchParams(body)));
  }

  entries(): [string, string][] {
    return [...this.#values].filter(([key]) => key.startsWith(this.#prefix));
  }

  has(name: string): boolean {
    const full = this.#prefix + name;
    for (const key of this.#values.keys()) if (key === full || key.startsWith(`${full}.`)) return true;
    return false;
  }

  string(name: string): string | undefined {
    return this.#values.get(this.#prefix + name);
  }

  required(name: string): string {
    const value = this.string(name);
    if (value === undefined || value === '') throw missingParameter(this.#prefix + name);
    return value;
  }

  int(name: string, min = 0, max = Number.MAX_SAFE_INTEGER): number | undefined {
    const text = this.string(name);
    if (text === undefined) return undefined;
    const value = Number(text);
    if (!/^-?\d+$/.test(text) || value < min || value > max) {
      throw invalidParameter(
        `Invalid value '${text}' for ${this.#prefix + name}: expected an integer from ${min} to ${max}.`,
      );
    }
    return value;
  }

  bool(name: string): boolean | undefined {
    const text = this.string(name);
    if (text === undefined) return undefined;
    if (text !== 'true' && text !== 'false')
      throw invalidParameter(`Invalid value '${text}' for ${this.#prefix + name}: expected true or false.`);
    return text === 'true';
  }

  /** `Name.1`, `Name.2`, … in index order. */
  list(name: string): string[] {
    return this.#indices(name, false).map((index) => this.#values.get(`${this.#prefix}${name}.${index}`)!);
  }

  /** `Name.1.Field`, `Name.2.Field`, … as nested parameter sets, in index order. */
  structs(name: string): QueryParams[] {
    return this.#indices(name, true).map((index) => new QueryParams(this.#values, `${this.#prefix}${name}.${index}.`));
  }

  filters(): Filter[] {
    return this.structs('Filter').map((filter) => ({ name: filter.required('Name'), values: filter.list('Value') }));
  }

  /** `Tag.N.Key` / `Tag.N.Value` pairs; keys are validated as EC2 does. */
  tags(name = 'Tag'): Map<string, string> {
    const tags = new Map<string, string>();
    for (const tag of this.structs(name)) {
      const key = tag.required('Key');
      if (key.toLowerCase().startsWith('aws:'))
        throw invalidParameter(`Tag keys starting with 'aws:' are reserved: ${key}`);
      if (key.length > 128) throw invalidParameter(`Tag key exceeds 128 characters: ${key.slice(0, 40)}…`);
      tags.set(key, tag.string('Value') ?? '');
    }
    return tags;
  }

  #indices(name: string, nested: boolean): number[] {
    const head = `${this.#prefix}${name}.`;
    const indices = new Set<number>();
    for (const key of this.#values.keys()) {
      if (!key.startsWith(head)) continue;
      const rest = key.slice(head.length);
      const match = nested ? /^(\d+)\./.exec(rest) : /^(\d+)$/.exec(rest);
      if (match) indices.add(Number(match[1]));
    }
    return [...indices].sort((a, b) => a - b);
  }
}

export function invalidCombination(message: string): Ec2Error {
  return new Ec2Error('InvalidParameterCombination', message);
}
