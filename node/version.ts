// Which ottmesh this is: the package version and the commit it was built from. A bundle or
// executable has both baked in at build time (scripts/build.sh defines them); from the sources
// they are read from package.json and git once, on first use.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

declare const OTTMESH_VERSION: string | undefined;
declare const OTTMESH_COMMIT: string | undefined;

export interface BuildInfo {
  readonly version: string;
  /** Short commit id, with "-dirty" when built from a tree with uncommitted changes; "unknown"
   *  outside a git checkout. */
  readonly commit: string;
}

let cached: BuildInfo | null = null;

/** The same version and commit (a target build, another node's report, an executable's own). */
export function sameBuild(a: BuildInfo, b: BuildInfo): boolean {
  return a.version === b.version && a.commit === b.commit;
}

export function buildInfo(): BuildInfo {
  cached ??= typeof OTTMESH_VERSION === 'string' && typeof OTTMESH_COMMIT === 'string'
    ? { version: OTTMESH_VERSION, commit: OTTMESH_COMMIT }
    : fromSources();
  return cached;
}

/** What `ottmesh --version` prints. */
export function versionText(): string {
  const { version, commit } = buildInfo();
  return `ottmesh ${version} (commit ${commit})`;
}

function fromSources(): BuildInfo {
  const root = new URL('..', import.meta.url);
  const version = (JSON.parse(readFileSync(new URL('package.json', root), 'utf8')) as { version: string }).version;
  return { version, commit: gitCommit(root.pathname) };
}

/** The checkout's commit, as scripts/build.sh records it too. */
export function gitCommit(dir: string): string {
  try {
    const git = (args: string[]) => execFileSync('git', args, { cwd: dir, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 5000 });
    const head = git(['rev-parse', '--short=12', 'HEAD']).trim();
    const dirty = git(['status', '--porcelain', '--untracked-files=no']).trim() !== '';
    return dirty ? `${head}-dirty` : head;
  } catch {
    return 'unknown';
  }
}
