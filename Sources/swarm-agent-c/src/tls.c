#include "tls.h"

#include <arpa/inet.h>
#include <errno.h>
#include <gnutls/x509.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

static const char alpn[] = "streamswarm/1";

static int is_ip_address(const char *name) {
    unsigned char buffer[16];
    return inet_pton(AF_INET, name, buffer) == 1 || inet_pton(AF_INET6, name, buffer) == 1;
}

static int tcp_connect(const char *host, const char *port, int timeout_ms, char *error, size_t error_size) {
    struct addrinfo hints, *found = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    int rc = getaddrinfo(host, port, &hints, &found);
    if (rc != 0) {
        snprintf(error, error_size, "cannot resolve %s: %s", host, gai_strerror(rc));
        return -1;
    }
    int fd = -1;
    for (struct addrinfo *at = found; at; at = at->ai_next) {
        fd = socket(at->ai_family, at->ai_socktype | SOCK_CLOEXEC, at->ai_protocol);
        if (fd < 0) continue;
        struct timeval timeout = {timeout_ms / 1000, (timeout_ms % 1000) * 1000};
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
        if (connect(fd, at->ai_addr, at->ai_addrlen) == 0) break;
        snprintf(error, error_size, "cannot connect to %s:%s: %s (is the server up and the address right?)", host,
                 port, strerror(errno));
        close(fd);
        fd = -1;
    }
    freeaddrinfo(found);
    return fd;
}

int swarm_tls_connect(swarm_tls *tls, const swarm_tls_config *config, const char *host, const char *port,
                      int timeout_ms, char *error, size_t error_size) {
    memset(tls, 0, sizeof *tls);
    tls->fd = -1;
    int rc = gnutls_certificate_allocate_credentials(&tls->credentials);
    if (rc < 0) goto gnutls_failed;
    rc = gnutls_certificate_set_x509_trust_file(tls->credentials, config->ca_path, GNUTLS_X509_FMT_PEM);
    if (rc <= 0) {
        snprintf(error, error_size, "cannot read the swarm CA %s: %s", config->ca_path,
                 rc == 0 ? "no certificate in it" : gnutls_strerror(rc));
        swarm_tls_close(tls);
        return -1;
    }
    rc = gnutls_certificate_set_x509_key_file(tls->credentials, config->cert_path, config->key_path,
                                              GNUTLS_X509_FMT_PEM);
    if (rc < 0) {
        snprintf(error, error_size, "cannot load the agent certificate %s with key %s: %s", config->cert_path,
                 config->key_path, gnutls_strerror(rc));
        swarm_tls_close(tls);
        return -1;
    }
    rc = gnutls_init(&tls->session, GNUTLS_CLIENT);
    if (rc < 0) goto gnutls_failed;
    rc = gnutls_priority_set_direct(tls->session, "NORMAL:-VERS-ALL:+VERS-TLS1.3", NULL);
    if (rc < 0) goto gnutls_failed;
    rc = gnutls_credentials_set(tls->session, GNUTLS_CRD_CERTIFICATE, tls->credentials);
    if (rc < 0) goto gnutls_failed;
    gnutls_datum_t protocol = {(unsigned char *)alpn, (unsigned int)strlen(alpn)};
    rc = gnutls_alpn_set_protocols(tls->session, &protocol, 1, GNUTLS_ALPN_MANDATORY);
    if (rc < 0) goto gnutls_failed;
    if (!is_ip_address(config->server_name)) {
        gnutls_server_name_set(tls->session, GNUTLS_NAME_DNS, config->server_name, strlen(config->server_name));
    }
    /* The certificate is checked against the CA and the name dialled during the handshake. */
    gnutls_session_set_verify_cert(tls->session, config->server_name, 0);
    gnutls_handshake_set_timeout(tls->session, (unsigned)timeout_ms);

    tls->fd = tcp_connect(host, port, timeout_ms, error, error_size);
    if (tls->fd < 0) {
        swarm_tls_close(tls);
        return -1;
    }
    gnutls_transport_set_int(tls->session, tls->fd);
    do {
        rc = gnutls_handshake(tls->session);
    } while (rc < 0 && gnutls_error_is_fatal(rc) == 0);
    if (rc < 0) {
        if (rc == GNUTLS_E_CERTIFICATE_VERIFICATION_ERROR) {
            gnutls_datum_t text;
            unsigned status = gnutls_session_get_verify_cert_status(tls->session);
            gnutls_certificate_verification_status_print(status, gnutls_certificate_type_get(tls->session), &text,
                                                         0);
            snprintf(error, error_size, "the server certificate of %s:%s is not trusted: %s (check --ca and --server-name)",
                     host, port, text.data);
            gnutls_free(text.data);
        } else {
            snprintf(error, error_size, "TLS handshake with %s:%s failed: %s", host, port, gnutls_strerror(rc));
        }
        swarm_tls_close(tls);
        return -1;
    }
    gnutls_datum_t chosen;
    if (gnutls_alpn_get_selected_protocol(tls->session, &chosen) < 0 || chosen.size != strlen(alpn) ||
        memcmp(chosen.data, alpn, chosen.size) != 0) {
        snprintf(error, error_size, "%s:%s did not agree to ALPN %s: it is not a swarm server", host, port, alpn);
        swarm_tls_close(tls);
        return -1;
    }
    return 0;

gnutls_failed:
    snprintf(error, error_size, "TLS set-up failed: %s", gnutls_strerror(rc));
    swarm_tls_close(tls);
    return -1;
}

int swarm_tls_write_all(swarm_tls *tls, const void *bytes, size_t length) {
    const unsigned char *at = bytes;
    while (length > 0) {
        ssize_t sent = gnutls_record_send(tls->session, at, length);
        if (sent == GNUTLS_E_AGAIN || sent == GNUTLS_E_INTERRUPTED) continue;
        if (sent < 0) return -1;
        at += sent;
        length -= (size_t)sent;
    }
    return 0;
}

ssize_t swarm_tls_read(swarm_tls *tls, void *buffer, size_t size) {
    for (;;) {
        ssize_t got = gnutls_record_recv(tls->session, buffer, size);
        if (got == GNUTLS_E_AGAIN || got == GNUTLS_E_INTERRUPTED) continue;
        if (got == GNUTLS_E_PREMATURE_TERMINATION) return 0;
        return got < 0 ? -1 : got;
    }
}

size_t swarm_tls_pending(swarm_tls *tls) { return gnutls_record_check_pending(tls->session); }

void swarm_tls_close(swarm_tls *tls) {
    if (tls->session) {
        if (tls->fd >= 0) gnutls_bye(tls->session, GNUTLS_SHUT_WR);
        gnutls_deinit(tls->session);
        tls->session = NULL;
    }
    if (tls->fd >= 0) close(tls->fd);
    tls->fd = -1;
    if (tls->credentials) gnutls_certificate_free_credentials(tls->credentials);
    tls->credentials = NULL;
}
