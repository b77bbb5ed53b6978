import { probeServices, up, down } from '../src/lib/stack.js';
import { stackConfig } from './helpers.js';

// Integration tests need the real stack. Bring it up when it is not running, and stop it at the
// end only when this run started it.
let startedHere = false;

export const mochaHooks = {
  async beforeAll(this: Mocha.Context): Promise<void> {
    this.timeout(600_000);
    const config = stackConfig();
    const services = await probeServices(config);
    if (services.every((s) => s.state === 'up')) {
      await up(config, { mode: 'local' });
      return;
    }
    process.stderr.write('test setup: starting the local stack (gamepipe up --mode local)\n');
    const res = await up(config, { mode: 'local', timeoutMs: 300_000 });
    startedHere = res.started.length > 0;
    process.stderr.write(`test setup: stack up in ${(res.elapsedMs / 1000).toFixed(1)}s\n`);
  },
  async afterAll(this: Mocha.Context): Promise<void> {
    this.timeout(120_000);
    if (startedHere && process.env.GAMEPIPE_TEST_KEEP_STACK !== '1') {
      await down(stackConfig());
    }
  },
};
