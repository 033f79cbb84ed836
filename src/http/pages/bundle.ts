import { createHash } from 'node:crypto';
import { fileURLToPath } from 'node:url';

/** A built browser bundle, with its ETag. */
export interface Bundle {
  code: string;
  etag: string;
}

/**
 * A browser ES module bundled from a TypeScript entry with esbuild, built on first request and kept in
 * memory: nothing generated is committed or written to disk, so `npm start` on a fresh clone serves
 * it, and the page's code always matches the source it runs from (the app itself runs from source
 * under tsx). esbuild is a runtime dependency (tsx, which runs the app, needs it too). A failed build
 * is not remembered, so the next request tries again.
 */
export function lazyBundle(entry: URL): () => Promise<Bundle> {
  let built: Promise<Bundle> | undefined;
  return () => {
    built ??= build(fileURLToPath(entry)).catch((error: unknown) => {
      built = undefined;
      throw error;
    });
    return built;
  };
}

async function build(entryPoint: string): Promise<Bundle> {
  const esbuild = await import('esbuild');
  const result = await esbuild.build({
    entryPoints: [entryPoint],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2020',
    minify: true,
    legalComments: 'none',
    write: false,
    logLevel: 'silent',
  });
  const code = result.outputFiles[0]!.text;
  return { code, etag: `"${createHash('sha256').update(code).digest('base64url').slice(0, 27)}"` };
}
