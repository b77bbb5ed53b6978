import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Config } from '../core/config.js';
import { ErrorCodes, GamepipeError } from '../core/errors.js';
import { POM_DIR } from './local.js';

const run = promisify(execFile);

/** The compose file shipped with the package. */
export const COMPOSE_FILE = join(POM_DIR, '..', 'docker-compose.yml');

/** Image versions in compose/docker-compose.yml (a test keeps them in step). */
export const DOCKER_VERSIONS = { kafka: '4.1.0', hadoop: '3.4.1' } as const;

/** True when a Docker engine answers (not only the client). */
export async function dockerAvailable(): Promise<boolean> {
  try {
    await run('docker', ['info', '--format', '{{.ServerVersion}}'], { timeout: 5_000 });
    return true;
  } catch {
    return false;
  }
}

/** GP_DOCKER_UNAVAILABLE unless a Docker engine answers. */
async function requireDocker(): Promise<void> {
  if (!(await dockerAvailable())) {
    throw new GamepipeError(
      ErrorCodes.dockerUnavailable,
      'no Docker engine answers on this machine',
      {
        hint: 'start Docker, or use the java stack: gamepipe up --mode local',
      },
    );
  }
}

async function compose(args: string[]): Promise<void> {
  await requireDocker();
  try {
    await run('docker', ['compose', '-f', COMPOSE_FILE, '-p', 'gamepipe', ...args], {
      maxBuffer: 16 * 1024 * 1024,
    });
  } catch (err) {
    const stderr = String((err as { stderr?: string }).stderr ?? err)
      .trim()
      .split('\n')
      .pop();
    throw new GamepipeError(ErrorCodes.stackStart, `docker compose ${args[0]} failed: ${stderr}`, {
      hint: `run docker compose -f ${COMPOSE_FILE} -p gamepipe ${args.join(' ')} to see the whole output`,
      cause: err,
    });
  }
}

export async function dockerUp(_config: Config): Promise<void> {
  await compose(['up', '-d']);
}

export async function dockerRestart(services: readonly string[]): Promise<void> {
  await compose(['restart', ...services]);
}

export async function dockerDown(_config: Config, { purge }: { purge: boolean }): Promise<void> {
  await compose(purge ? ['down', '--volumes'] : ['down']);
}

/** `docker compose logs` of one service, its output passed through; resolves to its exit code. */
export async function composeLogs(
  service: string,
  { follow, tail }: { follow: boolean; tail: number | undefined },
): Promise<number> {
  await requireDocker();
  const { spawn } = await import('node:child_process');
  const args = ['compose', '-f', COMPOSE_FILE, '-p', 'gamepipe', 'logs'];
  if (follow) args.push('--follow');
  if (tail !== undefined) args.push('--tail', String(tail));
  const child = spawn('docker', [...args, service], { stdio: 'inherit' });
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => resolve(code ?? 1));
  });
}
