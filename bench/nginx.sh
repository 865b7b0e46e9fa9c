# bench/nginx.sh — sourced by the benchmarks: nginx (Debian's nginx-light)
# answering the seed's routes with fixed texts from memory, no logging —
# the ceiling for any HTTP endpoint on this machine.
#
#   . bench/nginx.sh
#   nginx_start DIR WORKERS     starts it in the background on a free loopback
#                               port (config and pid file in DIR); sets
#                               NGINX_PORT and NGINX_PIDS (master and workers,
#                               for CPU accounting). Returns 1 if it does not
#                               listen within 10 s.
#   nginx_stop                  stops it (the benchmarks also kill it on exit)
#
# Installs nginx-light when missing (apt-get; sudo when not root).
nginx_start() {
    local dir="$1" workers="$2" i
    if ! command -v nginx >/dev/null; then
        local sudo=""; [ "$(id -u)" = 0 ] || sudo=sudo
        DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends nginx-light >/dev/null ||
            return 1
    fi
    mkdir -p "$dir"
    NGINX_PORT="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
    cat > "$dir/nginx.conf" <<CONF
worker_processes $workers;
pid $dir/nginx.pid;
error_log $dir/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  keepalive_requests 100000000;
  keepalive_timeout 300s;
  client_body_temp_path $dir/body; proxy_temp_path $dir/proxy; fastcgi_temp_path $dir/fastcgi;
  uwsgi_temp_path $dir/uwsgi; scgi_temp_path $dir/scgi;
  default_type text/plain;
  server {
    listen 127.0.0.1:$NGINX_PORT backlog=4096 reuseport;
    location = / { return 200 "This is the default response!\n"; }
    location = /purchase_a_sword { return 200 "Sword Purchased!\n"; }
    location = /join_guild { return 200 "Guild joined!\n"; }
    location = /events { return 200 '{"accepted":1}\n'; }
    location / { return 404 '{"error":"not found"}\n'; }
  }
}
CONF
    nginx -c "$dir/nginx.conf" -p "$dir" -g 'daemon off;' 2>>"$dir/error.log" &
    NGINX_MASTER=$!
    for ((i = 0; i < 200; i++)); do
        if (exec 3<>"/dev/tcp/127.0.0.1/$NGINX_PORT") 2>/dev/null; then
            NGINX_PIDS="$(pgrep -P "$NGINX_MASTER" | tr '\n' ' ')$NGINX_MASTER"
            return 0
        fi
        sleep 0.05
    done
    echo "nginx did not start:" >&2; cat "$dir/error.log" >&2
    return 1
}

nginx_stop() {
    [ -n "${NGINX_MASTER:-}" ] || return 0
    kill "$NGINX_MASTER" 2>/dev/null
    wait "$NGINX_MASTER" 2>/dev/null
    NGINX_MASTER=""
    return 0
}
