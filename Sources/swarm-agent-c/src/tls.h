/* Mutual TLS to a swarm server with GnuTLS: TLS 1.3 only, ALPN streamswarm/1, the server checked
 * against the swarm CA and the name or address dialled (Proto/README.md, "Transport"). */
#ifndef SWARM_TLS_H
#define SWARM_TLS_H

#include <gnutls/gnutls.h>
#include <stddef.h>
#include <sys/types.h>

typedef struct {
    const char *ca_path;   /* the swarm CA (PEM) */
    const char *cert_path; /* this agent's certificate (PEM) */
    const char *key_path;  /* its private key (PEM) */
    const char *server_name; /* checked against the server certificate; SNI unless an IP address */
} swarm_tls_config;

typedef struct {
    int fd;
    gnutls_session_t session;
    gnutls_certificate_credentials_t credentials;
} swarm_tls;

/* Connects to host:port and completes the handshake (or fails within `timeout_ms`). On failure
 * returns -1 and writes why into `error` (what happened and what to check). */
int swarm_tls_connect(swarm_tls *tls, const swarm_tls_config *config, const char *host, const char *port,
                      int timeout_ms, char *error, size_t error_size);
/* Writes all of `bytes`; -1 when the connection failed. */
int swarm_tls_write_all(swarm_tls *tls, const void *bytes, size_t length);
/* Reads what is there (blocking until something is): > 0 bytes, 0 at a clean close, -1 on error. */
ssize_t swarm_tls_read(swarm_tls *tls, void *buffer, size_t size);
/* Bytes GnuTLS decrypted already (so poll() on the socket would not see them). */
size_t swarm_tls_pending(swarm_tls *tls);
void swarm_tls_close(swarm_tls *tls);

#endif
