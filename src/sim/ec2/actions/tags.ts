import { Ec2Error, missingParameter } from '../errors.ts';
import type { QueryParams } from '../query.ts';
import { type Ec2Action, mutating } from './action.ts';

/** EC2 allows 50 user tags per resource. */
const MAX_TAGS = 50;

function resources(params: QueryParams): string[] {
  const ids = params.list('ResourceId');
  if (ids.length === 0) throw missingParameter('ResourceId');
  return ids;
}

export const createTags: Ec2Action = {
  name: 'CreateTags',
  latency: 'tag',
  throttle: mutating,
  run(cloud, params) {
    const ids = resources(params);
    const tags = params.tags();
    if (tags.size === 0) throw missingParameter('Tag');
    for (const id of ids) {
      const merged = new Set([...cloud.tagsOf(id).keys(), ...tags.keys()]);
      if (merged.size > MAX_TAGS)
        throw new Ec2Error('TagLimitExceeded', `The maximum number of tags (${MAX_TAGS}) for ${id} would be exceeded.`);
    }
    cloud.changeTags(ids, (current) => {
      for (const [key, value] of tags) current.set(key, value);
    });
    return { return: true };
  },
};

/** A tag given with a value is removed only if the value matches; without a value, whatever its value. */
export const deleteTags: Ec2Action = {
  name: 'DeleteTags',
  latency: 'tag',
  throttle: mutating,
  run(cloud, params) {
    const ids = resources(params);
    const doomed = params.structs('Tag').map((tag) => ({ key: tag.required('Key'), value: tag.string('Value') }));
    cloud.changeTags(ids, (current) => {
      if (doomed.length === 0) current.clear();
      for (const { key, value } of doomed) if (value === undefined || current.get(key) === value) current.delete(key);
    });
    return { return: true };
  },
};
