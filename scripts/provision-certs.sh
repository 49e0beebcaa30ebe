#!/usr/bin/env bash
# provision-certs.sh - manage the StreamSwarm mutual-TLS PKI with the openssl CLI.
#
# Run "scripts/provision-certs.sh help" for usage. See certs/README.md for the
# directory layout, agent identity rules, revocation and rotation procedures.
set -euo pipefail

PROG="scripts/provision-certs.sh"
SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_DIR="$(cd "$SCRIPT_DIR/.." && pwd)"
NAME_RE='^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$'

QUIET=0
CERTS_DIR="${SWARM_CERTS_DIR:-$REPO_DIR/certs}"
TMP_DIR=""

umask 077

usage() {
    cat <<EOF
Usage: $PROG COMMAND [ARGS] [--dir DIR] [--quiet]

Manage the StreamSwarm certificate authority and mutual-TLS certificates.

Commands:
  init [--cn NAME] [--days N] [--force]
        Create the swarm CA (ca.key, ca.pem; EC P-256). Default CN
        "StreamSwarm CA", 3650 days. Refuses if a CA exists; --force moves the
        old CA aside (ca.pem.bak-<timestamp>) and creates a new one.
  server [--dns NAME]... [--ip ADDR]... [--name NAME] [--days N] [--force]
        Issue server.pem/server.key (CN default "streamswarm-server", 825 days,
        EKU serverAuth). Without --dns/--ip the SANs are DNS:localhost,
        IP:127.0.0.1, IP:::1. --force replaces an existing server certificate.
  agent NAME [--days N] [--force]
        Issue agents/NAME.pem + .key (CN=NAME, SAN URI:streamswarm://agent/NAME,
        EKU clientAuth, 825 days).
  gnmi-client NAME [--days N] [--force]
        Issue gnmi-clients/NAME.pem + .key (CN=NAME,
        SAN URI:streamswarm://gnmi-client/NAME, EKU clientAuth, 825 days).
  revoke NAME | revoke --serial HEX
        Add certificate serials to revoked.txt. NAME is an agent or gnmi-client
        name: every serial ever issued to it (issued.tsv, including ones replaced
        with --force) is revoked. The running server re-reads revoked.txt by itself.
  list  Show issued certificates with serial, expiry and status.
  help  Show this text.

Global options (anywhere on the command line):
  --dir DIR   certificate directory (default: \$SWARM_CERTS_DIR or <repo>/certs)
  --quiet     only print errors (and the table for "list")

NAME must match $NAME_RE.
EOF
}

die() {
    local line
    for line in "$@"; do printf '%s: error: %s\n' "$PROG" "$line" >&2; done
    exit 1
}
warn() { printf '%s: warning: %s\n' "$PROG" "$*" >&2; }
info() { if [ "$QUIET" -eq 0 ]; then printf '%s\n' "$*"; fi; }

cleanup() { if [ -n "$TMP_DIR" ] && [ -d "$TMP_DIR" ]; then rm -rf -- "$TMP_DIR"; fi; }
trap cleanup EXIT

require_openssl() {
    command -v openssl >/dev/null 2>&1 || die "openssl not found in PATH"
}

# Work directory inside CERTS_DIR so that the final mv is an atomic rename.
make_tmp() {
    mkdir -p -- "$CERTS_DIR"
    TMP_DIR="$(mktemp -d "$CERTS_DIR/.tmp.XXXXXX")"
}

timestamp() { date -u +%Y%m%dT%H%M%SZ; }

check_days() {
    [[ "$1" =~ ^[1-9][0-9]{0,5}$ ]] || die "--days must be a positive integer, got '$1'"
}

check_name() {
    local kind="$1" name="$2"
    [[ "$name" =~ $NAME_RE ]] || die "invalid $kind name '$name': must match $NAME_RE" \
        "(1-63 characters: letters, digits, '.', '_', '-'; first character a letter or digit)"
}

# Escape a value for use in "openssl -subj /CN=value".
subj_cn() {
    local v="$1"
    v="${v//\\/\\\\}"
    v="${v//\//\\/}"
    v="${v//+/\\+}"
    v="${v//=/\\=}"
    printf '/CN=%s' "$v"
}

# 128-bit random serial, first hex digit forced into 1-7 so it is positive
# and has no leading zero.
new_serial() {
    local s first
    s="$(openssl rand -hex 16)"
    first=$(( 16#${s:0:1} % 7 + 1 ))
    printf '%x%s' "$first" "${s:1}"
}

# lowercase, no colons/whitespace, no "0x", leading zeros stripped.
normalize_serial() {
    local s
    s="$(printf '%s' "$1" | tr 'A-F' 'a-f' | tr -d ': \t\r\n')"
    s="${s#0x}"
    while [ "${s:0:1}" = "0" ] && [ "${#s}" -gt 1 ]; do s="${s:1}"; done
    printf '%s' "$s"
}

cert_serial() {
    local out
    out="$(openssl x509 -in "$1" -noout -serial)"
    normalize_serial "${out#serial=}"
}

cert_cn() {
    openssl x509 -in "$1" -noout -subject -nameopt multiline 2>/dev/null \
        | sed -n 's/^ *commonName *= *//p' || true
}

cert_not_after() {
    local out
    out="$(openssl x509 -in "$1" -noout -enddate)"
    out="${out#notAfter=}"
    date -u -d "$out" +%Y-%m-%dT%H:%M:%SZ 2>/dev/null || printf '%s' "$out"
}

cert_end_epoch() {
    local out
    out="$(openssl x509 -in "$1" -noout -enddate)"
    date -u -d "${out#notAfter=}" +%s 2>/dev/null || echo 0
}

write_req_config() {
    cat >"$1" <<'EOF'
[req]
distinguished_name = req_dn
prompt             = no
string_mask        = utf8only
utf8               = yes
[req_dn]
CN = placeholder
[v3_ca]
basicConstraints       = critical,CA:TRUE
keyUsage               = critical,keyCertSign,cRLSign
subjectKeyIdentifier   = hash
authorityKeyIdentifier = keyid:always
EOF
}

gen_key() {
    # P-256 key, PKCS#8 PEM, mode 0600.
    ( umask 077; openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null ) \
        || die "failed to generate EC P-256 key"
    chmod 0600 "$1"
}

ensure_bookkeeping() {
    if [ ! -e "$CERTS_DIR/revoked.txt" ]; then
        ( umask 022; printf '# StreamSwarm revoked certificate serials: one lowercase hex serial per line.\n# Lines starting with # are comments. The server re-reads this file automatically.\n' \
            >"$CERTS_DIR/revoked.txt" )
        chmod 0644 "$CERTS_DIR/revoked.txt"
    fi
    if [ ! -e "$CERTS_DIR/issued.tsv" ]; then
        ( umask 022; printf '#serial\tkind\tname\tnot_after\tfile\n' >"$CERTS_DIR/issued.tsv" )
        chmod 0644 "$CERTS_DIR/issued.tsv"
    fi
}

record_issued() { # serial kind name not_after file
    ensure_bookkeeping
    printf '%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" "$5" >>"$CERTS_DIR/issued.tsv"
}

require_ca() {
    [ -f "$CERTS_DIR/ca.pem" ] || die "no CA at $CERTS_DIR/ca.pem: run $PROG init first"
    [ -f "$CERTS_DIR/ca.key" ] || die "CA certificate $CERTS_DIR/ca.pem exists but its key $CERTS_DIR/ca.key is missing; cannot sign"
    if ! openssl x509 -in "$CERTS_DIR/ca.pem" -noout -checkend 0 >/dev/null 2>&1; then
        die "the CA certificate $CERTS_DIR/ca.pem has expired; rotate the CA (see certs/README.md)"
    fi
}

# ---------------------------------------------------------------- init
cmd_init() {
    local cn="StreamSwarm CA" days=3650 force=0
    while [ $# -gt 0 ]; do
        case "$1" in
            --cn) [ $# -ge 2 ] || die "--cn needs a value"; cn="$2"; shift 2 ;;
            --days) [ $# -ge 2 ] || die "--days needs a value"; days="$2"; shift 2 ;;
            --force) force=1; shift ;;
            *) die "init: unexpected argument '$1'" ;;
        esac
    done
    check_days "$days"
    [ -n "$cn" ] || die "--cn must not be empty"

    local existing=()
    if [ -e "$CERTS_DIR/ca.key" ]; then existing+=("$CERTS_DIR/ca.key"); fi
    if [ -e "$CERTS_DIR/ca.pem" ]; then existing+=("$CERTS_DIR/ca.pem"); fi
    if [ "${#existing[@]}" -gt 0 ] && [ "$force" -eq 0 ]; then
        die "a CA already exists at $CERTS_DIR (${existing[*]})" \
            "overwriting it would orphan every certificate it has issued (server, agents, gNMI clients)" \
            "use '$PROG init --force' to replace it deliberately (the old files are kept as *.bak-<timestamp>)"
    fi

    make_tmp
    local conf="$TMP_DIR/req.cnf" serial
    write_req_config "$conf"
    gen_key "$TMP_DIR/ca.key"
    serial="$(new_serial)"
    openssl req -new -x509 -config "$conf" -key "$TMP_DIR/ca.key" -subj "$(subj_cn "$cn")" \
        -sha256 -days "$days" -set_serial "0x$serial" -extensions v3_ca \
        -out "$TMP_DIR/ca.pem" >/dev/null 2>"$TMP_DIR/err" \
        || die "openssl failed to create the CA certificate: $(cat "$TMP_DIR/err")"
    openssl verify -CAfile "$TMP_DIR/ca.pem" "$TMP_DIR/ca.pem" >/dev/null 2>"$TMP_DIR/err" \
        || die "new CA certificate failed verification: $(cat "$TMP_DIR/err")"
    chmod 0644 "$TMP_DIR/ca.pem"

    if [ "${#existing[@]}" -gt 0 ]; then
        local ts f
        ts="$(timestamp)"
        for f in "${existing[@]}"; do
            mv -- "$f" "$f.bak-$ts"
            info "moved old $(basename "$f") to $f.bak-$ts"
        done
    fi
    mv -- "$TMP_DIR/ca.key" "$CERTS_DIR/ca.key"
    mv -- "$TMP_DIR/ca.pem" "$CERTS_DIR/ca.pem"
    ( umask 077; mkdir -p -- "$CERTS_DIR/agents" "$CERTS_DIR/gnmi-clients" )

    local not_after
    not_after="$(cert_not_after "$CERTS_DIR/ca.pem")"
    record_issued "$serial" ca "$cn" "$not_after" ca.pem
    info "created CA \"$cn\""
    info "  certificate: $CERTS_DIR/ca.pem"
    info "  private key: $CERTS_DIR/ca.key (mode 0600; keep it secret, it is not needed on servers or agents)"
    info "  serial:      $serial"
    info "  not after:   $not_after"
    info "  revocation list: $CERTS_DIR/revoked.txt, issue log: $CERTS_DIR/issued.tsv"
}

# -------------------------------------------------------- leaf issuing
# issue_leaf KIND NAME DAYS FORCE OUT_PEM OUT_KEY PURPOSE EXT_BODY
issue_leaf() {
    local kind="$1" name="$2" days="$3" force="$4" out_pem="$5" out_key="$6" purpose="$7" ext="$8"
    require_ca

    local old_serial=""
    if [ -e "$out_pem" ] || [ -e "$out_key" ]; then
        if [ "$force" -eq 0 ]; then
            die "the $kind certificate for '$name' already exists at $out_pem" \
                "use --force to replace it (then revoke the old serial)"
        fi
        if [ -f "$out_pem" ]; then old_serial="$(cert_serial "$out_pem" 2>/dev/null || true)"; fi
    fi

    make_tmp
    local conf="$TMP_DIR/req.cnf" serial
    write_req_config "$conf"
    printf '[v3_leaf]\nbasicConstraints = critical,CA:FALSE\nsubjectKeyIdentifier = hash\nauthorityKeyIdentifier = keyid,issuer\n%s\n' \
        "$ext" >"$TMP_DIR/ext.cnf"
    gen_key "$TMP_DIR/leaf.key"
    openssl req -new -config "$conf" -key "$TMP_DIR/leaf.key" -subj "$(subj_cn "$name")" \
        -sha256 -out "$TMP_DIR/leaf.csr" 2>"$TMP_DIR/err" \
        || die "openssl failed to create the certificate request: $(cat "$TMP_DIR/err")"
    serial="$(new_serial)"
    openssl x509 -req -in "$TMP_DIR/leaf.csr" -CA "$CERTS_DIR/ca.pem" -CAkey "$CERTS_DIR/ca.key" \
        -set_serial "0x$serial" -days "$days" -sha256 \
        -extfile "$TMP_DIR/ext.cnf" -extensions v3_leaf -out "$TMP_DIR/leaf.pem" 2>"$TMP_DIR/err" \
        || die "openssl failed to sign the $kind certificate: $(cat "$TMP_DIR/err")"
    openssl verify -x509_strict -purpose "$purpose" -CAfile "$CERTS_DIR/ca.pem" "$TMP_DIR/leaf.pem" \
        >/dev/null 2>"$TMP_DIR/err" \
        || die "issued $kind certificate failed 'openssl verify' against $CERTS_DIR/ca.pem: $(cat "$TMP_DIR/err")"
    chmod 0644 "$TMP_DIR/leaf.pem"

    if [ "$(cert_end_epoch "$TMP_DIR/leaf.pem")" -gt "$(cert_end_epoch "$CERTS_DIR/ca.pem")" ]; then
        warn "the $kind certificate outlives the CA (CA not after: $(cert_not_after "$CERTS_DIR/ca.pem")); it stops verifying when the CA expires"
    fi

    ( umask 077; mkdir -p -- "$(dirname "$out_pem")" )
    if [ -e "$out_pem" ] || [ -e "$out_key" ]; then
        local ts f
        ts="$(timestamp)"
        for f in "$out_pem" "$out_key"; do
            if [ -e "$f" ]; then mv -- "$f" "$f.bak-$ts"; info "moved old $(basename "$f") to $f.bak-$ts"; fi
        done
    fi
    mv -- "$TMP_DIR/leaf.key" "$out_key"
    mv -- "$TMP_DIR/leaf.pem" "$out_pem"

    local not_after rel
    not_after="$(cert_not_after "$out_pem")"
    rel="${out_pem#"$CERTS_DIR"/}"
    record_issued "$serial" "$kind" "$name" "$not_after" "$rel"

    info "issued $kind certificate for '$name' (verified against $CERTS_DIR/ca.pem)"
    info "  certificate: $out_pem"
    info "  private key: $out_key (mode 0600)"
    info "  CA:          $CERTS_DIR/ca.pem"
    info "  serial:      $serial"
    info "  not after:   $not_after"
    info "  $(openssl x509 -in "$out_pem" -noout -ext subjectAltName 2>/dev/null | sed -n '2p' | sed 's/^ *//;s/^/SANs:        /')"
    if [ -n "$old_serial" ]; then
        info "  replaced certificate with serial $old_serial; once the new one is deployed revoke it:"
        info "    $PROG revoke --serial $old_serial --dir $CERTS_DIR"
    fi
}

cmd_server() {
    local name="streamswarm-server" days=825 force=0
    local sans=()
    while [ $# -gt 0 ]; do
        case "$1" in
            --dns)
                [ $# -ge 2 ] || die "--dns needs a value"
                [[ "$2" =~ ^(\*\.)?[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$ ]] || die "invalid --dns name '$2'"
                sans+=("DNS:$2"); shift 2 ;;
            --ip)
                [ $# -ge 2 ] || die "--ip needs a value"
                [[ "$2" =~ ^[0-9A-Fa-f.:]+$ ]] || die "invalid --ip address '$2'"
                sans+=("IP:$2"); shift 2 ;;
            --name) [ $# -ge 2 ] || die "--name needs a value"; name="$2"; shift 2 ;;
            --days) [ $# -ge 2 ] || die "--days needs a value"; days="$2"; shift 2 ;;
            --force) force=1; shift ;;
            *) die "server: unexpected argument '$1'" ;;
        esac
    done
    check_days "$days"
    check_name server "$name"
    if [ "${#sans[@]}" -eq 0 ]; then sans=("DNS:localhost" "IP:127.0.0.1" "IP:::1"); fi
    local san_list
    san_list="$(IFS=,; printf '%s' "${sans[*]}")"
    issue_leaf server "$name" "$days" "$force" "$CERTS_DIR/server.pem" "$CERTS_DIR/server.key" sslserver \
        "keyUsage = critical,digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = $san_list"
}

cmd_client() { # kind subdir uri-kind args...
    local kind="$1" subdir="$2" urikind="$3"
    shift 3
    local name="" days=825 force=0
    while [ $# -gt 0 ]; do
        case "$1" in
            --days) [ $# -ge 2 ] || die "--days needs a value"; days="$2"; shift 2 ;;
            --force) force=1; shift ;;
            -*) die "$kind: unknown option '$1'" ;;
            *) [ -z "$name" ] || die "$kind: only one NAME may be given (got '$name' and '$1')"; name="$1"; shift ;;
        esac
    done
    [ -n "$name" ] || die "$kind: missing NAME (usage: $PROG $kind NAME [--days N] [--force])"
    check_name "$kind" "$name"
    check_days "$days"
    issue_leaf "$kind" "$name" "$days" "$force" "$CERTS_DIR/$subdir/$name.pem" "$CERTS_DIR/$subdir/$name.key" sslclient \
        "keyUsage = critical,digitalSignature
extendedKeyUsage = clientAuth
subjectAltName = URI:streamswarm://$urikind/$name"
}

