#!/usr/bin/env bash
# Local infrastructure for distributed mode, on loopback, without Docker:
#   - Kafka 3.9.1, single node, KRaft (broker + controller), PLAINTEXT
#   - S3Proxy (S3-compatible server, in-memory backend by default)
#   - on request only (`start kafka-secure`): a second Kafka 3.9.1 for TLS and SASL, with SASL_PLAINTEXT and
#     SASL_SSL listeners (SCRAM-SHA-256 and SCRAM-SHA-512, user flts; SASL_SSL also PLAIN, as Confluent Cloud) and an
#     SSL listener that requires a client certificate; test certificates from tls-certs.sh; ACLs enforced
#     (StandardAuthorizer): flts, the client certificate and the plain internal listener are super users, the SCRAM
#     user flts-acl may do only what a test grants it; and a PLAINTEXT listener (ELSEWHERE) that advertises an
#     address nobody answers at, as a broker behind NAT or in a container network; its variables (KAFKA_SECURE_*) in
#     .infra/kafka-secure/env
# Both are resolved from Maven Central with Maven and cached outside the work tree.
#
# Usage: infra.sh up | down | status | fetch | start <kafka|s3|kafka-secure> | stop <kafka|s3|kafka-secure>
#   up      start Kafka and S3Proxy (idempotent), wait until they answer, write .infra/env
#   down    stop every server and delete their state (.infra/)
#   status  print what runs where; exit 0 only when Kafka and S3Proxy are up
#   fetch   resolve both servers' jars into the cache and start nothing
#   stop/start one server and keep its data (e.g. to restart Kafka mid-pipeline in a test); S3Proxy's default transient
#           backend keeps its objects in memory, so `stop s3` loses them all (buckets included): set
#           FLTS_INFRA_S3_BACKEND=filesystem-nio2 at `up` to restart S3 with its objects, or pause it (kill -STOP) instead
#
# Environment: FLTS_INFRA_CACHE (downloads, default ~/.cache/flts-infra), FLTS_INFRA_DIR (state, default
# <repo>/.infra), FLTS_INFRA_KAFKA_PORT (19092), FLTS_INFRA_KAFKA_CONTROLLER_PORT (19093), FLTS_INFRA_S3_PORT
# (19000), FLTS_INFRA_KAFKA_SECURE_PORTS (six ports: internal, controller, SASL_PLAINTEXT, SASL_SSL, SSL, ELSEWHERE;
# default 19094-19099), FLTS_INFRA_S3_USER / FLTS_INFRA_S3_PASSWORD (minioadmin), FLTS_INFRA_S3_BACKEND (transient, or
# filesystem-nio2 to keep objects across restarts without atomic replacement), FLTS_INFRA_TIMEOUT (seconds, 120),
# FLTS_INFRA_KAFKA_PROPERTIES (server.properties lines appended for this start of the plain Kafka, overriding).
# A default port that is already taken is replaced by a free one; ports set explicitly are used as given.
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$SCRIPT_DIR/../.." && pwd)"
CACHE="${FLTS_INFRA_CACHE:-$HOME/.cache/flts-infra}"
STATE="${FLTS_INFRA_DIR:-$REPO_ROOT/.infra}"
TIMEOUT="${FLTS_INFRA_TIMEOUT:-120}"
KAFKA_VERSION=3.9.1
S3PROXY_VERSION=4.1.0
KAFKA_LIBS="$CACHE/kafka-$KAFKA_VERSION/libs"
S3PROXY_LIBS="$CACHE/s3proxy-$S3PROXY_VERSION/libs"
S3_USER="${FLTS_INFRA_S3_USER:-minioadmin}"
S3_PASSWORD="${FLTS_INFRA_S3_PASSWORD:-minioadmin}"
# transient = in memory: objects are lost when S3Proxy stops, but a PUT replaces an object atomically for
# concurrent readers. S3Proxy's filesystem backends serve a GET that races a PUT of the same key as a torn or
# aborted response, which breaks the ObjectStore contract (promotion pointers rely on atomic replacement).
S3_BACKEND="${FLTS_INFRA_S3_BACKEND:-transient}"

