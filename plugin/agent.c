/* SPDX-License-Identifier: GPL-2.0-or-later */
/* STUB: replaced by the plugin work. */
#include "plugin.h"
G_DEFINE_QUARK(pb-error-quark, pb_error)
struct PbAgent { int dummy; };
PbAgent *pb_agent_new(const PbAgentConfig *cfg, GMainContext *ctx, GError **error) { return g_new0(PbAgent, 1); }
gboolean pb_agent_listen(PbAgent *agent, const char *path, GError **error) { g_set_error(error, PB_ERROR, PB_ERROR_SYSTEM, "bypass: not implemented"); return FALSE; }
void pb_agent_free(PbAgent *agent) { g_free(agent); }
