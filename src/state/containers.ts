/**
 * Sandbox records: one directory per sandbox under <data>/containers/<id>, holding
 * `container.json` (written atomically) and its writable layer. Names are reserved
 * by creating <data>/names/<name> exclusively, so two racing `run --name x` can never
 * both win and no store-wide lock is held while a sandbox runs.
 */
import { mkdirSync, openSync, writeSync, closeSync, readFileSync, unlinkSync, existsSync, rmSync } from 'node:fs';
import { randomHex } from './random.js';
import { join } from 'node:path';
import { SandboxError } from '../errors.js';
import { writeJsonAtomic, readJsonIfExists } from './atomic.js';
import type { StorePaths } from './paths.js';
import type { RunRequest } from '../api/types.js';

export type ContainerStatus = 'created' | 'running' | 'exited';

export interface ContainerState {
  status: ContainerStatus;
  pid?: number;
  startedAt?: string;
  finishedAt?: string;
  exitCode?: number;
  error?: string;
}

export interface ContainerRecord {
  id: string;
  name: string;
  created: string;
  image: string;
  imageId?: string;
  command: string[];
  hostname: string;
  request: RunRequest;
  state: ContainerState;
}

export const NAME_PATTERN = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;

export function containersDir(paths: StorePaths): string {
  return join(paths.data, 'containers');
}

export function containerDir(paths: StorePaths, id: string): string {
  return join(containersDir(paths), id);
}

function namesDir(paths: StorePaths): string {
  return join(paths.data, 'names');
}

export function newContainerId(): string {
  return randomHex(32);
}

/**
 * Reserves `name` for `id`. A reservation whose sandbox directory no longer exists
 * (its command was killed before it could clean up) is stale and taken over.
 */
export function reserveName(paths: StorePaths, name: string, id: string): void {
  if (!NAME_PATTERN.test(name)) {
    throw new SandboxError(`invalid sandbox name "${name}"`, { hint: 'names match [a-zA-Z0-9][a-zA-Z0-9_.-]*' });
  }
  mkdirSync(namesDir(paths), { recursive: true });
  const file = join(namesDir(paths), name);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(file, 'wx', 0o644);
      writeSync(fd, id);
      closeSync(fd);
      return;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      let owner = '';
      try { owner = readFileSync(file, 'utf8').trim(); } catch { /* removed meanwhile: retry */ continue; }
      if (owner && existsSync(containerDir(paths, owner))) {
        throw new SandboxError(`the name "${name}" is already in use by sandbox ${owner.slice(0, 12)}`, {
          hint: `remove that sandbox (sandbox rm ${name}) or choose another --name`,
        });
      }
      try { unlinkSync(file); } catch { /* someone else took it over: retry decides */ }
    }
  }
  throw new SandboxError(`the name "${name}" is already in use`, { hint: 'choose another --name' });
}

export function releaseName(paths: StorePaths, name: string, id: string): void {
  const file = join(namesDir(paths), name);
  try {
    if (readFileSync(file, 'utf8').trim() === id) unlinkSync(file);
  } catch { /* already released */ }
}

export function writeRecord(paths: StorePaths, record: ContainerRecord): void {
  writeJsonAtomic(join(containerDir(paths, record.id), 'container.json'), record);
}

export function readRecord(paths: StorePaths, id: string): ContainerRecord | undefined {
  return readJsonIfExists<ContainerRecord>(join(containerDir(paths, id), 'container.json'));
}

/** Creates the sandbox's directory and first record; undoes the name on failure. */
export function createContainer(paths: StorePaths, record: ContainerRecord): string {
  reserveName(paths, record.name, record.id);
  const dir = containerDir(paths, record.id);
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    writeRecord(paths, record);
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    releaseName(paths, record.name, record.id);
    throw err;
  }
  return dir;
}
