// node scripts/sea/bundle.ts --out-dir DIR --version V --commit C
// Step 1 of scripts/build-exe.sh: bundles node/main.ts into one CommonJS file (DIR/ottmesh.cjs,
// the form a Node single executable runs) and writes DIR/sea-config.json listing it and the
// assets the executable carries: the classic-level addon for linux-x64 and the dashboard files.
// Fails when the bundle would need anything at run time that the executable does not carry.
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire, isBuiltin } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';

import { build } from 'esbuild';
import type { Metafile, Plugin } from 'esbuild';

const root = resolve(import.meta.dirname, '../..');
/** The asset name node/exe-addon.ts loads classic-level's binding from. */
const addonAssetName = 'classic-level.node';
/** classic-level's prebuilt addon for glibc linux-x64 (the musl one sits beside it). */
const addonPrebuild = 'prebuilds/linux-x64/classic-level.node';

function parse(): { outDir: string; version: string; commit: string } {
  const { values } = parseArgs({ options: { 'out-dir': { type: 'string' }, version: { type: 'string' }, commit: { type: 'string' } } });
  const outDir = values['out-dir'];
  const { version, commit } = values;
  if (outDir === undefined || version === undefined || commit === undefined) {
    console.error('usage: node scripts/sea/bundle.ts --out-dir DIR --version V --commit C');
    process.exit(2);
  }
  return { outDir: resolve(outDir), version, commit };
}

/** Replaces native addons: classic-level's binding (node-gyp-build looking beside the package)
 *  with the embedded copy, and any other `.node` file (optional speed-ups of ssh2, which fall
 *  back to JavaScript when requiring them throws) with a module that throws. Records where
 *  classic-level is, for its asset. */
function nativeAddons(found: { classicLevelDir: string | null }): Plugin {
  const addonLoader = join(root, 'node/exe-addon.ts');
  return {
    name: 'ottmesh-native-addons',
    setup(b) {
      b.onResolve({ filter: /^\.\/binding(\.js)?$/ }, (args) => {
        if (!/[\\/]node_modules[\\/]classic-level[\\/]/.test(args.importer)) return undefined;
        found.classicLevelDir = dirname(args.importer);
        return { path: 'classic-level-binding', namespace: 'ottmesh-embedded' };
      });
      b.onLoad({ filter: /.*/, namespace: 'ottmesh-embedded' }, () => ({
        contents: `module.exports = require(${JSON.stringify(addonLoader)}).lazyEmbeddedAddon(${JSON.stringify(addonAssetName)});`,
        resolveDir: root,
        loader: 'js',
      }));
      b.onResolve({ filter: /\.node$/ }, (args) => ({ path: args.path, namespace: 'ottmesh-no-addon' }));
      b.onLoad({ filter: /.*/, namespace: 'ottmesh-no-addon' }, (args) => ({
        contents: `throw new Error(${JSON.stringify(`the native addon ${args.path} is not built into the ottmesh executable`)});`,
        loader: 'js',
      }));
    },
  };
}

/** What the bundle still loads at run time besides Node's built-in modules: a single executable
 *  can load nothing else (its require() knows only built-ins), so each one is a build error. */
function runtimeImports(meta: Metafile): string[] {
  const found = new Set<string>();
  for (const [file, input] of Object.entries(meta.inputs)) {
    for (const imp of input.imports) {
      if (imp.external === true && !isBuiltin(imp.path)) found.add(`${file}: ${imp.kind} ${imp.path}`);
    }
  }
  return [...found].sort();
}

/** bin/node-flags: one Node flag per line, # comments. */
function nodeFlags(): string[] {
  return readFileSync(join(root, 'bin/node-flags'), 'utf8').split('\n').map((line) => line.trim()).filter((line) => line !== '' && !line.startsWith('#'));
}

/** Every file under `dir`, as paths relative to it. */
function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => relative(dir, join(e.parentPath, e.name)))
    .sort();
}

async function main(): Promise<void> {
  const { outDir, version, commit } = parse();
  const bundle = join(outDir, 'ottmesh.cjs');
  const found: { classicLevelDir: string | null } = { classicLevelDir: null };
  const result = await build({
    entryPoints: [join(root, 'node/main.ts')],
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node24',
    outfile: bundle,
    metafile: true,
    logLevel: 'warning',
    // Node keeps the bundle's source in memory for the life of the process: minified (names kept,
    // for readable stack traces) and pure ASCII (a one-byte string) it takes less room.
    minifyWhitespace: true,
    minifySyntax: true,
    charset: 'ascii',
    // The dependencies' license notices go to ottmesh.cjs.LEGAL.txt, carried as an asset.
    legalComments: 'external',
    plugins: [nativeAddons(found)],
    define: {
      OTTMESH_VERSION: JSON.stringify(version),
      OTTMESH_COMMIT: JSON.stringify(commit),
      // CommonJS has no import.meta: give the few uses (all outside the executable's paths, see
      // docs/executable.md) the executable's own location instead of undefined.
      'import.meta.url': '__ottmeshImportMetaUrl',
      'import.meta.dirname': '__dirname',
      'import.meta.filename': '__filename',
    },
    banner: { js: 'var __ottmeshImportMetaUrl = require("node:url").pathToFileURL(__filename).href;' },
  });
  const unbundled = runtimeImports(result.metafile);
  if (unbundled.length > 0) throw new Error(`the bundle would load these at run time, which a single executable cannot:\n  ${unbundled.join('\n  ')}`);
  if (found.classicLevelDir === null) throw new Error("classic-level's binding was not replaced (does it still require './binding'?): update scripts/sea/bundle.ts");

  const legal = `${bundle}.LEGAL.txt`;
  if (!existsSync(legal)) writeFileSync(legal, ''); // esbuild writes it only when it found notices
  const assets: Record<string, string> = { [addonAssetName]: join(found.classicLevelDir, addonPrebuild), 'LEGAL.txt': legal };
  for (const file of filesUnder(join(root, 'ui'))) assets[`ui/${file}`] = join(root, 'ui', file);
  const hlsPackage = createRequire(join(root, 'package.json')).resolve('hls.js/package.json');
  assets['ui/hls.min.js'] = join(dirname(hlsPackage), 'dist/hls.min.js');
  const config = {
    main: bundle,
    output: join(outDir, 'sea-prep.blob'),
    disableExperimentalSEAWarning: true,
    // V8's compiled code for the bundle: starts about 200 ms sooner (docs/executable.md). Older
    // Node releases broke import() with it; 24.21 does not, and esbuild turns the bundle's own
    // import() calls into require() anyway.
    useCodeCache: true,
    useSnapshot: false,
    // The flags bin/ottmesh runs every node with (bin/node-flags): the executable applies them
    // itself, as if given on Node's command line.
    execArgv: nodeFlags(),
    assets,
  };
  writeFileSync(join(outDir, 'sea-config.json'), `${JSON.stringify(config, null, 2)}\n`);
}

main().catch((err: unknown) => {
  console.error(`bundle: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
