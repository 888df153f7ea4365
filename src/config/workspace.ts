/** The job's workspace and the folders inside it: where a run may write files. Pure (path arithmetic only). */
import { isAbsolute, relative, resolve } from 'node:path';

/** GITHUB_WORKSPACE, as the runner sets it; outside a runner, the current directory. */
export function workspaceOf(env: Record<string, string | undefined>): string {
  return resolve((env.GITHUB_WORKSPACE ?? '').trim() || process.cwd());
}

/** Is `path` (absolute) a folder strictly inside `workspace` (absolute)? The workspace itself is not. */
export function isInside(path: string, workspace: string): boolean {
  const rel = relative(workspace, path);
  return rel !== '' && !rel.startsWith('..') && !isAbsolute(rel);
}

/** `value` (relative to the workspace, or absolute) as an absolute path, when it is inside the workspace. */
export function folderInWorkspace(value: string, workspace: string): string | undefined {
  const path = resolve(workspace, value);
  return isInside(path, workspace) ? path : undefined;
}
