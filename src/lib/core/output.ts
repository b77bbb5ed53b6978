import { rename, writeFile } from 'node:fs/promises';
import { ErrorCodes, GamepipeError } from './errors.js';

/** Writes a file whole or not at all (a temp file renamed into place); `-` is stdout. */
export async function writeOutput(path: string, text: string): Promise<void> {
  if (path === '-') {
    await new Promise<void>((resolve, reject) =>
      process.stdout.write(text, (err) => (err ? reject(err) : resolve())),
    );
    return;
  }
  const tmp = `${path}.${process.pid}.tmp`;
  try {
    await writeFile(tmp, text);
    await rename(tmp, path);
  } catch (err) {
    throw new GamepipeError(ErrorCodes.usage, `cannot write ${path}: ${(err as Error).message}`, {
      hint: 'pick a writable --out path',
      context: { path },
      cause: err,
    });
  }
}
