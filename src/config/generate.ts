import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadCatalog } from './schema.ts';

export const settingsModulePath = resolve(
  dirname(fileURLToPath(import.meta.url)),
  '../compiler/settings/settings.generated.ts',
);

/** The TypeScript module that carries the CUE catalog as a literal, from which the `Config` type is derived. */
export async function renderSettingsModule(): Promise<string> {
  const catalog = await loadCatalog();
  const sorted = Object.fromEntries(Object.keys(catalog).map((key) => [key, catalog[key]]));
  return [
    '// Generated from schema/config.cue by `npm run gen`. Do not edit: change the schema and regenerate.',
    '// test/config/schema.test.ts fails when this file and the schema disagree.',
    `export const settings = ${JSON.stringify(sorted, null, 2)} as const;`,
    '',
  ].join('\n');
}
