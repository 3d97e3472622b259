// JSONL records: written in order, read back; a last line cut short by a killed run is left
// out, a bad line elsewhere is an error naming the file and line.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';

import { JsonlWriter, readJsonl } from '../../scripts/chaos/records.ts';

test('records are read back in order; a cut last line is dropped; a bad line throws', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'ottmesh-chaos-records-'));
  try {
    const w = new JsonlWriter<{ i: number }>(join(dir, 'a.jsonl'));
    for (let i = 0; i < 1000; i++) w.write({ i });
    await w.close();
    w.write({ i: -1 }); // after close: ignored (a poll that answered late)
    assert.deepEqual((await readJsonl<{ i: number }>(join(dir, 'a.jsonl'))).map((r) => r.i), Array.from({ length: 1000 }, (_, i) => i));
    await writeFile(join(dir, 'cut.jsonl'), '{"i":1}\n{"i":2}\n{"i":');
    assert.deepEqual(await readJsonl(join(dir, 'cut.jsonl')), [{ i: 1 }, { i: 2 }]);
    await writeFile(join(dir, 'bad.jsonl'), '{"i":1}\nnot json\n{"i":2}\n');
    await assert.rejects(readJsonl(join(dir, 'bad.jsonl')), /bad\.jsonl:2 is not JSON/);
    assert.deepEqual(await readJsonl(join(dir, 'missing.jsonl')), []);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
