// The executable files of an upgrade (node/upgrade/executable.ts) on a real file system: a
// bounded, hashed receive; `--version` as the check that a file is an ottmesh executable; the
// atomic replacement that keeps the previous one. And the telemetry report's new build fields,
// which old reports do not have.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, before, test } from 'node:test';

import { decodeReport, encodeReport } from '../../node/gossip/report.ts';
import type { TelemetryReport } from '../../node/gossip/report.ts';
import { UpgradeError } from '../../node/upgrade/errors.ts';
import { buildOfExecutable, installExecutable, parseVersionLine, previousPathOf, receiveFile, sha256File } from '../../node/upgrade/executable.ts';
import { restartPlan } from '../../node/upgrade/restart.ts';

let dir = '';
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ottmesh-exe-test-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

test('receiveFile writes and hashes what it reads, and refuses more than the bound, leaving nothing', async () => {
  const bytes = Buffer.alloc(100_000, 7);
  const got = await receiveFile(Readable.from([bytes.subarray(0, 30_000), bytes.subarray(30_000)]), dir);
  assert.equal(got.bytes, 100_000);
  assert.equal(got.sha256, createHash('sha256').update(bytes).digest('hex'));
  assert.equal(await sha256File(got.path), got.sha256);
  await rm(got.path);
  await assert.rejects(receiveFile(Readable.from([bytes]), dir, 50_000), (err: unknown) => err instanceof UpgradeError && err.status === 413);
  assert.deepEqual((await readdir(dir)).filter((f) => f.startsWith('.ottmesh-incoming-')), []);
});

test('--version decides whether a file is an ottmesh executable', async () => {
  assert.deepEqual(parseVersionLine('ottmesh 0.1.0-test2 (commit 4dcc2ea1b2c3-dirty)\n'), { version: '0.1.0-test2', commit: '4dcc2ea1b2c3-dirty' });
  assert.equal(parseVersionLine('Python 3.11.2'), null);
  const good = join(dir, 'good');
  await writeFile(good, '#!/bin/sh\necho "ottmesh 9.9.9 (commit abc123)"\n');
  assert.deepEqual(await buildOfExecutable(good), { version: '9.9.9', commit: 'abc123' });
  const other = join(dir, 'other');
  await writeFile(other, '#!/bin/sh\necho "something else 1.0"\n');
  await assert.rejects(buildOfExecutable(other), /not an ottmesh executable: '--version' printed "something else 1.0"/);
  const garbage = join(dir, 'garbage');
  await writeFile(garbage, Buffer.from([0x7f, 0x45, 0x4c, 0x46, 1, 2, 3]));
  await assert.rejects(buildOfExecutable(garbage), (err: unknown) => err instanceof UpgradeError && err.status === 422 && /'--version' failed/.test(err.message));
  const hangs = join(dir, 'hangs');
  await writeFile(hangs, '#!/bin/sh\nsleep 30\n');
  await assert.rejects(buildOfExecutable(hangs, 300), /did not answer within 0.3 s/);
});

test('installExecutable renames the new file into place and keeps the old one as .previous', async () => {
  const exe = join(dir, 'ottmesh');
  await writeFile(exe, 'old build', { mode: 0o755 });
  await writeFile(previousPathOf(exe), 'an older previous');
  const incoming = join(dir, '.ottmesh-incoming-x');
  await writeFile(incoming, 'new build');
  await installExecutable(incoming, exe);
  assert.equal(await readFile(exe, 'utf8'), 'new build');
  assert.equal(await readFile(previousPathOf(exe), 'utf8'), 'old build');
  assert.equal((await stat(exe)).mode & 0o777, 0o755);
  await assert.rejects(installExecutable(join(tmpdir(), 'elsewhere'), exe), /must be in/);
});

test('a restart under systemd exits for the unit; otherwise it starts `start --data-dir` itself', () => {
  assert.deepEqual(restartPlan('/opt/ottmesh/ottmesh', '/var/lib/ottmesh', { INVOCATION_ID: 'abc' }), { how: 'systemd', argv: ['/opt/ottmesh/ottmesh', 'start', '--data-dir', '/var/lib/ottmesh'] });
  assert.equal(restartPlan('/x/ottmesh', '/d', {}).how, 'spawn');
  assert.equal(restartPlan('/x/ottmesh', '/d', { INVOCATION_ID: '' }).how, 'spawn');
});

test('telemetry reports carry the build; reports without it (older nodes) still decode', () => {
  const report: TelemetryReport = {
    v: 1, nodeId: 'n1', seq: 1, sentAtMs: 1, cpuPct: 1, load1: 0, load5: 0, load15: 0, memUsedBytes: 1, memTotalBytes: 2, memPct: 50,
    netRxBytesPerS: 0, netTxBytesPerS: 0, diskFreeBytes: 1, rssBytes: 1, streams: { count: 0, items: [] },
  };
  const old = decodeReport(encodeReport(report));
  assert.ok(old.ok);
  assert.equal(old.report.version, undefined);
  const withBuild = decodeReport(encodeReport({ ...report, version: '0.1.0-test2', commit: 'abc-dirty' }));
  assert.ok(withBuild.ok);
  assert.deepEqual([withBuild.report.version, withBuild.report.commit], ['0.1.0-test2', 'abc-dirty']);
  const bad = decodeReport(new TextEncoder().encode(JSON.stringify({ ...report, version: 'a\nb' })));
  assert.deepEqual(bad, { ok: false, reason: 'version: expected 1-128 printable characters, got "a\\nb"' });
  assert.equal(decodeReport(new TextEncoder().encode(JSON.stringify({ ...report, commit: 7 }))).ok, false);
});
