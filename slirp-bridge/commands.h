/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * commands.h: the subcommands' command lines, beside main.c (the work is
 * done in plugin/, the way libcrun does it for crun).
 */
#ifndef SB_COMMANDS_H
#define SB_COMMANDS_H

#include <glib.h>

G_BEGIN_DECLS

/* `slirpbypass seccomp-profile ...`: argv[0] is "seccomp-profile".
 * Returns: the exit status. */
int sb_cmd_profile_main(int argc, char **argv);
/* `slirpbypass exec ...`: argv[0] is "exec".  Returns only on failure
 * (125/126/127) or after --help (0). */
int sb_cmd_exec_main(int argc, char **argv);

/* `slirpbypass agent ...`: argv[0] is "agent".  Returns the exit status
 * (0 after a signal). */
int sb_cmd_agent_main(int argc, char **argv);

G_END_DECLS

#endif /* SB_COMMANDS_H */
