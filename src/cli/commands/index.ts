/** The registry of CLI commands: one module per command (or family), listed here. */
import type { CommandModule } from 'yargs';
import { doctorCommand } from './doctor.js';
import { runCommand } from './run.js';
import { importCommand } from './import.js';
import { logsCommand } from './logs.js';
import { versionCommand } from './version.js';
import { volumeCommand } from './volume.js';
import { eventsCommand } from './events.js';
import { labelCommand } from './label.js';
import { psCommand, stopCommand, killCommand, startCommand, rmCommand, inspectCommand } from './lifecycle.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export const commands: CommandModule<any, any>[] = [runCommand, psCommand, stopCommand, killCommand, startCommand, rmCommand, inspectCommand, logsCommand, eventsCommand, labelCommand, importCommand, volumeCommand, doctorCommand, versionCommand];
