/* SPDX-License-Identifier: GPL-2.0-or-later */
/* STUB: replaced by the plugin work. */
#include "plugin.h"
int pb_exec_main(int argc, char **argv) { g_printerr("exec: not implemented\n"); return 1; }
