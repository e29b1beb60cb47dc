import { defineConfig } from "vitest/config";

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
