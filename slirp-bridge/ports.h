/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ports.h: the port table wired to the bypass (ports.c), part of the
 * executable beside main.c since it joins three directories.
 */
#ifndef SB_PORTS_H
#define SB_PORTS_H

#include "plugin.h"
#include "port_driver.h"
#include "slirp_bridge.h"

G_BEGIN_DECLS

typedef struct SbPorts SbPorts;
SbPorts *sb_ports_new(PdTable *table, SbSlirp *slirp);
const PbPortOps *sb_ports_ops(SbPorts *p);
void sb_ports_set_agent(SbPorts *p, PbAgent *agent);
void sb_ports_free(SbPorts *p);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(SbPorts, sb_ports_free)

G_END_DECLS

#endif /* SB_PORTS_H */
