/**
 * The static import graph of the repository's TypeScript: which files and packages a module loads
 * when it is imported, before any `import()` runs. Read from the source text (type-only imports
 * and exports are left out: tsc erases them). Used to keep the CLI's start-up light.
 */
import { existsSync, readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO = fileURLToPath(new URL('../../../', import.meta.url));

/** Specifiers a module imports statically at run time. Pure. */
export function staticImports(source: string): string[] {
  const specifiers: string[] = [];
  const statement = /(?:^|\n)\s*(import|export)\s+(type\s+)?([^'";]*?)\s*from\s*['"]([^'"]+)['"]/g;
  for (const m of source.matchAll(statement)) {
    if (m[2] !== undefined) continue;
    const braces = /^\{([^}]*)\}$/.exec(m[3]!.trim());
    const names = braces?.[1]
      ?.split(',')
      .map((n) => n.trim())
      .filter((n) => n !== '');
    if (names !== undefined && names.length > 0 && names.every((n) => n.startsWith('type '))) continue;
    specifiers.push(m[4]!);
  }
  for (const m of source.matchAll(/(?:^|\n)\s*import\s*['"]([^'"]+)['"]/g)) specifiers.push(m[1]!);
  return specifiers;
}

/** The package a bare specifier names (`@scope/pkg/sub` → `@scope/pkg`); undefined for files and builtins. */
export function packageOf(specifier: string): string | undefined {
  if (specifier.startsWith('.') || specifier.startsWith('/') || specifier.startsWith('node:') || builtinModules.includes(specifier.split('/')[0]!)) return undefined;
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0];
}

/** Repository files (relative paths) and packages `entry` (a repository path) loads statically. */
export function staticGraph(entry: string): { files: string[]; packages: string[] } {
  const files = new Set<string>();
  const packages = new Set<string>();
  const visit = (file: string): void => {
    if (files.has(file)) return;
    files.add(file);
    for (const specifier of staticImports(readFileSync(join(REPO, file), 'utf8'))) {
      const name = packageOf(specifier);
      if (name !== undefined) packages.add(name);
      else if (specifier.startsWith('.')) {
        const target = relative(REPO, join(REPO, dirname(file), specifier.replace(/\.js$/, '.ts')));
        if (!existsSync(join(REPO, target))) throw new Error(`${file} imports ${specifier}: ${target} does not exist`);
        visit(target);
      }
    }
  };
  visit(entry);
  return { files: [...files].sort(), packages: [...packages].sort() };
}
