// Regenerates src/compiler/settings/settings.generated.ts from schema/config.cue (the static Config type's source).
// `npm run gen` writes it; `npm run gen -- --check` exits 1 if the file is stale (the drift test runs the same check).
import { readFile, writeFile } from 'node:fs/promises';
import { renderSettingsModule, settingsModulePath } from '../src/config/generate.ts';

const text = await renderSettingsModule();
if (process.argv.includes('--check')) {
  const current = await readFile(settingsModulePath, 'utf8');
  if (current !== text) {
    console.error(`${settingsModulePath} is stale: run npm run gen`);
    process.exitCode = 1;
  }
} else {
  await writeFile(settingsModulePath, text);
  console.log(`wrote ${settingsModulePath}`);
}
