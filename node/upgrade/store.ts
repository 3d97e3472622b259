// What a node keeps of upgrades in its data dir (an adapter: files), under DATA/upgrade/:
//   executable       the last executable uploaded to this node for a rollout (mode 0755)
//   executable.json  its sha256, size and build, checked when it was uploaded
//   rollout.json     the rollout this node coordinates or coordinated last: written at every
//                    change, so the node's own restart (the last step) is finished by the new
//                    process, and a coordinator that died mid-way says so when it is back
// Each JSON file is replaced whole (written beside, then renamed).
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import type { BuildId } from './plan.ts';
import type { Rollout } from './rollout.ts';

export interface StoredExecutable extends BuildId {
  readonly path: string;
  readonly sha256: string;
  readonly bytes: number;
  readonly uploadedAtMs: number;
}

export class UpgradeStore {
  readonly dir: string;

  constructor(dataDir: string) {
    this.dir = join(dataDir, 'upgrade');
  }

  get executablePath(): string {
    return join(this.dir, 'executable');
  }

  async ensureDir(): Promise<string> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    return this.dir;
  }

  /** The uploaded executable, or null (none, or its record is damaged: upload it again). */
  async uploaded(): Promise<StoredExecutable | null> {
    const record = await readJson(join(this.dir, 'executable.json'));
    if (record === null || typeof record !== 'object') return null;
    const r = record as Partial<StoredExecutable>;
    if (typeof r.sha256 !== 'string' || typeof r.version !== 'string' || typeof r.commit !== 'string' || typeof r.bytes !== 'number') return null;
    return { path: this.executablePath, sha256: r.sha256, version: r.version, commit: r.commit, bytes: r.bytes, uploadedAtMs: r.uploadedAtMs ?? 0 };
  }

  /** Makes `file` (in this store's directory) the uploaded executable. */
  async keepUploaded(file: string, info: Omit<StoredExecutable, 'path'>): Promise<StoredExecutable> {
    await rm(join(this.dir, 'executable.json'), { force: true });
    await rename(file, this.executablePath);
    await writeJson(join(this.dir, 'executable.json'), info);
    return { path: this.executablePath, ...info };
  }

  async rollout(): Promise<Rollout | null> {
    const value = await readJson(join(this.dir, 'rollout.json'));
    return value !== null && typeof value === 'object' && Array.isArray((value as Rollout).steps) ? (value as Rollout) : null;
  }

  async saveRollout(rollout: Rollout): Promise<void> {
    await this.ensureDir();
    await writeJson(join(this.dir, 'rollout.json'), rollout);
  }
}

async function readJson(path: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return null; // a torn write: treated as absent (an upload or a rollout starts afresh)
  }
}

async function writeJson(path: string, value: unknown): Promise<void> {
  await writeFile(`${path}.tmp`, `${JSON.stringify(value, null, 2)}\n`, { mode: 0o600 });
  await rename(`${path}.tmp`, path);
}
