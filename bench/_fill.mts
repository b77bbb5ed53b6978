import { resolveConfig } from '../src/lib/config.js';
import { fillTopic } from './common.js';
const n = Number(process.argv[2]);
const t = await fillTopic(resolveConfig(), n, '2026-11-01');
console.log(t);