log() { echo "infra: $*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# ---------------------------------------------------------------- downloads
fetch_libs() { # name pom dest
  local name="$1" pom="$2" dest="$3"
  [ -f "$dest/.complete" ] && return 0
  log "resolving $name from Maven Central into $dest (first run only)"
  rm -rf "$dest.partial"
  mkdir -p "$dest.partial"
  # A private local repository per artifact set: the two resolutions run in parallel and never share a lock.
  if ! mvn -B -q -f "$pom" -Dmaven.repo.local="$CACHE/m2-$name" \
      dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$dest.partial" >"$CACHE/$name-resolve.log" 2>&1; then
    tail -n 30 "$CACHE/$name-resolve.log" >&2
    die "could not resolve $name with Maven (log: $CACHE/$name-resolve.log)"
  fi
  rm -rf "$dest"
  mv "$dest.partial" "$dest"
  touch "$dest/.complete"
}

fetch_all() {
  command -v java >/dev/null || die "java is not installed (Java 17+ is needed for Kafka and S3Proxy)"
  command -v mvn >/dev/null || die "mvn is not installed (Maven resolves the server jars)"
  mkdir -p "$CACHE"
  # One resolution at a time per cache: test suites of several checkouts may start their servers at once.
  # The lock is released before any server starts, so no server inherits it.
  if command -v flock >/dev/null; then exec 8>"$CACHE/.lock"; flock 8; fi
  local pids=()
  [ -f "$KAFKA_LIBS/.complete" ] || { fetch_libs kafka "$SCRIPT_DIR/kafka.pom.xml" "$KAFKA_LIBS" & pids+=($!); }
  [ -f "$S3PROXY_LIBS/.complete" ] || { fetch_libs s3proxy "$SCRIPT_DIR/s3proxy.pom.xml" "$S3PROXY_LIBS" & pids+=($!); }
  local failed=0
  for pid in "${pids[@]}"; do wait "$pid" || failed=1; done
  [ "$failed" -eq 0 ] || die "downloading the servers failed"
  if command -v flock >/dev/null; then exec 8>&-; fi
}

# ---------------------------------------------------------------- processes and ports
pid_of() { [ -f "$STATE/$1.pid" ] && cat "$STATE/$1.pid" || true; }
is_running() { local pid; pid="$(pid_of "$1")"; [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; }

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
free_port() { node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close();});'; }

# Ports are chosen once per state directory and kept, so a stopped server restarts where clients expect it.
choose_port() { # key explicit default
  local key="$1" explicit="$2" default="$3" file="$STATE/ports"
  local saved; saved="$( [ -f "$file" ] && sed -n "s/^$key=//p" "$file" || true)"
  if [ -n "$saved" ]; then echo "$saved"; return; fi
  local port="$explicit"
  if [ -z "$port" ]; then
    port="$default"
    if ! port_free "$port"; then port="$(free_port)"; log "port $default is taken; $key uses $port"; fi
  fi
  echo "$key=$port" >>"$file"
  echo "$port"
}

resolve_ports() {
  mkdir -p "$STATE"
  KAFKA_PORT="$(choose_port kafka "${FLTS_INFRA_KAFKA_PORT:-}" 19092)"
  CONTROLLER_PORT="$(choose_port controller "${FLTS_INFRA_KAFKA_CONTROLLER_PORT:-}" 19093)"
  S3_PORT="$(choose_port s3 "${FLTS_INFRA_S3_PORT:-}" 19000)"
}

launch() { # name log command...
  local name="$1" logfile="$2"; shift 2
  # setsid: the server outlives this script and is not hit by signals sent to the caller's process group.
  nohup setsid "$@" >"$logfile" 2>&1 </dev/null &
  echo $! >"$STATE/$name.pid"
}

# JIT with the client compiler only, for every server here: a start is mostly class loading and compiling, and the
# server compiler's threads compete with the tests for a loaded machine's cores. A broker start took 15-24 s on two
# shared cores, 10-15 s without them; an S3Proxy start (to answering) 4.5-5.2 s, 2.2-3.1 s without them. A test
# server's load never needs the server compiler's code.
SERVER_JIT=(-XX:TieredStopAtLevel=1)

# ---------------------------------------------------------------- kafka
# What every test broker's server.properties ends with: one node, one partition, flts creating its topics itself.
kafka_common_properties() { # dir
  local dir="$1"
  cat <<EOF
log.dirs=$dir/data
num.partitions=1
num.network.threads=2
num.io.threads=2
offsets.topic.replication.factor=1
offsets.topic.num.partitions=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=1
group.initial.rebalance.delay.ms=0
# flts creates its topics explicitly, with the configured partition count.
auto.create.topics.enable=false
EOF
}

write_kafka_log4j() { # dir
  local dir="$1"
  cat >"$dir/log4j.properties" <<'EOF'
log4j.rootLogger=INFO, stdout
log4j.appender.stdout=org.apache.log4j.ConsoleAppender
log4j.appender.stdout.layout=org.apache.log4j.PatternLayout
log4j.appender.stdout.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.logger.org.apache.kafka=WARN
log4j.logger.kafka.request.logger=WARN
EOF
}

# Formats a broker's KRaft storage once (a restart keeps its data); arguments after -- go to the format tool.
format_kafka_storage() { # dir what java_opts... [-- format_args...]
  local dir="$1" what="$2" java_opts=() format_args=()
  shift 2
  while [ $# -gt 0 ] && [ "$1" != "--" ]; do java_opts+=("$1"); shift; done
  [ $# -gt 0 ] && shift
  format_args=("$@")
  [ -f "$dir/data/meta.properties" ] && return 0
  local cluster_id
  cluster_id="$(node -e 'console.log(require("crypto").randomBytes(16).toString("base64url"))')"
  java "${java_opts[@]}" -cp "$KAFKA_LIBS/*" kafka.tools.StorageTool format "--cluster-id=$cluster_id" --config "$dir/server.properties" ${format_args[@]+"${format_args[@]}"} >"$dir/format.log" 2>&1 \
    || { tail -n 20 "$dir/format.log" >&2; die "formatting $what failed"; }
}

start_kafka() {
  if is_running kafka; then log "kafka already running (pid $(pid_of kafka))"; return; fi
  local dir="$STATE/kafka"
  mkdir -p "$dir/data"
  cat >"$dir/server.properties" <<EOF
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$CONTROLLER_PORT
listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT,CONTROLLER://127.0.0.1:$CONTROLLER_PORT
advertised.listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
$(kafka_common_properties "$dir")
EOF
  # A test's own broker may override settings for one start (the last value of a key wins).
  [ -z "${FLTS_INFRA_KAFKA_PROPERTIES:-}" ] || printf '%s\n' "$FLTS_INFRA_KAFKA_PROPERTIES" >>"$dir/server.properties"
  write_kafka_log4j "$dir"
  local java_opts=(-Xms128m -Xmx512m -XX:+UseSerialGC "${SERVER_JIT[@]}" -Djava.awt.headless=true "-Dlog4j.configuration=file:$dir/log4j.properties")
  format_kafka_storage "$dir" "Kafka storage" "${java_opts[@]}"
  launch kafka "$dir/server.log" java "${java_opts[@]}" -cp "$KAFKA_LIBS/*" kafka.Kafka "$dir/server.properties"
  log "kafka starting on 127.0.0.1:$KAFKA_PORT (pid $(pid_of kafka))"
}

# ---------------------------------------------------------------- kafka-secure
# Never the broker other tests share: its client listeners need a login or a certificate. The inter-broker listener
# is plain, on loopback (with one node only the broker's own checks use it).
start_kafka_secure() {
  if is_running kafka-secure; then log "kafka-secure already running (pid $(pid_of kafka-secure))"; return; fi
  local dir="$STATE/kafka-secure" keys=(internal controller sasl-plaintext sasl-ssl ssl elsewhere) ports chosen=() i
  read -r -a ports <<<"${FLTS_INFRA_KAFKA_SECURE_PORTS:-}"
  for i in 0 1 2 3 4 5; do chosen+=("$(choose_port "secure-${keys[$i]}" "${ports[$i]:-}" $((19094 + i)))"); done
  local internal="${chosen[0]}" controller="${chosen[1]}" sasl="${chosen[2]}" sasl_ssl="${chosen[3]}" ssl="${chosen[4]}" elsewhere="${chosen[5]}"
  # ELSEWHERE's advertised address: its own port on another loopback address. The broker holds that port on 127.0.0.1,
  # so nothing else can listen on it on every address, and a connection to 127.0.0.2 is refused (or, where 127.0.0.2
  # is not routed to loopback, fails): always unreachable, never a port another server may take meanwhile.
  local unreachable="127.0.0.2:$elsewhere"
  mkdir -p "$dir/data"
  [ -f "$dir/tls/broker.pem" ] || bash "$SCRIPT_DIR/tls-certs.sh" "$dir/tls" || die "making test certificates failed"
  [ -f "$dir/scram-password" ] || node -e 'console.log(require("crypto").randomBytes(12).toString("hex"))' >"$dir/scram-password"
  [ -f "$dir/acl-password" ] || node -e 'console.log(require("crypto").randomBytes(12).toString("hex"))' >"$dir/acl-password"
  local password acl_password scram plain
  password="$(cat "$dir/scram-password")"
  acl_password="$(cat "$dir/acl-password")"
  scram="org.apache.kafka.common.security.scram.ScramLoginModule required;"
  plain="org.apache.kafka.common.security.plain.PlainLoginModule required user_flts=\"$password\";"
  cat >"$dir/server.properties" <<EOF
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$controller
listeners=INTERNAL://127.0.0.1:$internal,CONTROLLER://127.0.0.1:$controller,SASL_PLAINTEXT://127.0.0.1:$sasl,SASL_SSL://127.0.0.1:$sasl_ssl,SSL://127.0.0.1:$ssl,ELSEWHERE://127.0.0.1:$elsewhere
advertised.listeners=INTERNAL://127.0.0.1:$internal,SASL_PLAINTEXT://127.0.0.1:$sasl,SASL_SSL://127.0.0.1:$sasl_ssl,SSL://127.0.0.1:$ssl,ELSEWHERE://$unreachable
controller.listener.names=CONTROLLER
inter.broker.listener.name=INTERNAL
listener.security.protocol.map=CONTROLLER:PLAINTEXT,INTERNAL:PLAINTEXT,SASL_PLAINTEXT:SASL_PLAINTEXT,SASL_SSL:SASL_SSL,SSL:SSL,ELSEWHERE:PLAINTEXT
sasl.enabled.mechanisms=SCRAM-SHA-256,SCRAM-SHA-512
listener.name.sasl_plaintext.scram-sha-256.sasl.jaas.config=$scram
listener.name.sasl_plaintext.scram-sha-512.sasl.jaas.config=$scram
# PLAIN on the TLS listener only (where its password is not sent in the clear), so the SASL_PLAINTEXT one shows a
# mechanism a listener does not enable.
listener.name.sasl_ssl.sasl.enabled.mechanisms=SCRAM-SHA-256,SCRAM-SHA-512,PLAIN
listener.name.sasl_ssl.scram-sha-256.sasl.jaas.config=$scram
listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=$scram
listener.name.sasl_ssl.plain.sasl.jaas.config=$plain
ssl.keystore.type=PEM
ssl.keystore.location=$dir/tls/broker.pem
ssl.truststore.type=PEM
ssl.truststore.location=$dir/tls/ca.pem
listener.name.ssl.ssl.client.auth=required
# ACLs are enforced, so a refused permission can be tested for real. Super users: the plain controller and internal
# listeners (ANONYMOUS: the broker itself), the SCRAM user flts and the client certificate of the other tests.
# flts-acl has no ACL until a test grants one, and a resource without ACLs is denied to it.
authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer
super.users=User:ANONYMOUS;User:flts;User:CN=flts-client
allow.everyone.if.no.acl.found=false
$(kafka_common_properties "$dir")
EOF
  write_kafka_log4j "$dir"
  local java_opts=(-Xms128m -Xmx384m -XX:+UseSerialGC "${SERVER_JIT[@]}" -Djava.awt.headless=true "-Dlog4j.configuration=file:$dir/log4j.properties")
  # KRaft keeps SCRAM credentials in the metadata log: formatting with them makes the users exist from the start.
  local scram_users=(--add-scram "SCRAM-SHA-256=[name=flts,password=$password]" --add-scram "SCRAM-SHA-512=[name=flts,password=$password]" --add-scram "SCRAM-SHA-256=[name=flts-acl,password=$acl_password]")
  format_kafka_storage "$dir" "the kafka-secure storage" "${java_opts[@]}" -- "${scram_users[@]}"
  cat >"$dir/env" <<EOF
KAFKA_SECURE_SASL_PLAINTEXT_SERVERS=127.0.0.1:$sasl
KAFKA_SECURE_SASL_SSL_SERVERS=127.0.0.1:$sasl_ssl
KAFKA_SECURE_SSL_SERVERS=127.0.0.1:$ssl
KAFKA_SECURE_PLAINTEXT_SERVERS=127.0.0.1:$internal
KAFKA_SECURE_ADVERTISING_ELSEWHERE_SERVERS=127.0.0.1:$elsewhere
KAFKA_SECURE_UNREACHABLE_ADVERTISED=$unreachable
KAFKA_SECURE_SCRAM_USER=flts
KAFKA_SECURE_SCRAM_PASSWORD=$password
KAFKA_SECURE_ACL_USER=flts-acl
KAFKA_SECURE_ACL_PASSWORD=$acl_password
KAFKA_SECURE_CA_FILE=$dir/tls/ca.pem
KAFKA_SECURE_OTHER_CA_FILE=$dir/tls/other-ca.pem
KAFKA_SECURE_CLIENT_CERT_FILE=$dir/tls/client.pem
KAFKA_SECURE_CLIENT_KEY_FILE=$dir/tls/client.key
EOF
  launch kafka-secure "$dir/server.log" java "${java_opts[@]}" -cp "$KAFKA_LIBS/*" kafka.Kafka "$dir/server.properties"
  log "kafka-secure starting on 127.0.0.1:$sasl (SASL_PLAINTEXT), :$sasl_ssl (SASL_SSL), :$ssl (SSL, client certificate required), :$elsewhere (advertising $unreachable) (pid $(pid_of kafka-secure))"
}

# ---------------------------------------------------------------- s3proxy
start_s3() {
  if is_running s3; then log "s3proxy already running (pid $(pid_of s3))"; return; fi
  local dir="$STATE/s3"
  mkdir -p "$dir/data"
  cat >"$dir/s3proxy.conf" <<EOF
s3proxy.endpoint=http://127.0.0.1:$S3_PORT
s3proxy.authorization=aws-v2-or-v4
s3proxy.identity=$S3_USER
s3proxy.credential=$S3_PASSWORD
# A role's temporary credentials sign with a session token (x-amz-security-token), a header S3Proxy does not implement:
# it would refuse every such request, where it now checks the signature over it and ignores it.
s3proxy.ignore-unknown-headers=true
jclouds.provider=$S3_BACKEND
jclouds.identity=$S3_USER
jclouds.credential=$S3_PASSWORD
jclouds.filesystem.basedir=$dir/data
EOF
  cat >"$dir/logback.xml" <<'EOF'
<configuration>
  <appender name="OUT" class="ch.qos.logback.core.ConsoleAppender">
    <encoder><pattern>%d{HH:mm:ss.SSS} %-5level %logger{20} - %msg%n</pattern></encoder>
  </appender>
  <root level="WARN"><appender-ref ref="OUT"/></root>
  <logger name="org.gaul.s3proxy" level="INFO"/>
</configuration>
EOF
  launch s3 "$dir/server.log" java -Xms64m -Xmx512m -XX:+UseSerialGC "${SERVER_JIT[@]}" "-Dlogback.configurationFile=$dir/logback.xml" \
    -cp "$S3PROXY_LIBS/*" org.gaul.s3proxy.Main --properties "$dir/s3proxy.conf"
  log "s3proxy starting on 127.0.0.1:$S3_PORT (pid $(pid_of s3))"
}

# ---------------------------------------------------------------- readiness, env file
write_env() {
  cat >"$STATE/env" <<EOF
KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:$KAFKA_PORT
MINIO_ENDPOINT=127.0.0.1:$S3_PORT
MINIO_ROOT_USER=$S3_USER
MINIO_ROOT_PASSWORD=$S3_PASSWORD
MINIO_SECURE=false
AWS_DEFAULT_REGION=us-east-1
EOF
}

env_file() { if [ "$1" = kafka-secure ]; then echo "$STATE/kafka-secure/env"; else echo "$STATE/env"; fi; }

wait_ready() { # names...
  local deadline=$((SECONDS + TIMEOUT)) name
  for name in "$@"; do
    while :; do
      if ! is_running "$name"; then
        tail -n 40 "$STATE/$name/server.log" >&2 || true
        die "$name exited during startup (log: $STATE/$name/server.log)"
      fi
      if (set -a; . "$(env_file "$name")"; node "$SCRIPT_DIR/probe.mjs" "$name") 2>"$STATE/$name/probe.err"; then break; fi
      if [ "$SECONDS" -ge "$deadline" ]; then
        tail -n 40 "$STATE/$name/server.log" >&2 || true
        log "last probe error: $(tail -n 1 "$STATE/$name/probe.err")"
        die "$name not ready after ${TIMEOUT}s (log: $STATE/$name/server.log); stop it with: npm run infra:down"
      fi
      sleep 0.5
    done
    log "$name ready"
  done
}

stop_one() { # name
  local name="$1" pid
  pid="$(pid_of "$name")"
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    if kill -0 "$pid" 2>/dev/null; then log "$name did not stop in 30s; killing"; kill -KILL "$pid" 2>/dev/null || true; fi
    log "$name stopped (pid $pid)"
  fi
  rm -f "$STATE/$name.pid"
}

component() {
  case "${1:-}" in
    kafka | s3 | kafka-secure) echo "$1" ;;
    *) die "name one server: kafka, s3 or kafka-secure" ;;
  esac
}

cmd="${1:-}"
case "$cmd" in
  up)
    started=$SECONDS
    fetch_all
    resolve_ports
    write_env
    start_kafka
    start_s3
    wait_ready kafka s3
    log "up in $((SECONDS - started))s; endpoints in $STATE/env"
    cat "$STATE/env"
    ;;
  start)
    name="$(component "${2:-}")"
    fetch_all
    resolve_ports
    case "$name" in
      kafka) write_env; start_kafka ;;
      s3) write_env; start_s3 ;;
      kafka-secure) start_kafka_secure ;;
    esac
    wait_ready "$name"
    ;;
  fetch)
    fetch_all
    ;;
  stop)
    stop_one "$(component "${2:-}")"
    ;;
  down)
    stop_one kafka-secure
    stop_one kafka
    stop_one s3
    rm -rf "$STATE"
    log "down; state removed"
    ;;
  status)
    ok=0
    for name in kafka s3; do
      if is_running "$name"; then echo "$name: running (pid $(pid_of "$name"))"; else echo "$name: stopped"; ok=3; fi
    done
    if is_running kafka-secure; then echo "kafka-secure: running (pid $(pid_of kafka-secure)); variables in $STATE/kafka-secure/env"; fi
    [ -f "$STATE/env" ] && cat "$STATE/env"
    exit "$ok"
    ;;
  *)
    awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"
    exit 2
    ;;
esac
