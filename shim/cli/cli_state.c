/* vboxfix state: inspect and edit recorded owners and modes. Waits for the
 * store's enumeration/import/export API (store.h); until then the command
 * says so instead of guessing at the store's format. */
#include "cli.h"

#include <string.h>

int cmd_state(int argc, char **argv)
{
	if (argc > 1 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
		fputs("Usage: vboxfix state list|forget PATH|export|import FILE [--path DIR]\n"
		      "\n"
		      "Not available in this build: the state store does not offer enumeration\n"
		      "yet. Records live with each share (see libvboxfix(7), VBOXFIX_STATE).\n",
		      stdout);
		return CLI_OK;
	}
	cli_err("state: not available in this build (the store cannot be listed yet); see libvboxfix(7)");
	return CLI_USAGE;
}
