/**
 * What a sandbox is told about itself, as Podman tells its containers, so that tools
 * that look for a container (systemd-detect-virt, toolbox- and distrobox-style scripts)
 * find one:
 * - /run/.containerenv, bound read-only (its existence is the signal). As Podman 4.x, it
 *   is empty unless the sandbox is --privileged; then it holds KEY="VALUE" lines:
 *   engine, name, id, image, imageid, rootless (1 unless root runs it). Podman keeps them from unprivileged
 *   containers (its engine version would help an attacker); we follow it. Our engine
 *   line is `engine="sandbox-VERSION"`: the same shape, and the truth about who runs it.
 * - the `container` environment variable of the command and of every exec: `podman`,
 *   what Podman sets. systemd's detection maps `podman` to its Podman type (with
 *   /run/.containerenv it would say the same), and scripts written for Podman compare
 *   with that word; our own word would read as "container-other" there and match no
 *   script. `-e container=...` still overrides it.
 * Pure.
 */

/** The value of `container` in the sandbox's environment. */
export const CONTAINER_ENV_VALUE = 'podman';

/** Where the file is, inside. */
export const CONTAINERENV_PATH = '/run/.containerenv';

declare const __SANDBOX_VERSION__: string;

/** The engine as the file names it: sandbox-VERSION. */
export function engineName(): string {
  return `sandbox-${typeof __SANDBOX_VERSION__ === 'string' ? __SANDBOX_VERSION__ : 'dev'}`;
}

export interface ContainerEnvInput {
  privileged: boolean;
  name: string;
  id: string;
  /** The image's name as inspect shows it (ImageName). */
  image: string;
  /** The image id, hex ('' for the host image or a --rootfs). */
  imageId: string;
  engine: string;
  /** Run by a user other than root (rootless=1), as always for us unless root runs it. */
  rootless: boolean;
}

/** The content of /run/.containerenv. */
export function containerEnvContent(input: ContainerEnvInput): string {
  if (!input.privileged) return '';
  const quote = (v: string) => `"${v.replace(/["\\\n]/g, (c) => (c === '\n' ? ' ' : `\\${c}`))}"`;
  return [
    `engine=${quote(input.engine)}`, `name=${quote(input.name)}`, `id=${quote(input.id)}`,
    `image=${quote(input.image)}`, `imageid=${quote(input.imageId)}`, `rootless=${input.rootless ? 1 : 0}`,
  ].join('\n') + '\n';
}
