/** The registry of CLI commands: one module per command (or family), listed here; the groups are made of them (groups.ts). */
import type { CommandModule } from 'yargs';
import { doctorCommand } from './doctor.js';
import { runCommand, createCommand } from './run.js';
import { psCommand } from './ps.js';
import { execCommand } from './exec.js';
import { cpCommand } from './cp.js';
import { topCommand } from './top.js';
import { statsCommand } from './stats.js';
import { importCommand } from './import.js';
import { pullCommand } from './pull.js';
import { pushCommand } from './push.js';
import { loginCommand, logoutCommand } from './login.js';
import { loadCommand } from './load.js';
import { saveCommand } from './save.js';
import {
  imagesCommand, rmiCommand, tagCommand, untagCommand, historyCommand,
} from './images.js';
import { commitCommand, exportCommand } from './commit.js';
import { logsCommand } from './logs.js';
import { versionCommand } from './version.js';
import { eventsCommand } from './events.js';
import { labelCommand } from './label.js';
import { infoCommand } from './info.js';
import { completionCommand } from './completion.js';
import { groupCommands } from './groups.js';
import { healthcheckCommand } from './healthcheck.js';
import { attachCommand } from './attach.js';
import { diffCommand } from './diff.js';
import { unshareCommand, mountCommand, unmountCommand } from './unshare.js';
import { portCommand } from './port.js';
import { pauseCommand, unpauseCommand } from './pause.js';
import { updateCommand } from './update.js';
import {
  stopCommand, killCommand, startCommand, rmCommand, inspectCommand, restartCommand, waitCommand, renameCommand,
} from './lifecycle.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export const commands: CommandModule<any, any>[] = [runCommand, createCommand, execCommand, cpCommand, topCommand, statsCommand, psCommand, stopCommand, killCommand, startCommand, rmCommand, inspectCommand, restartCommand, waitCommand, renameCommand, logsCommand, eventsCommand, labelCommand, importCommand, loadCommand, saveCommand, pullCommand, pushCommand, loginCommand, logoutCommand, imagesCommand, rmiCommand, tagCommand, untagCommand, historyCommand, commitCommand, exportCommand, infoCommand, completionCommand, healthcheckCommand, attachCommand, diffCommand, unshareCommand, mountCommand, unmountCommand, doctorCommand, versionCommand];

commands.push(portCommand);
commands.push(pauseCommand, unpauseCommand, updateCommand);

// Podman's groups (`container ls`, `image rm`, `volume`, `system`): the commands above under their group names.
commands.push(...groupCommands(commands));
