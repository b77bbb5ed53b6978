/** `npm run bench`: every benchmark, one after the other, each printing its table. */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { ROOT } from '../test/helpers.js';

for (const bench of ['serve', 'extract', 'report', 'kafka']) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(ROOT, 'bench', `${bench}.ts`)], {
    stdio: 'inherit',
    cwd: ROOT,
  });
  if (r.status !== 0) process.exitCode = 1;
}
