import test, { type ExecutionContext } from 'ava';
import { canCreateNetns } from './netns.ts';

type Body = (t: ExecutionContext) => Promise<void> | void;

export interface ConditionalTest {
  (title: string, body: Body): void;
  serial(title: string, body: Body): void;
  /** Hooks run only when the tests do: a `before` that makes a namespace must not fail a skipped file. */
  before(body: Body): void;
  afterAlways(body: Body): void;
}

/**
 * Tests that need something this machine may lack. Each file declares its need once
 * (`const kernel = testNeeding(ok, 'needs root to create network namespaces')`); where it is missing every test is
 * skipped and its title ends in `(skipped: <why>)`, so the report says why without reading the file.
 */
export function testNeeding(ok: boolean, why: string): ConditionalTest {
  const skipped = (title: string) => `${title} (skipped: ${why})`;
  const run = (title: string, body: Body) => (ok ? test(title, body) : test.skip(skipped(title), body));
  return Object.assign(run, {
    serial: (title: string, body: Body) => (ok ? test.serial(title, body) : test.serial.skip(skipped(title), body)),
    before: (body: Body) => {
      if (ok) test.before(body);
    },
    afterAlways: (body: Body) => {
      if (ok) test.after.always(body);
    },
  });
}

/** Kernel tests: they make their own network namespaces, which needs root. */
export const kernelTest = testNeeding(canCreateNetns, 'needs root to create network namespaces');
