import { createRequire } from 'node:module';

/** gamepipe's version, from package.json (one place to change it). */
export const VERSION: string = (
  createRequire(import.meta.url)('../../../package.json') as { version: string }
).version;
