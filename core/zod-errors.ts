// Zod errors as people read them: the path of the bad field, then what is wrong with it.
import type { z } from 'zod';

/** "field: reason" of a zod error's first issue; `more` counts the other issues of the same record. */
export function describeZodError(error: z.ZodError, prefix = ''): { field: string; reason: string } {
  const [first, ...rest] = error.issues;
  const path = [prefix, ...first.path.map(String)].filter((p) => p.length > 0).join('.');
  const more = rest.length ? ` (and ${rest.length} more issue${rest.length > 1 ? 's' : ''})` : '';
  return { field: path || '(record)', reason: first.message + more };
}

const pathOf = (issue: z.ZodError['issues'][number]) => (issue.path.length ? issue.path.join('.') : '(root)');

/** "path.of.field: message" of a zod error's first issue ("(root)" when the value as a whole is bad). */
export function firstIssue(error: z.ZodError): string {
  const issue = error.issues[0];
  return `${pathOf(issue)}: ${issue.message}`;
}

/** "file: field.path: message" for each problem, so a bad value is found at once. */
export function formatZodIssues(where: string, error: z.ZodError): string {
  return error.issues.map((i) => `${where}: ${pathOf(i)}: ${i.message}`).join('\n');
}
