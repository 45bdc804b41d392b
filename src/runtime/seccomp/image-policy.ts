/**
 * `--seccomp-policy=image` (Podman's): the sandbox's seccomp profile is the one its image
 * carries, the JSON text of its `io.containers.seccomp.profile` label; an image without
 * one is refused, as Podman refuses it. A profile given with --security-opt seccomp=
 * wins over the image's. The default policy is the default profile.
 */
import { SandboxError } from '../../errors.js';
import type { RunRequest } from '../../types.js';

export const IMAGE_SECCOMP_LABEL = 'io.containers.seccomp.profile';
/** RunRequest.seccomp of a sandbox whose profile came from its image (its rules are kept in its directory at create). */
export const IMAGE_SECCOMP = `image:${IMAGE_SECCOMP_LABEL}`;

/** `--seccomp-policy` as given: `default` (nothing to keep) or `image`. */
export function parseSeccompPolicy(value: string | undefined): { seccompPolicy?: 'image' } {
  if (value === undefined || value === 'default') return {};
  if (value === 'image') return { seccompPolicy: 'image' };
  throw new SandboxError(`invalid seccomp policy "${value}": valid policies are "default" and "image"`, { hint: '--seccomp-policy=image takes the profile from the image\'s io.containers.seccomp.profile label' });
}

/**
 * The profile text the image gives (with the request marked as running under it), or
 * undefined when the policy is not `image` or a profile was given explicitly.
 */
export function imageSeccompProfile(request: RunRequest, labels: Record<string, string> | undefined, image: string): { request: RunRequest; text: string } | undefined {
  if (request.seccompPolicy !== 'image' || request.seccomp !== undefined || request.privileged) return undefined;
  const text = labels?.[IMAGE_SECCOMP_LABEL];
  if (text === undefined || text.trim() === '') {
    throw new SandboxError(`no seccomp policy defined by image ${image}: it has no ${IMAGE_SECCOMP_LABEL} label`, {
      hint: `leave --seccomp-policy=image out (the default profile), or give one: --security-opt seccomp=PROFILE.json`,
    });
  }
  return { request: { ...request, seccomp: IMAGE_SECCOMP }, text };
}
