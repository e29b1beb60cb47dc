import { defineConfig } from "vitest/config";

const ENTRY = decodeURIComponent(new URL("./src/main.ts", import.meta.url).pathname);

type ModuleInfo = { importedIds: readonly string[] } | null;
let bootModules: Set<string> | undefined;

/** What the entry imports statically (the DICOMweb requests a study opens with, the hanging
 * protocol, the preload helper) goes in a "boot" chunk, so that the viewer chunk, which shares
 * these modules, imports them from chunks/ and never from the entry: the entry is reached under
 * two names (viewer.js and Django's hashed copy), and a module imported under both would run twice. */
function bootChunk(id: string, meta: { getModuleInfo(id: string): ModuleInfo }): string | undefined {
  if (!bootModules) {
    bootModules = new Set();
    const queue = [...(meta.getModuleInfo(ENTRY)?.importedIds ?? [])];
    for (let next = queue.pop(); next !== undefined; next = queue.pop()) {
      if (bootModules.has(next)) continue;
      bootModules.add(next);
      queue.push(...(meta.getModuleInfo(next)?.importedIds ?? []));
    }
  }
  return bootModules.has(id) ? "boot" : undefined;
}

// The viewer is built into the frontend app's static folder (gitignored) so Django's
// staticfiles finds it; collectstatic then adds its own hashed copies (manifest storage).
// The entry keeps a stable name (viewer.js): the template asks {% static %} for it and Django
// hashes it; every other chunk, worker and wasm file already carries Vite's content hash and
// is loaded relative to the entry, so both the plain and the hashed entry find them.
export default defineConfig({
  base: "./",
  build: {
    outDir: "static/frontend/viewer",
    emptyOutDir: true,
    target: "es2022",
    sourcemap: false,
    chunkSizeWarningLimit: 4096,
    rollupOptions: {
      input: { viewer: "src/main.ts" },
      output: {
        entryFileNames: "[name].js",
        chunkFileNames: "chunks/[name]-[hash].js",
        manualChunks: bootChunk,
        assetFileNames: "assets/[name]-[hash][extname]",
      },
    },
  },
  resolve: {
    // vtk.js's XML reader (never called here) pulls in xmlbuilder2, which extends Node's EventEmitter.
    alias: {
      events: decodeURIComponent(new URL("./src/shims/events.ts", import.meta.url).pathname),
      // ndarray (used by @cornerstonejs/adapters for SEG) compiles code with new Function: CSP forbids it.
      ndarray: decodeURIComponent(new URL("./src/shims/ndarray.ts", import.meta.url).pathname),
    },
  },
  worker: { format: "es" },
  optimizeDeps: { exclude: ["@cornerstonejs/dicom-image-loader"], include: ["dicom-parser"] },
  test: { include: ["src/**/*.test.ts", "tests/**/*.test.ts"], environment: "node" },
});
