/* The `tcp` probe of the C agent: connect time to host:port (SYN to established), or why not. */
#ifndef SWARM_PROBE_TCP_H
#define SWARM_PROBE_TCP_H

#include "streamswarm/mesh/v1/measurement.pb-c.h"

#include <stddef.h>

/* Fills `result` (strings point into `address` and `error`, which the caller owns) and returns the
 * measurement status: OK when connected, FAILED when refused, unreachable or not resolved, TIMEOUT. */
Streamswarm__Mesh__V1__MeasurementStatus swarm_tcp_probe_run(const char *host, unsigned port, int timeout_ms,
                                                             Streamswarm__Mesh__V1__TcpResult *result,
                                                             char *address, size_t address_size, char *error,
                                                             size_t error_size);

#endif
