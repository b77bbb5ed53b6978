import { resolveConfig } from '../src/lib/config.js';
import { fillTopic } from './common.js';
const n = Number(process.argv[2] ?? 1000000);
console.log(await fillTopic(resolveConfig(), n, '2026-11-01'));
