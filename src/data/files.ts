import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

let root: string | undefined;

/**
 * The package's root folder: the first folder above this module that holds package.json. The same code runs from
 * src/data/ (sources, tests) and from dist/ or dist/chunks/ (the esbuild bundle), so no fixed `../..` fits both.
 */
export function packageRoot(): string {
  if (root !== undefined) return root;
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`no package.json above ${fileURLToPath(import.meta.url)}`);
    dir = parent;
  }
  root = dir;
  return root;
}

/** A file the package ships (see `files` in package.json), by its path from the package root. */
export function packageFile(...path: string[]): string {
  return join(packageRoot(), ...path);
}