# -------------------------------------------------------------- revoke
load_revoked() { # prints normalized serials, one per line
    local f="$CERTS_DIR/revoked.txt" line
    [ -f "$f" ] || return 0
    while IFS= read -r line || [ -n "$line" ]; do
        line="${line%%#*}"
        line="$(printf '%s' "$line" | tr -d ' \t\r')"
        if [ -n "$line" ]; then normalize_serial "$line"; echo; fi
    done <"$f"
}

cmd_revoke() {
    local serial="" name="" label
    while [ $# -gt 0 ]; do
        case "$1" in
            --serial) [ $# -ge 2 ] || die "--serial needs a value"; serial="$2"; shift 2 ;;
            -*) die "revoke: unknown option '$1'" ;;
            *) [ -z "$name" ] || die "revoke: only one NAME may be given"; name="$1"; shift ;;
        esac
    done
    if [ -n "$serial" ] && [ -n "$name" ]; then die "revoke: give either NAME or --serial HEX, not both"; fi
    if [ -z "$serial" ] && [ -z "$name" ]; then die "revoke: usage: $PROG revoke (NAME | --serial HEX)"; fi
    [ -d "$CERTS_DIR" ] || die "certificate directory $CERTS_DIR does not exist"

    if [ -n "$serial" ]; then
        serial="$(normalize_serial "$serial")"
        [[ "$serial" =~ ^[0-9a-f]+$ ]] || die "invalid serial '$serial': expected hexadecimal"
        label="serial $serial"
        # Name it in the comment if we know it.
        if [ -f "$CERTS_DIR/issued.tsv" ]; then
            local known
            known="$(awk -F'\t' -v s="$serial" '$1==s {print $2" "$3}' "$CERTS_DIR/issued.tsv" | tail -n1)"
            if [ -n "$known" ]; then label="$known"; fi
        fi
    else
        check_name "certificate" "$name"
        local kinds=() k
        if [ -f "$CERTS_DIR/agents/$name.pem" ]; then kinds+=(agent); fi
        if [ -f "$CERTS_DIR/gnmi-clients/$name.pem" ]; then kinds+=(gnmi-client); fi
        if [ "${#kinds[@]}" -gt 1 ]; then
            die "'$name' is both an agent and a gnmi-client certificate; use --serial with one of:" \
                "  agent $(cert_serial "$CERTS_DIR/agents/$name.pem")" \
                "  gnmi-client $(cert_serial "$CERTS_DIR/gnmi-clients/$name.pem")"
        fi
        # Every serial ever issued to the name (a '--force' re-issue leaves the old one valid
        # until revoked), from the issue log, plus the current file's.
        local serials=()
        if [ "${#kinds[@]}" -eq 1 ]; then
            k="${kinds[0]}"
            if [ "$k" = agent ]; then serials+=("$(cert_serial "$CERTS_DIR/agents/$name.pem")"); else
                serials+=("$(cert_serial "$CERTS_DIR/gnmi-clients/$name.pem")"); fi
        fi
        if [ -f "$CERTS_DIR/issued.tsv" ]; then
            local logged
            while IFS=$'\t' read -r logged k; do
                if [ -n "$logged" ]; then serials+=("$(normalize_serial "$logged")"); kinds+=("$k"); fi
            done < <(awk -F'\t' -v n="$name" '($2=="agent" || $2=="gnmi-client") && $3==n {print $1"\t"$2}' \
                "$CERTS_DIR/issued.tsv")
        fi
        [ "${#serials[@]}" -gt 0 ] || die "no agent or gnmi-client certificate named '$name' in $CERTS_DIR (agents/$name.pem, gnmi-clients/$name.pem, issued.tsv)"
        ensure_bookkeeping
        local revoked_now added=0 one
        revoked_now="$(load_revoked)"
        for one in $(printf '%s\n' "${serials[@]}" | sort -u); do
            if grep -xF -- "$one" <<<"$revoked_now" >/dev/null; then continue; fi
            printf '# %s revoked %s %s\n%s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "${kinds[0]}" "$name" "$one" \
                >>"$CERTS_DIR/revoked.txt"
            info "revoked ${kinds[0]} $name: serial $one added to $CERTS_DIR/revoked.txt"
            added=$((added + 1))
        done
        if [ "$added" -eq 0 ]; then
            info "every serial issued to '$name' is already in $CERTS_DIR/revoked.txt; nothing to do"
        else
            info "the running server polls revoked.txt and reloads it automatically; no restart is needed"
            info "(make sure the server's revocation file is this one, or copy it there)"
        fi
        return 0
    fi

    ensure_bookkeeping
    local revoked
    revoked="$(load_revoked)"
    if grep -xF -- "$serial" <<<"$revoked" >/dev/null; then
        info "$label (serial $serial) is already in $CERTS_DIR/revoked.txt; nothing to do"
        return 0
    fi
    printf '# %s revoked %s\n%s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$label" "$serial" >>"$CERTS_DIR/revoked.txt"
    info "revoked $label: serial $serial added to $CERTS_DIR/revoked.txt"
    info "the running server polls revoked.txt and reloads it automatically; no restart is needed"
    info "(make sure the server's revocation file is this one, or copy it there)"
}

