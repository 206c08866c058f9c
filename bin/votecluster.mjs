#!/usr/bin/env node
// Installed entry point: runs the TypeScript CLI through tsx's loader.
import { register } from 'node:module';
import { pathToFileURL } from 'node:url';
register('tsx/esm', pathToFileURL('./'));
const { main } = await import('../services/cli/main.ts');
process.exitCode = await main(process.argv.slice(2));
