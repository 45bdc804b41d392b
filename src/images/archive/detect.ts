/**
 * Which format an image archive is, from the files it holds. Docker 25+ writes both an
 * OCI layout and manifest.json: manifest.json wins then, since its RepoTags carry full
 * names where Docker's index.json carries only tags. Pure.
 */
import { SandboxError } from '../../errors.js';
import { INDEX_FILE, LAYOUT_FILE } from './oci-archive.js';

export type ArchiveFormat = 'docker-archive' | 'oci-archive';

export const DOCKER_MANIFEST = 'manifest.json';
export const DOCKER_REPOSITORIES = 'repositories';

export function detectArchiveFormat(has: (path: string) => boolean): ArchiveFormat {
  if (has(DOCKER_MANIFEST)) return 'docker-archive';
  if (has(INDEX_FILE) && has(LAYOUT_FILE)) return 'oci-archive';
  if (has(DOCKER_REPOSITORIES)) {
    throw new SandboxError('this docker-archive is in the pre-1.10 format (no manifest.json), which is not supported', {
      hint: 'save it again with a current Docker or Podman',
    });
  }
  throw new SandboxError('not an image archive: it has neither manifest.json (docker-archive) nor oci-layout and index.json (oci-archive)', {
    hint: 'load takes what `docker save`, `podman save` or `sandbox save` wrote; for a root filesystem tarball use `sandbox import TARBALL NAME`',
  });
}
