// The folders a worker may read campaign data from (PIVOTRL_DATA_ROOTS): a config cannot make a worker read any
// other file on its machine (its keys, /proc/self/environ). Paths are compared after resolving `..` and symlinks.
import { realpathSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { BadInputError } from './jsonl-reader';

/** PIVOTRL_DATA_ROOTS (colon-separated folders), or else the worker's working directory. */
export function dataRoots(env: NodeJS.ProcessEnv = process.env): string[] {
  const listed = (env.PIVOTRL_DATA_ROOTS ?? '').split(':').filter((r) => r.trim() !== '');
  return (listed.length ? listed : [process.cwd()]).map(realPath);
}

/** The path with `..` and every symlink resolved; a part that does not exist (yet) is kept as written. */
function realPath(path: string): string {
  const absolute = resolve(path);
  try {
    return realpathSync(absolute);
  } catch {
    const parent = dirname(absolute);
    return parent === absolute ? absolute : join(realPath(parent), basename(absolute));
  }
}

const isWithin = (root: string, path: string) => {
  const rel = relative(root, path);
  return rel === '' || (!rel.startsWith(`..${sep}`) && rel !== '..' && !isAbsolute(rel));
};

/**
 * Refuses (BadInputError naming the field and the path) any path that is not under one of `roots` once resolved.
 * `paths`: [config field, path] pairs.
 */
export function assertUnderDataRoots(paths: [field: string, path: string][], roots: string[] = dataRoots()): void {
  const outside = paths.filter(([, path]) => !roots.some((root) => isWithin(root, realPath(path))));
  if (outside.length === 0) return;
  const list = outside.map(([field, path]) => `${field}: ${path} is outside the data roots`).join('; ');
  throw new BadInputError(`${list} (${roots.join(':')}; a worker reads data only under PIVOTRL_DATA_ROOTS)`);
}
