import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ErrorCodes, GamepipeError } from '../../../src/lib/core/errors.js';
import { WebHdfs } from '../../../src/lib/hdfs/webhdfs.js';
import { stackConfig, uniqueName } from '../../helpers.js';

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof GamepipeError, String(err));
    return err.code;
  }
  assert.fail('expected an error');
}

describe('lib/webhdfs against the real HDFS', () => {
  const config = stackConfig();
  const hdfs = new WebHdfs({ url: config.webhdfsUrl, user: config.hdfsUser });
  const root = `/tmp/gamepipe-test/${uniqueName('webhdfs')}`;

  after(async () => {
    await hdfs.delete(root, { recursive: true });
    await hdfs.close();
  });

  it('round trip: mkdir, create 5 MB, read back byte-equal, list, rename, delete', async () => {
    assert.equal(await hdfs.mkdirs(`${root}/a/b`), true);
    const data = randomBytes(5 * 1024 * 1024);
    const file = `${root}/a/b/data+0+1.bin`;
    await hdfs.create(file, data);
    const back = await hdfs.read(file);
    assert.equal(back.length, data.length);
    assert.equal(
      createHash('sha256').update(back).digest('hex'),
      createHash('sha256').update(data).digest('hex'),
    );
    const slice = await hdfs.read(file, { offset: 100, length: 50 });
    assert.deepEqual(slice, data.subarray(100, 150));

    const listed = await hdfs.listStatus(`${root}/a/b`);
    assert.deepEqual(
      listed.map((s) => [s.pathSuffix, s.type, s.length]),
      [['data+0+1.bin', 'FILE', data.length]],
    );
    const tree = await hdfs.list(root, { recursive: true });
    assert.deepEqual(
      tree.map((e) => e.path),
      [`${root}/a`, `${root}/a/b`, file],
    );

    await hdfs.rename(file, `${root}/a/moved.bin`);
    assert.equal(await hdfs.stat(file), undefined);
    assert.equal((await hdfs.getFileStatus(`${root}/a/moved.bin`)).length, data.length);

    assert.equal(await hdfs.delete(`${root}/a/moved.bin`), true);
    assert.equal(await hdfs.delete(`${root}/a/moved.bin`), false);
    assert.equal(await hdfs.stat(`${root}/a/moved.bin`), undefined);
  });

  it('refuses to overwrite unless asked', async () => {
    const file = `${root}/once.txt`;
    await hdfs.create(file, 'one');
    assert.equal(await codeOf(hdfs.create(file, 'two')), ErrorCodes.hdfsExists);
    await hdfs.create(file, 'three', { overwrite: true });
    assert.equal((await hdfs.read(file)).toString(), 'three');
  });

  it('reading or listing a missing path gives GP_HDFS_NOT_FOUND naming the path', async () => {
    const missing = `${root}/no/such/file`;
    try {
      await hdfs.read(missing);
      assert.fail('expected an error');
    } catch (err) {
      assert.ok(err instanceof GamepipeError);
      assert.equal(err.code, ErrorCodes.hdfsNotFound);
      assert.equal(err.context.path, missing);
      assert.match(err.message, new RegExp(missing));
    }
    assert.equal(await codeOf(hdfs.listStatus(missing)), ErrorCodes.hdfsNotFound);
  });

  it('a file where a directory is needed gives GP_HDFS_NOT_DIRECTORY', async () => {
    await hdfs.create(`${root}/plain`, 'x');
    assert.equal(await codeOf(hdfs.mkdirs(`${root}/plain/sub`)), ErrorCodes.hdfsNotDirectory);
  });

  it('a refused rename is an error naming both paths', async () => {
    const err = await hdfs.rename(`${root}/nothing-here`, `${root}/x`).catch((e: unknown) => e);
    assert.ok(err instanceof GamepipeError);
    assert.equal(err.code, ErrorCodes.hdfs);
    assert.equal(err.context.destination, `${root}/x`);
  });

  it('an unreachable NameNode gives GP_HDFS_UNAVAILABLE naming the endpoint', async () => {
    const dead = new WebHdfs({ url: 'http://127.0.0.1:1', user: 'x' });
    try {
      const err = await dead.listStatus('/').catch((e: unknown) => e);
      assert.ok(err instanceof GamepipeError);
      assert.equal(err.code, ErrorCodes.hdfsUnavailable);
      assert.match(err.message, /127\.0\.0\.1:1/);
      assert.equal(err.retriable, true);
    } finally {
      await dead.close();
    }
  });
});

describe('lib/webhdfs error mapping (local http server)', () => {
  let server: Server;
  let url: string;
  const replies: Record<string, [number, unknown]> = {
    MKDIRS: [
      403,
      {
        RemoteException: {
          exception: 'AccessControlException',
          message: 'Permission denied: user=x',
        },
      },
    ],
    CREATE: [403, { RemoteException: { exception: 'DSQuotaExceededException', message: 'quota' } }],
    LISTSTATUS: [
      500,
      { RemoteException: { exception: 'IOException', message: 'boom\nsecond line' } },
    ],
  };

  before(async () => {
    server = createServer((req, res) => {
      const op = new URL(req.url ?? '/', 'http://x').searchParams.get('op') ?? '';
      const [status, body] = replies[op] ?? [404, {}];
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => new Promise<void>((r) => server.close(() => r())));

  it('maps RemoteException classes to codes with the path', async () => {
    const hdfs = new WebHdfs({ url, user: 'x' });
    try {
      assert.equal(await codeOf(hdfs.mkdirs('/locked')), ErrorCodes.hdfsPermission);
      assert.equal(await codeOf(hdfs.create('/full', 'x')), ErrorCodes.hdfsNoSpace);
      const err = await hdfs.listStatus('/p').catch((e: unknown) => e);
      assert.ok(err instanceof GamepipeError);
      assert.equal(err.code, ErrorCodes.hdfs);
      assert.equal(err.retriable, true);
      assert.equal(err.message, 'HDFS LISTSTATUS /p failed: IOException: boom');
    } finally {
      await hdfs.close();
    }
  });

  it('rejects a relative path', async () => {
    const hdfs = new WebHdfs({ url, user: 'x' });
    assert.equal(await codeOf(hdfs.listStatus('relative')), ErrorCodes.usage);
    await hdfs.close();
  });
});
