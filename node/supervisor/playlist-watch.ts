// Follows the worker playlist ffmpeg rewrites in a stream directory and reports each new complete
// segment (index, duration, bytes). ffmpeg replaces the playlist by renaming a temp file, so the
// directory is watched (fs.watch: at once), with a slow poll of the file's stat as the fallback
// for file systems where inotify says nothing (network mounts, some containers).
import { watch } from 'node:fs';
import type { FSWatcher } from 'node:fs';
import { readdir, readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { playlistName, segmentPrefix } from './ffmpeg-args.ts';

export interface SegmentEntry {
  /** ffmpeg's index (from -start_number). */
  readonly index: number;
  readonly durationS: number;
}

export interface NewSegment extends SegmentEntry {
  /** Size of the segment file; 0 if it was already gone when looked at. */
  readonly bytes: number;
}

const segmentLine = new RegExp(`^${segmentPrefix}(\\d+)\\.ts$`);

/** The segments a worker playlist lists, in order (pure). */
export function parseWorkerPlaylist(text: string): { segments: SegmentEntry[]; ended: boolean } {
  const segments: SegmentEntry[] = [];
  let durationS = 0;
  let ended = false;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line.startsWith('#EXTINF:')) durationS = Number.parseFloat(line.slice(8)) || 0;
    else if (line === '#EXT-X-ENDLIST') ended = true;
    else {
      const match = segmentLine.exec(line);
      if (match !== null) segments.push({ index: Number(match[1]), durationS });
    }
  }
  return { segments, ended };
}

/** The highest complete segment index in `dir` (temp files do not count), or null if none:
 *  a restarted ffmpeg continues after it, so an epoch never reuses a number. */
export async function highestSegmentOnDisk(dir: string): Promise<number | null> {
  let highest: number | null = null;
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
  for (const name of names) {
    const match = segmentLine.exec(name);
    if (match !== null) highest = Math.max(highest ?? 0, Number(match[1]));
  }
  return highest;
}

/** Remove segments below index `keepFrom` and temp files (`*.tmp`) left by a killed ffmpeg. */
export async function pruneSegments(dir: string, keepFrom: number): Promise<void> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw err;
  }
  for (const name of names) {
    const match = segmentLine.exec(name);
    if (name.endsWith('.tmp') || (match !== null && Number(match[1]) < keepFrom)) await rm(join(dir, name), { force: true });
  }
}

export interface PlaylistWatcherInit {
  readonly dir: string;
  /** Fallback poll period. Default 1,000. */
  readonly pollMs?: number;
  /** Segments above this index are new. Default -1 (all). */
  readonly afterIndex?: number;
  /** Called in index order for each new segment. Must not throw. */
  readonly onSegment: (segment: NewSegment) => void;
}

export class PlaylistWatcher {
  readonly #dir: string;
  readonly #pollMs: number;
  readonly #onSegment: (segment: NewSegment) => void;
  #lastIndex: number;
  #watcher: FSWatcher | null = null;
  #timer: NodeJS.Timeout | null = null;
  #lastStamp = '';
  #current: Promise<void> | null = null;
  #dirty = false;
  #stopped = false;

  constructor(init: PlaylistWatcherInit) {
    this.#dir = init.dir;
    this.#pollMs = init.pollMs ?? 1_000;
    this.#lastIndex = init.afterIndex ?? -1;
    this.#onSegment = init.onSegment;
  }

  get lastIndex(): number {
    return this.#lastIndex;
  }

  start(): void {
    try {
      this.#watcher = watch(this.#dir, { persistent: false }, (_event, name) => {
        if (name === playlistName) this.#check(false);
      });
      // The directory vanished or the watch limit was hit: the poll carries on alone.
      this.#watcher.on('error', () => this.#closeWatch());
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === undefined) throw err;
      this.#watcher = null;
    }
    this.#timer = setInterval(() => this.#check(true), this.#pollMs);
    this.#timer.unref();
    this.#check(true);
  }

  /** Read the playlist now (after any read in progress), e.g. to see the final playlist of an
   *  ffmpeg that just exited before the next one replaces it. */
  async refresh(): Promise<void> {
    while (this.#current !== null) await this.#current;
    if (this.#stopped) return;
    this.#current = this.#guardedRead(false);
    await this.#current;
  }

  stop(): void {
    this.#stopped = true;
    this.#closeWatch();
    if (this.#timer !== null) clearInterval(this.#timer);
    this.#timer = null;
  }

  #closeWatch(): void {
    this.#watcher?.close();
    this.#watcher = null;
  }

  /** One read at a time; a change seen during a read is read again right after. */
  #check(byPoll: boolean): void {
    if (this.#stopped) return;
    if (this.#current !== null) {
      this.#dirty = true;
      return;
    }
    this.#current = this.#guardedRead(byPoll);
  }

  async #guardedRead(byPoll: boolean): Promise<void> {
    try {
      await this.#read(byPoll);
    } catch (err) {
      // Not there yet, or gone with its directory: the next event or poll looks again.
      if ((err as NodeJS.ErrnoException).code === undefined) throw err;
    } finally {
      this.#current = null;
    }
    if (this.#dirty) {
      this.#dirty = false;
      this.#check(false);
    }
  }

  async #read(byPoll: boolean): Promise<void> {
    const path = join(this.#dir, playlistName);
    if (byPoll) {
      // The poll reads only when the file changed: a stat is much cheaper than a read + parse.
      const info = await stat(path);
      const stamp = `${info.ino}:${info.mtimeMs}:${info.size}`;
      if (stamp === this.#lastStamp) return;
      this.#lastStamp = stamp;
    }
    const { segments } = parseWorkerPlaylist(await readFile(path, 'utf8'));
    for (const segment of segments) {
      if (this.#stopped || segment.index <= this.#lastIndex) continue;
      this.#lastIndex = segment.index;
      const bytes = await stat(join(this.#dir, `${segmentPrefix}${segment.index}.ts`)).then((s) => s.size, () => 0);
      this.#onSegment({ ...segment, bytes });
    }
  }
}
