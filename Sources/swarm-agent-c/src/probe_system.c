#include "probe_system.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

static int read_cpu(uint64_t *busy, uint64_t *total) {
    FILE *file = fopen("/proc/stat", "r");
    if (!file) return -1;
    unsigned long long user, nice, system, idle, iowait, irq, softirq, steal;
    int fields = fscanf(file, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &user, &nice, &system, &idle, &iowait,
                        &irq, &softirq, &steal);
    fclose(file);
    if (fields != 8) return -1;
    *busy = user + nice + system + irq + softirq + steal;
    *total = *busy + idle + iowait;
    return 0;
}

static uint64_t meminfo(const char *key) {
    FILE *file = fopen("/proc/meminfo", "r");
    if (!file) return 0;
    char line[256];
    unsigned long long kib = 0;
    size_t length = strlen(key);
    while (fgets(line, sizeof line, file)) {
        if (strncmp(line, key, length) == 0 && line[length] == ':') {
            sscanf(line + length + 1, "%llu", &kib);
            break;
        }
    }
    fclose(file);
    return (uint64_t)kib * 1024u;
}

int swarm_system_probe_run(swarm_system_probe *probe, Streamswarm__Mesh__V1__SystemResult *result) {
    uint64_t busy = 0, total = 0;
    if (read_cpu(&busy, &total) != 0) return -1;
    if (probe->total > 0 && total > probe->total) {
        result->_cpu_percent_case = STREAMSWARM__MESH__V1__SYSTEM_RESULT___CPU_PERCENT_CPU_PERCENT;
        result->cpu_percent = 100.0 * (double)(busy - probe->busy) / (double)(total - probe->total);
    }
    probe->busy = busy;
    probe->total = total;
    FILE *file = fopen("/proc/loadavg", "r");
    if (file) {
        if (fscanf(file, "%lf %lf %lf", &result->load1, &result->load5, &result->load15) != 3) {
            result->load1 = result->load5 = result->load15 = 0;
        }
        fclose(file);
    }
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    result->core_count = cores > 0 ? (uint32_t)cores : 0;
    result->memory_total_bytes = meminfo("MemTotal");
    result->memory_available_bytes = meminfo("MemAvailable");
    result->memory_cached_bytes = meminfo("Cached");
    result->memory_buffers_bytes = meminfo("Buffers");
    result->memory_shared_bytes = meminfo("Shmem");
    result->memory_used_bytes = result->memory_total_bytes > result->memory_available_bytes
                                    ? result->memory_total_bytes - result->memory_available_bytes
                                    : 0;
    result->swap_total_bytes = meminfo("SwapTotal");
    uint64_t swap_free = meminfo("SwapFree");
    result->swap_used_bytes = result->swap_total_bytes > swap_free ? result->swap_total_bytes - swap_free : 0;
    return 0;
}
