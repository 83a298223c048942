#!/usr/bin/env node
/** The `wdknet` command line. */
import { Command } from 'commander';

const program = new Command();
program.name('wdknet').description('The Windows kernel network data path, in user mode, on real traffic.');
program
  .command('run')
  .description('run the main job')
  .action(() => {
    console.log('wdknet: the host and the main job are being built; see the README.');
  });
program.parse();
