// The node key file (created 0600, refused when others may read it, damage named) and the network
// key's string form.
import assert from 'node:assert/strict';
import { chmod, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { InvalidNetworkKeyError, KeyFileDamagedError, KeyFilePermissionsError } from '../../node/p2p/errors.ts';
import { createNodeKey, decodeNetworkKey, encodeNetworkKey, generateNetworkKey, loadNodeKey, loadOrCreateNodeKey, peerIdOf } from '../../node/p2p/keys.ts';

async function withDir(body: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'ottmesh-keys-'));
  try {
    await body(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

test('a created key is written with mode 0600 and loads back to the same peer id', () => withDir(async (dir) => {
  const file = join(dir, 'node.key');
  const first = await loadOrCreateNodeKey(file);
  assert.equal(first.created, true);
  assert.match(first.peerId, /^12D3KooW/);
  assert.equal((await stat(file)).mode & 0o777, 0o600);
  const again = await loadOrCreateNodeKey(file);
  assert.equal(again.created, false);
  assert.equal(again.peerId, first.peerId);
  assert.equal(peerIdOf(await loadNodeKey(file)), first.peerId);
}));

test('creating a key never replaces an existing one', () => withDir(async (dir) => {
  const file = join(dir, 'node.key');
  const key = await createNodeKey(file);
  await assert.rejects(createNodeKey(file), /already exists/);
  assert.equal(peerIdOf(await loadNodeKey(file)), peerIdOf(key));
}));

test('a key file readable by group or others is refused with the chmod to run', () => withDir(async (dir) => {
  const file = join(dir, 'node.key');
  await createNodeKey(file);
  for (const mode of [0o640, 0o604, 0o644]) {
    await chmod(file, mode);
    await assert.rejects(loadNodeKey(file), (err: Error) => {
      assert.ok(err instanceof KeyFilePermissionsError);
      assert.ok(err.message.includes(`chmod 600 ${file}`), err.message);
      return true;
    });
  }
  await chmod(file, 0o600);
  await loadNodeKey(file);
}));

test('a damaged key file is a KeyFileDamagedError naming the file', () => withDir(async (dir) => {
  const file = join(dir, 'node.key');
  const cases = ['', 'not base64 !!!\n', `${Buffer.from('garbage bytes here').toString('base64')}\n`, 'AAAA\nBBBB\n'];
  for (const content of cases) {
    await writeFile(file, content, { mode: 0o600 });
    await assert.rejects(loadNodeKey(file), (err: Error) => {
      assert.ok(err instanceof KeyFileDamagedError, `${JSON.stringify(content)}: ${err.message}`);
      assert.ok(err.message.includes(file));
      return true;
    });
  }
}));

test('the network key round-trips through its string form', () => {
  const key = generateNetworkKey();
  const text = encodeNetworkKey(key);
  assert.match(text, /^[A-Za-z0-9_-]{43}$/);
  assert.deepEqual(decodeNetworkKey(text), key);
  assert.notEqual(encodeNetworkKey(generateNetworkKey()), text);
});

test('a bad network key string is an InvalidNetworkKeyError', () => {
  for (const bad of ['', 'short', `${'A'.repeat(42)}!`, 'A'.repeat(44)]) {
    assert.throws(() => decodeNetworkKey(bad), InvalidNetworkKeyError, bad);
  }
  assert.throws(() => encodeNetworkKey(new Uint8Array(95)), InvalidNetworkKeyError);
});
