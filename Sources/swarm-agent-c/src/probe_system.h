/* The `system` probe of the C agent: CPU (over the interval since the last run), load, cores and
 * memory from /proc, as the Swift agent's SystemResult carries them (unmeasured: left unset). */
#ifndef SWARM_PROBE_SYSTEM_H
#define SWARM_PROBE_SYSTEM_H

#include "streamswarm/mesh/v1/measurement.pb-c.h"

#include <stdint.h>

typedef struct {
    uint64_t busy, total; /* /proc/stat "cpu" jiffies at the last run (0: none yet) */
} swarm_system_probe;

/* Fills `result` (its fields only; nothing allocated). Returns 0, or -1 when /proc cannot be read. */
int swarm_system_probe_run(swarm_system_probe *probe, Streamswarm__Mesh__V1__SystemResult *result);

#endif
