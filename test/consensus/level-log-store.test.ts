// The level store against real damage on disk: values with a wrong checksum, missing entries,
// inconsistent records, broken LevelDB files, a lock held by another process, and a process
// killed mid-write. Each must be refused with a message naming the path and saying what to do.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { Level } from 'level';
import { encodeEntry, encodeHardState, encodeSnapshot } from '../../consensus/codec.ts';
import { LevelLogStore, LogLockedError } from '../../consensus/adapters/level-log-store.ts';
import { entryKey, seal } from '../../consensus/adapters/level-records.ts';
import type { Entry } from '../../consensus/core/types.ts';
import { CorruptLogError } from '../../consensus/log-store.ts';

const root = mkdtempSync(join(tmpdir(), 'ottmesh-level-'));
after(() => rmSync(root, { recursive: true, force: true }));
let dirs = 0;
const storeModule = new URL('../../consensus/adapters/level-log-store.ts', import.meta.url).href;

const ents = (lo: number, hi: number, term: number): Entry[] =>
  Array.from({ length: hi - lo + 1 }, (_, k) => ({ index: lo + k, term, type: 'normal' as const, data: Uint8Array.of(lo + k) }));
const snap = (index: number, term: number) => ({ meta: { index, term, conf: { voters: ['a'], learners: [] } }, data: Uint8Array.of(1) });

/** A closed store in a new directory holding entries 1..5 (term 2), commit 3. */
async function healthyStore(): Promise<string> {
  const dir = join(root, `store-${++dirs}`);
  const store = await LevelLogStore.open(dir);
  await store.save({ hardState: { term: 2, vote: 'a', commit: 3 }, entries: ents(1, 5, 2), snapshot: null });
  await store.close();
  return dir;
}

/** Change the records directly, as damage (or a bug) would. */
async function withRawDb(dir: string, change: (db: Level<string, Uint8Array>) => Promise<void>): Promise<void> {
  const db = new Level<string, Uint8Array>(dir, { keyEncoding: 'utf8', valueEncoding: 'view' });
  await db.open();
  try {
    await change(db);
  } finally {
    await db.close();
  }
}

/** Opening and loading `dir` must fail with CorruptLogError naming `path` and matching `problem`. */
async function assertCorrupt(dir: string, problem: RegExp, path = dir): Promise<void> {
  let store: LevelLogStore | null = null;
  await assert.rejects(async () => {
    store = await LevelLogStore.open(dir);
    await store.load();
  }, (err: unknown) => {
    assert.ok(err instanceof CorruptLogError, `expected CorruptLogError, got ${String(err)}`);
    assert.equal(err.path, path);
    assert.ok(err.message.startsWith(`${path}: `), err.message);
    assert.match(err.message, problem);
    assert.match(err.message, /move its data directory aside/);
    return true;
  });
  await (store as LevelLogStore | null)?.close();
}

