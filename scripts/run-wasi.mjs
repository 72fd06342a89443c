// Runs a wasm32-wasip1 command under Node's WASI (Node >= 20):
//   node scripts/run-wasi.mjs path/to/cryptolens.wasm [args...]
// The current directory and / are preopened so relative and absolute file arguments both
// work; the exit code is passed through.
import { readFile } from 'node:fs/promises';
import { WASI } from 'node:wasi';
import process from 'node:process';

const [wasmPath, ...args] = process.argv.slice(2);
if (!wasmPath) {
  process.stderr.write('usage: node scripts/run-wasi.mjs FILE.wasm [args...]\n');
  process.exit(2);
}

const wasi = new WASI({
  version: 'preview1',
  args: ['cryptolens', ...args],
  env: {},
  preopens: { '.': process.cwd(), '/': '/' },
  returnOnExit: true,
});
const module = await WebAssembly.compile(await readFile(wasmPath));
const instance = await WebAssembly.instantiate(module, wasi.getImportObject());
process.exitCode = wasi.start(instance);
