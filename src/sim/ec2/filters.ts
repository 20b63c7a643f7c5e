import { invalidParameter } from './errors.ts';
import { type Filter, invalidCombination, type QueryParams } from './query.ts';

/** What a resource offers to filters: its filterable fields (name → values) and its tags. */
export interface Filterable {
  readonly fields: Readonly<Record<string, readonly (string | undefined)[]>>;
  readonly tags: ReadonlyMap<string, string>;
}

/**
 * Keeps the items every filter matches (values of one filter are ORed, filters ANDed, `*` and `?` are wildcards),
 * as EC2 does. An unknown filter name is an error, not an empty match, so a typo cannot pass as "nothing found".
 */
function applyFilters<T>(items: readonly T[], filters: readonly Filter[], view: (item: T) => Filterable): T[] {
  if (filters.length === 0) return [...items];
  const known = items.length > 0 ? Object.keys(view(items[0]!).fields) : [];
  for (const filter of filters) {
    const isTag = filter.name === 'tag-key' || filter.name === 'tag-value' || filter.name.startsWith('tag:');
    if (!isTag && items.length > 0 && !known.includes(filter.name)) {
      throw invalidParameter(`The filter '${filter.name}' is invalid`);
    }
  }
  return items.filter((item) => {
    const { fields, tags } = view(item);
    return filters.every((filter) => {
      const candidates = candidatesFor(filter.name, fields, tags);
      return filter.values.some((pattern) =>
        candidates.some((value) => value !== undefined && wildcard(pattern).test(value)),
      );
    });
  });
}

function candidatesFor(
  name: string,
  fields: Filterable['fields'],
  tags: ReadonlyMap<string, string>,
): readonly (string | undefined)[] {
  if (name === 'tag-key') return [...tags.keys()];
  if (name === 'tag-value') return [...tags.values()];
  if (name.startsWith('tag:')) return [tags.get(name.slice('tag:'.length))];
  return fields[name] ?? [];
}

function wildcard(pattern: string): RegExp {
  const body = pattern
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${body}$`);
}

/**
 * `MaxResults`/`NextToken` paging. The token is opaque to clients; here it is the offset, encoded so clients do not
 * learn to parse it. Asking for ids and a page size at once is refused, as EC2 refuses it.
 */
function paginate<T>(items: readonly T[], params: QueryParams, idsGiven: boolean, limits = { min: 5, max: 1000 }) {
  const maxResults = params.int('MaxResults', limits.min, limits.max);
  if (maxResults !== undefined && idsGiven) {
    throw invalidCombination('The parameter MaxResults cannot be used with the parameter for resource ids.');
  }
  const token = params.string('NextToken');
  const start = token === undefined ? 0 : decodeToken(token);
  const end = maxResults === undefined ? items.length : Math.min(items.length, start + maxResults);
  return {
    page: items.slice(start, end),
    nextToken: end < items.length ? Buffer.from(`offset:${end}`).toString('base64') : undefined,
  };
}

function decodeToken(token: string): number {
  const match = /^offset:(\d+)$/.exec(Buffer.from(token, 'base64').toString());
  if (match === null) throw invalidParameter(`Invalid NextToken: ${token}`);
  return Number(match[1]);
}

/** Resolves explicitly requested ids (`NetworkInterfaceId.N`, …); any unknown id fails the whole request. */
function selectByIds<T>(ids: readonly string[], all: ReadonlyMap<string, T>, missing: (id: string) => Error): T[] {
  if (ids.length === 0) return [...all.values()];
  return ids.map((id) => all.get(id) ?? throwIt(missing(id)));
}

/**
 * The pipeline every Describe* action follows, as EC2 does: the ids asked for in `idParam.N` (an unknown one fails the
 * request), then `narrow` (an action's own selectors, e.g. `GroupName.N`), then `Filter.N`, then one page.
 */
export function describePage<T>(
  params: QueryParams,
  idParam: string,
  all: ReadonlyMap<string, T>,
  missing: (id: string) => Error,
  view: (item: T) => Filterable,
  narrow: (items: T[]) => T[] = (items) => items,
) {
  const ids = params.list(idParam);
  const matching = applyFilters(narrow(selectByIds(ids, all, missing)), params.filters(), view);
  return paginate(matching, params, ids.length > 0);
}

function throwIt(error: Error): never {
  throw error;
}
