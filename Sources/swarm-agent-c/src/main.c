/* swarm-agent-c: a small StreamSwarm agent in C99 on protobuf-c and GnuTLS (issue #14).
 *   swarm-agent-c --server HOST:PORT --ca certs/ca.pem --cert certs/agents/NAME.pem \
 *                 --key certs/agents/NAME.key [--server-name NAME] [--spool DIR] [--reconnect-cap-ms 30000] */
#include "session.h"

#include <gnutls/gnutls.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static volatile sig_atomic_t stop_requested = 0;

static void on_signal(int signal_number) {
    (void)signal_number;
    stop_requested = 1;
}

static void usage(void) {
    fprintf(stderr, "usage: swarm-agent-c --server HOST:PORT --ca CA.pem --cert AGENT.pem --key AGENT.key "
                    "[--server-name NAME] [--spool DIR] [--reconnect-cap-ms MS]\n");
}

int main(int argc, char **argv) {
    swarm_agent_config config;
    memset(&config, 0, sizeof config);
    char *server = NULL;
    const char *spool_dir = "spool-c";
    long cap_ms = 30000;
    for (int i = 1; i < argc; i++) {
        const char *value = i + 1 < argc ? argv[i + 1] : NULL;
        if (!value) {
            usage();
            return 2;
        }
        if (strcmp(argv[i], "--server") == 0) server = argv[++i];
        else if (strcmp(argv[i], "--ca") == 0) config.tls.ca_path = argv[++i];
        else if (strcmp(argv[i], "--cert") == 0) config.tls.cert_path = argv[++i];
        else if (strcmp(argv[i], "--key") == 0) config.tls.key_path = argv[++i];
        else if (strcmp(argv[i], "--server-name") == 0) config.tls.server_name = argv[++i];
        else if (strcmp(argv[i], "--reconnect-cap-ms") == 0) cap_ms = strtol(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--spool") == 0) spool_dir = argv[++i];
        else {
            fprintf(stderr, "swarm-agent-c: unknown option %s\n", argv[i]);
            usage();
            return 2;
        }
    }
    char *colon = server ? strrchr(server, ':') : NULL;
    if (!colon || !config.tls.ca_path || !config.tls.cert_path || !config.tls.key_path || cap_ms < 100) {
        usage();
        return 2;
    }
    static char host[256];
    if ((size_t)(colon - server) >= sizeof host) {
        fprintf(stderr, "swarm-agent-c: --server %s: the host name is too long\n", server);
        return 2;
    }
    memcpy(host, server, (size_t)(colon - server));
    config.host = host;
    config.port = colon + 1;
    if (!config.tls.server_name) config.tls.server_name = config.host;

    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_handler = on_signal; /* no SA_RESTART: poll() returns EINTR and the loop sees the flag */
    sigaction(SIGTERM, &action, NULL);
    sigaction(SIGINT, &action, NULL);
    /* A parent may have spawned us with these blocked (a signal mask survives exec): unblock them. */
    sigset_t stopping;
    sigemptyset(&stopping);
    sigaddset(&stopping, SIGTERM);
    sigaddset(&stopping, SIGINT);
    sigprocmask(SIG_UNBLOCK, &stopping, NULL);
    signal(SIGPIPE, SIG_IGN);
    static swarm_agent_state agent;
    char error[512];
    if (swarm_spool_open(&agent.spool, spool_dir, error, sizeof error) != 0) {
        fprintf(stderr, "swarm-agent-c: %s\n", error);
        return 1;
    }
    if (gnutls_global_init() < 0) return 1;
    srand((unsigned)time(NULL) ^ (unsigned)clock());

    /* Reconnect with exponential backoff and full jitter: sleep uniform(0, min(cap, 500 ms * 2^n)). */
    unsigned attempt = 0;
    while (!stop_requested) {
        int64_t asked = -1;
        swarm_session_end end = swarm_session_run(&config, &agent, &stop_requested, &asked);
        if (end == SWARM_SESSION_STOPPED) break;
        attempt = end == SWARM_SESSION_ENDED ? 0 : attempt + 1;
        long ceiling = 500L << (attempt < 16 ? attempt : 16);
        if (ceiling > cap_ms) ceiling = cap_ms;
        long wait = asked >= 0 ? (long)asked : (long)((double)rand() / ((double)RAND_MAX + 1.0) * (double)ceiling);
        fprintf(stderr, "swarm-agent-c: reconnecting in %ld ms\n", wait);
        /* Tests go on while disconnected: what they measure waits in the spool. */
        if (swarm_scheduler_idle(&agent, wait, &stop_requested) != 0) {
            fprintf(stderr, "swarm-agent-c: cannot go on without a spool; stopping\n");
            return 1;
        }
    }
    gnutls_global_deinit();
    fprintf(stderr, "swarm-agent-c: stopped\n");
    return 0;
}
