/* SPDX-License-Identifier: MIT */
/* vboxfix: run programs with libvboxfix, diagnose shares, inspect state.
 *
 *   vboxfix exec [options] [--] COMMAND [ARGS...]
 *   vboxfix doctor [--json] [--user USER] [PATH...]
 *   vboxfix state list|forget|export|import|compact ...
 *   vboxfix stats [exec options] [[--] COMMAND [ARGS...]]
 */
#include "cli.h"

#include <string.h>

static const char usage_text[] =
	"Usage: vboxfix COMMAND [OPTIONS] [ARGS...]\n"
	"\n"
	"Make files on VirtualBox shared folders (and other shares) look and behave\n"
	"like the service's own, by running programs with libvboxfix.so preloaded.\n"
	"\n"
	"Commands:\n"
	"  exec [options] [--] COMMAND [ARGS...]\n"
	"                 run COMMAND with the library preloaded (same pid)\n"
	"  doctor [--json] [--user USER] [PATH...]\n"
	"                 probe what each share refuses, and whether USER can write\n"
	"  state list|forget|export|import|compact\n"
	"                 inspect and edit recorded owners and modes\n"
	"  stats [exec options] [[--] COMMAND [ARGS...]]\n"
	"                 how to get per-process counters; with a command, run it\n"
	"                 and print the counters of every process under it\n"
	"\n"
	"Options:\n"
	"  -h, --help     show this help (or 'vboxfix COMMAND --help')\n"
	"  -V, --version  show the version and the library exec would load\n"
	"\n"
	"Exit status: that of COMMAND for exec and stats; 0 fine, 1 action needed\n"
	"(doctor, state), 125 vboxfix's own error (usage, bad value, setup),\n"
	"126/127 command not executable / not found.\n"
	"See vboxfix(1) and libvboxfix(7).\n";

int main(int argc, char **argv)
{
	if (argc < 2)
		return cli_usage(NULL, "missing command (exec, doctor, state, stats)");
	const char *cmd = argv[1];
	if (!strcmp(cmd, "-h") || !strcmp(cmd, "--help") || !strcmp(cmd, "help")) {
		if (argc > 2 && strcmp(cmd, "help") == 0) {
			char *sub[] = {argv[2], "--help", NULL};
			if (!strcmp(argv[2], "exec"))
				return cmd_exec(2, sub, 0);
			if (!strcmp(argv[2], "doctor"))
				return cmd_doctor(2, sub);
			if (!strcmp(argv[2], "state"))
				return cmd_state(2, sub);
			if (!strcmp(argv[2], "stats"))
				return cmd_stats(2, sub);
			return cli_usage(NULL, "unknown command '%s'", argv[2]);
		}
		fputs(usage_text, stdout);
		return CLI_OK;
	}
	if (!strcmp(cmd, "-V") || !strcmp(cmd, "--version")) {
		cli_print_version();
		return CLI_OK;
	}
	if (!strcmp(cmd, "exec"))
		return cmd_exec(argc - 1, argv + 1, 0);
	if (!strcmp(cmd, "doctor"))
		return cmd_doctor(argc - 1, argv + 1);
	if (!strcmp(cmd, "state"))
		return cmd_state(argc - 1, argv + 1);
	if (!strcmp(cmd, "stats"))
		return cmd_stats(argc - 1, argv + 1);
	if (cmd[0] == '-')
		return cli_usage(NULL, "unknown option '%s'", cmd);
	return cli_usage(NULL, "unknown command '%s'", cmd);
}
