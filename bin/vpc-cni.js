#!/usr/bin/env -S node --
// `--` stops node from reading our `--env-file` flag as its own (nodejs/node#54232).
// Node 24 runs the TypeScript sources directly (type stripping), so there is no build step to forget.
import { main } from '../src/cli/main.ts';

process.exitCode = await main(process.argv.slice(2));