# ---------------------------------------------------------------- list
cmd_list() {
    [ $# -eq 0 ] || die "list: unexpected argument '$1'"
    [ -d "$CERTS_DIR" ] || die "certificate directory $CERTS_DIR does not exist"
    local revoked
    revoked="$(load_revoked)"
    local rows=() f kind name serial na status
    add_row() {
        kind="$1"; f="$2"; name="$3"
        serial="$(cert_serial "$f" 2>/dev/null || echo '?')"
        na="$(cert_not_after "$f" 2>/dev/null || echo '?')"
        if grep -xF -- "$serial" <<<"$revoked" >/dev/null; then
            status="revoked"
        elif ! openssl x509 -in "$f" -noout -checkend 0 >/dev/null 2>&1; then
            status="expired"
        elif [ "$kind" != "ca" ] && [ -f "$CERTS_DIR/ca.pem" ] \
            && ! openssl verify -CAfile "$CERTS_DIR/ca.pem" "$f" >/dev/null 2>&1; then
            status="untrusted(other CA)"
        else
            status="valid"
        fi
        rows+=("$(printf '%s\t%s\t%s\t%s\t%s' "$kind" "$name" "$serial" "$na" "$status")")
    }
    if [ -f "$CERTS_DIR/ca.pem" ]; then add_row ca "$CERTS_DIR/ca.pem" "$(cert_cn "$CERTS_DIR/ca.pem")"; fi
    if [ -f "$CERTS_DIR/server.pem" ]; then add_row server "$CERTS_DIR/server.pem" "$(cert_cn "$CERTS_DIR/server.pem")"; fi
    local d
    for d in agents:agent gnmi-clients:gnmi-client; do
        for f in "$CERTS_DIR/${d%%:*}"/*.pem; do
            [ -f "$f" ] || continue
            name="$(basename "$f" .pem)"
            add_row "${d#*:}" "$f" "$name"
        done
    done
    if [ "${#rows[@]}" -eq 0 ]; then
        info "no certificates in $CERTS_DIR"
        return 0
    fi
    { printf 'KIND\tNAME\tSERIAL\tNOT-AFTER\tSTATUS\n'; printf '%s\n' "${rows[@]}"; } | column -t -s $'\t'
}

# ---------------------------------------------------------------- main
main() {
    local args=()
    while [ $# -gt 0 ]; do
        case "$1" in
            --dir) [ $# -ge 2 ] && [ -n "$2" ] || die "--dir needs a value"; CERTS_DIR="$2"; shift 2 ;;
            --dir=*) CERTS_DIR="${1#--dir=}"; shift ;;
            --quiet|-q) QUIET=1; shift ;;
            *) args+=("$1"); shift ;;
        esac
    done
    set -- "${args[@]+"${args[@]}"}"
    [ -n "$CERTS_DIR" ] || die "certificate directory is empty"
    CERTS_DIR="${CERTS_DIR%/}"
    [ -n "$CERTS_DIR" ] || CERTS_DIR="/"

    local cmd="${1:-help}"
    if [ $# -gt 0 ]; then shift; fi
    case "$cmd" in
        help|-h|--help) usage; return 0 ;;
    esac
    require_openssl
    case "$cmd" in
        init) cmd_init "$@" ;;
        server) cmd_server "$@" ;;
        agent) cmd_client agent agents agent "$@" ;;
        gnmi-client) cmd_client gnmi-client gnmi-clients gnmi-client "$@" ;;
        revoke) cmd_revoke "$@" ;;
        list) cmd_list "$@" ;;
        *) usage >&2; die "unknown command '$cmd'" ;;
    esac
}

main "$@"