describe('LevelLogStore refuses a damaged log', () => {
  it('a value whose bytes were flipped fails its checksum', async () => {
    const dir = await healthyStore();
    await withRawDb(dir, async (db) => {
      const value = new Uint8Array((await db.get(entryKey(2)))!);
      value[value.length - 1]! ^= 0xff;
      await db.put(entryKey(2), value);
    });
    await assertCorrupt(dir, /record "entry\/0000000000000002" fails its checksum/);
  });

  it('a value with a valid checksum that does not decode', async () => {
    const dir = await healthyStore();
    await withRawDb(dir, (db) => db.put('hardstate', seal(Uint8Array.of(0xe2, 1))));
    await assertCorrupt(dir, /record "hardstate" does not decode \(cannot decode hard state/);
  });

  it('a deleted entry leaves a gap', async () => {
    const dir = await healthyStore();
    await withRawDb(dir, (db) => db.del(entryKey(3)));
    await assertCorrupt(dir, /entries 3\.\.3 are missing \(a gap after entry 2\)/);
  });

  it('entries that do not start right after the snapshot', async () => {
    const dir = await healthyStore();
    await withRawDb(dir, (db) => db.del(entryKey(1)));
    await assertCorrupt(dir, /the entries start at 2, not right after the snapshot at 0/);
  });

  it('an entry stored under another index', async () => {
    const dir = await healthyStore();
    await withRawDb(dir, (db) => db.put(entryKey(6), seal(encodeEntry(ents(7, 7, 2)[0]!))));
    await assertCorrupt(dir, /record "entry\/0000000000000006" holds entry 7/);
  });

  it('terms that decrease', async () => {
    const dir = await healthyStore();
    await withRawDb(dir, (db) => db.put(entryKey(4), seal(encodeEntry(ents(4, 4, 1)[0]!))));
    await assertCorrupt(dir, /terms decrease: entry 4 has term 1 after term 2/);
  });

  it('a commit past the last entry, or below the snapshot', async () => {
    const dir = await healthyStore();
    await withRawDb(dir, (db) => db.put('hardstate', seal(encodeHardState({ term: 2, vote: null, commit: 9 }))));
    await assertCorrupt(dir, /says 9 is committed but the log ends at 5/);
    await withRawDb(dir, async (db) => {
      await db.batch([{ type: 'put', key: 'snapshot', value: seal(encodeSnapshot(snap(4, 2))) },
        ...[1, 2, 3, 4].map((i) => ({ type: 'del' as const, key: entryKey(i) })),
        { type: 'put', key: 'hardstate', value: seal(encodeHardState({ term: 2, vote: null, commit: 3 })) }]);
    });
    await assertCorrupt(dir, /commit 3 is below the snapshot index 4/);
  });

  it('an unknown format version, and a missing format record', async () => {
    const dir = await healthyStore();
    await withRawDb(dir, (db) => db.put('format', seal(Uint8Array.of(9))));
    await assertCorrupt(dir, /format version 9 is not one this build reads \(it reads 1\)/);
    await withRawDb(dir, (db) => db.del('format'));
    await assertCorrupt(dir, /the format record is missing but key "entry\/0000000000000001" exists/);
  });

  it('a garbled, truncated or deleted CURRENT file', async () => {
    const current = (dir: string): string => join(dir, 'CURRENT');
    const garbled = await healthyStore();
    writeFileSync(current(garbled), 'MANIFEST-999999\n');
    await assertCorrupt(garbled, /CURRENT names "MANIFEST-999999", which does not exist/, current(garbled));
    const truncated = await healthyStore();
    writeFileSync(current(truncated), readFileSync(current(truncated)).subarray(0, 4));
    await assertCorrupt(truncated, /CURRENT file does not end with newline/, current(truncated));
    const deleted = await healthyStore();
    rmSync(current(deleted));
    await assertCorrupt(deleted, /CURRENT is missing but LevelDB files remain/, current(deleted));
  });

  it('a garbled MANIFEST', async () => {
    const dir = await healthyStore();
    const manifest = readdirSync(dir).find((f) => f.startsWith('MANIFEST-'))!;
    writeFileSync(join(dir, manifest), 'not a manifest, not a manifest, not a manifest');
    await assertCorrupt(dir, /LevelDB reports "Corruption/, join(dir, manifest));
  });

  it('a damaged table file (.ldb)', async () => {
    const dir = await healthyStore();
    await withRawDb(dir, async (db) => {
      await db.batch(ents(6, 3000, 2).map((e) => ({ type: 'put' as const, key: entryKey(e.index), value: seal(encodeEntry(e)) })));
      // `level` is classic-level on Node; its compactRange (not in the universal typings) writes a table file.
      await (db as unknown as { compactRange(start: string, end: string): Promise<void> }).compactRange(entryKey(0), entryKey(99_999));
    });
    const table = readdirSync(dir).find((f) => f.endsWith('.ldb'));
    assert.ok(table, 'compaction wrote no table file');
    const bytes = readFileSync(join(dir, table));
    for (let i = 0; i < 200; i++) bytes[100 + i]! ^= 0xff;
    writeFileSync(join(dir, table), bytes);
    // LevelDB (no paranoid checks, no checksum verification on reads) may report the block or
    // skip it silently; then our own checks (checksums, contiguity) must catch what went missing.
    await assertCorrupt(dir, /LevelDB reports "Corruption|fails its checksum|does not decode|missing|entries start at/);
  });
});

describe('LevelLogStore and other processes', () => {
  it('a log held open by another process is LogLockedError, not corruption', async () => {
    const dir = await healthyStore();
    const child = spawn(process.execPath, ['--input-type=module', '-e',
      `const { LevelLogStore } = await import(${JSON.stringify(storeModule)});
       await LevelLogStore.open(${JSON.stringify(dir)}); console.log('open'); setTimeout(() => {}, 30000);`],
    { stdio: ['ignore', 'pipe', 'inherit'] });
    try {
      await new Promise((resolve) => child.stdout.once('data', resolve));
      await assert.rejects(LevelLogStore.open(dir), (err: unknown) => {
        assert.ok(err instanceof LogLockedError, String(err));
        assert.match(err.message, /LOCK: another process holds this Raft log open, so this node is already running/);
        return true;
      });
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('a process killed mid-write leaves whole batches, including every acknowledged one', async () => {
    const dir = join(root, `killed-${++dirs}`);
    const child = spawn(process.execPath, ['--input-type=module', '-e',
      `const { LevelLogStore } = await import(${JSON.stringify(storeModule)});
       const store = await LevelLogStore.open(${JSON.stringify(dir)});
       for (let i = 1; i < 1e7; i += 10) {
         const entries = Array.from({ length: 10 }, (_, k) => ({ index: i + k, term: 1, type: 'normal', data: new Uint8Array(200) }));
         await store.save({ hardState: { term: 1, vote: null, commit: i + 9 }, entries, snapshot: null });
         process.stdout.write(' ' + (i + 9));
       }`], { stdio: ['ignore', 'pipe', 'inherit'] });
    let acknowledged = 0;
    child.stdout.on('data', (chunk: Buffer) => {
      acknowledged = Math.max(acknowledged, ...chunk.toString().trim().split(' ').map(Number));
    });
    await new Promise<void>((resolve) => child.stdout.on('data', () => acknowledged >= 300 && resolve()));
    child.kill('SIGKILL');
    await new Promise((resolve) => child.once('exit', resolve));
    const store = await LevelLogStore.open(dir);
    const state = await store.load();
    await store.close();
    const last = state.entries.at(-1)?.index ?? 0;
    assert.ok(last >= acknowledged, `last entry ${last} < acknowledged ${acknowledged}`);
    assert.equal(last % 10, 0, 'a batch was written in part');
    assert.equal(state.hardState.commit, last, 'hard state and entries of one save disagree');
  });
});
