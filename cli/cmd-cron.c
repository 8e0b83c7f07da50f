/* cmd-cron.c - drover cron verbs. (placeholder replaced by its module's work) */
#include "config.h"

#include "cli/cli.h"

int
cmd_cron_next(struct cli *cli, int argc, char **argv)
{
	return cli_fail("cron: not built in this revision");
}
