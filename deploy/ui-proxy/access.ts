// What each role of the login proxy may ask the Temporal UI server: the rule the UI server applies itself when its
// write actions are disabled (GET, and POST of a workflow query), here per user.
import type { Role } from './users';

const QUERY = /^\/api\/v1\/namespaces\/[^/]+\/workflows\/[^/]+\/query\/[^/]+$/;

/** Whether a path segment is, or decodes to, `.` or `..` (which a server behind might resolve). */
const dotSegment = (segment: string) => {
  try {
    return /^\.{1,2}$/.test(decodeURIComponent(segment));
  } catch {
    return true; // a malformed escape: treat as hostile
  }
};

/** Whether `role` may send `method` to `path` (the request's path, without its query string). */
export function mayPass(role: Role, method: string, path: string): boolean {
  if (role === 'ops') return true;
  if (method === 'GET' || method === 'HEAD') return true;
  // A query runs the workflow's read-only query handler: the UI shows a workflow's current details and stack trace so.
  return method === 'POST' && QUERY.test(path) && !path.split('/').some(dotSegment);
}
