import { readFile } from 'node:fs/promises';
import path from 'node:path';
import t from 'tap';
import ts from 'typescript';

/** The README's TypeScript blocks that use the client (others are one-line excerpts of server code). */
async function clientExamples(): Promise<string[]> {
  const readme = await readFile('README.md', 'utf8');
  const blocks = [...readme.matchAll(/^```ts\n([\s\S]*?)^```$/gm)].map((match) => match[1]!);
  return blocks.filter((block) => block.includes("from 'onboarding-service/client'"));
}

/** What the example leaves to the page around it; anything else it uses must exist. */
const PAGE = `
declare function showBadge(status: import('onboarding-service/client').SaveStatus): void;
declare const form: { reset(data: Record<string, unknown>): void; onChange(listener: (data: Record<string, unknown>, step: string) => void): void };
export {};
`;

/**
 * Type-checks `source` as a module of this package (so 'onboarding-service/client' resolves through
 * package.json's exports), in a browser (DOM) and with the project's strict options.
 */
function typeErrors(source: string): string[] {
  const file = path.resolve('test/client/readme-example.generated.ts');
  const options: ts.CompilerOptions = {
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    strict: true,
    noUnusedLocals: true,
    skipLibCheck: true,
    noEmit: true,
    lib: ['lib.es2022.d.ts', 'lib.dom.d.ts'],
    types: [],
  };
  const host = ts.createCompilerHost(options);
  const { getSourceFile, fileExists, readFile: read } = host;
  host.fileExists = (name) => name === file || fileExists(name);
  host.readFile = (name) => (name === file ? source : read(name));
  host.getSourceFile = (name, language, ...rest) => (name === file ? ts.createSourceFile(name, source, language) : getSourceFile(name, language, ...rest));
  const program = ts.createProgram([file], options, host);
  return ts
    .getPreEmitDiagnostics(program)
    .map((diagnostic) => `${diagnostic.file ? path.relative('.', diagnostic.file.fileName) : ''}: ${ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n')}`);
}

t.test('the README\'s TypeScript example of the client and the AutoSaver type-checks against the client', async (t) => {
  const blocks = await clientExamples();
  t.ok(blocks.some((block) => block.includes('createOnboardingClient(') && block.includes('new AutoSaver(')), 'the README shows the client and the AutoSaver');
  for (const block of blocks) t.same(typeErrors(`${PAGE}\n${block}`), [], 'no type error');
});

t.test('the check can fail: an example that misuses the client is refused', async (t) => {
  const [block] = (await clientExamples()).filter((example) => example.includes('new AutoSaver('));
  const broken = block!.replace("saver.resolveConflict('mine')", "saver.resolveConflict('yours')");
  t.not(broken, block, 'the mutation applies');
  t.match(typeErrors(`${PAGE}\n${broken}`).join('\n'), /'"yours"' is not assignable/);
});
