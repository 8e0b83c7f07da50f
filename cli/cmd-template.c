/* cmd-template.c - drover template verbs. (placeholder replaced by its module's work) */
#include "config.h"

#include "cli/cli.h"

int
cmd_template_render(struct cli *cli, int argc, char **argv)
{
	return cli_fail("template: not built in this revision");
}
