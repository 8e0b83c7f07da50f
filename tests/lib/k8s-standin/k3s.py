"""Stand-in k3s (Drover tests; NOT k3s). k3s is one binary; so is this: a Python zipapp that
tests/lib/cluster.sh (cluster_k3s_build) makes of this file (its __main__), standin.py,
apiserver.py and kubectl, served to the nodes by URL as Drover would mirror the real one.

  k3s --version            answers like k3s ("k3s version v1.30.2+k3s1 (…)")
  k3s server               (k3s.service, Type=notify) reads /etc/rancher/k3s/config.yaml,
                           K3S_* and flags. Without `server` it is the first server: it
                           serves the stand-in API (apiserver.py, :6443) in this process,
                           records whether `cluster-init` (embedded etcd) was asked, writes
                           the cluster CA, /var/lib/rancher/k3s/server/node-token
                           (K10<sha256 of the CA>::server:<secret>) and the kubeconfig
                           /etc/rancher/k3s/k3s.yaml (write-kubeconfig-mode). With `server`
                           and `token` it joins as a control plane: refused when the token
                           is wrong, its CA hash does not match, or the first server does not
                           run embedded etcd (k3s cannot join a server on SQLite), or
                           another server is still joining (etcd takes one learner at a
                           time: servers join one at a time). Then it
                           notifies systemd and heartbeats its node.
  k3s agent                (k3s-agent.service) K3S_URL + K3S_TOKEN (or --server/--token, or
                           config.yaml) join as a worker; notify; heartbeat.
  k3s kubectl ARGS, or the binary called as `kubectl` (k3s is multi-call): the stand-in
                           kubectl, with KUBECONFIG defaulting to /etc/rancher/k3s/k3s.yaml.

Every call is recorded in /var/log/drover-standin/calls.log. The stand-in API speaks plain
HTTP where k3s speaks TLS: https:// URLs are used as http:// (standin.api).
"""
import hashlib
import os
import runpy
import socket
import subprocess
import sys
import threading
import time

import yaml

from standin import api, die, record

VERSION = "v1.30.2+k3s1"
COMMIT = "faeaf1b0"
CONFIG = "/etc/rancher/k3s/config.yaml"
DATA = "/var/lib/rancher/k3s"
TOKEN_FILE = DATA + "/server/node-token"
CA_FILE = DATA + "/server/tls/server-ca.crt"
JOINED = DATA + "/agent/kubelet.kubeconfig"
KUBECONFIG = "/etc/rancher/k3s/k3s.yaml"
LEARNER_SECONDS = 2  # a joining server is an etcd learner this long (one at a time)

if os.path.basename(sys.argv[0]) == "kubectl" or sys.argv[1:2] == ["kubectl"]:
    os.environ.setdefault("KUBECONFIG", KUBECONFIG)
    sys.argv = ["kubectl"] + sys.argv[(1 if os.path.basename(sys.argv[0]) == "kubectl" else 2):]
    record("k3s")
    runpy.run_module("kubectl", run_name="__main__")
    sys.exit(0)

record("k3s")
args = sys.argv[1:]


def write(path, text, mode=0o600):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, mode)


def options(sub):
    """config.yaml, then K3S_* from the environment, then flags (as k3s merges them)."""
    o = {}
    cfg = "/etc/rancher/k3s/config.yaml"
    rest = args[1:]
    for i, a in enumerate(rest):
        if a in ("-c", "--config") and i + 1 < len(rest):
            cfg = rest[i + 1]
    if os.path.exists(cfg):
        try:
            with open(cfg) as f:
                o.update(yaml.safe_load(f) or {})
        except yaml.YAMLError as e:
            die('level=fatal msg="Error: failed to parse %s: %s"' % (cfg, e))
        if not isinstance(o, dict):
            die('level=fatal msg="Error: %s: not a map"' % cfg)
    for env, key in (("K3S_URL", "server"), ("K3S_TOKEN", "token"), ("K3S_NODE_NAME", "node-name"),
                     ("K3S_CLUSTER_INIT", "cluster-init")):
        if os.environ.get(env):
            o[key] = os.environ[env]
    i = 0
    while i < len(rest):
        a = rest[i]
        if a.startswith("--"):
            k, eq, v = a[2:].partition("=")
            if k in ("cluster-init", "disable-agent"):
                o[k] = True
            elif eq:
                o[k] = v
            elif i + 1 < len(rest):
                o[k] = rest[i + 1]
                i += 1
        i += 1
    if sub == "agent" and not o.get("server"):
        die('level=fatal msg="Error: --server is required"')
    if o.get("server") and not o.get("token"):
        die('level=fatal msg="Error: --token is required"')
    return o


def notify_ready():
    path = os.environ.get("NOTIFY_SOCKET")
    if not path:
        return
    if path.startswith("@"):
        path = "\0" + path[1:]
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    try:
        s.sendto(b"READY=1", path)
    finally:
        s.close()


def kubeconfig(server, mode):
    write(KUBECONFIG, "apiVersion: v1\nkind: Config\nclusters:\n- cluster:\n    server: %s\n  name: default\n"
          "contexts:\n- context:\n    cluster: default\n    user: default\n  name: default\n"
          "current-context: default\nusers:\n- name: default\n" % server, int(str(mode), 8))


def parse_token(token):
    """(ca hash or None, secret) of a K10 token, a bare secret, or server:secret."""
    if token.startswith("K10") and "::" in token:
        h, _, cred = token[3:].partition("::")
        return h, cred.split(":", 1)[1] if ":" in cred else cred
    return None, token.split(":", 1)[1] if token.startswith("server:") else token


def join(server, o, control_plane):
    ca_hash, secret = parse_token(str(o["token"]))
    st, ca = api(server, "GET", "/cacerts")
    if st != 200:
        die('level=fatal msg="starting kubernetes: preparing server: failed to get CA certs: %s"' % ca)
    if ca_hash and hashlib.sha256(ca.encode()).hexdigest() != ca_hash:
        die('level=fatal msg="token CA hash does not match the Cluster CA certificate hash: %s != %s"'
            % (ca_hash, hashlib.sha256(ca.encode()).hexdigest()))
    node = o.get("node-name") or os.uname().nodename
    st, r = api(server, "POST", "/join", {"token": secret, "node": node, "control_plane": control_plane,
                                          "k3s": True, "version": VERSION})
    if st != 201:
        die('level=fatal msg="%s"' % r["message"])
    if control_plane:  # an etcd learner until it caught up, then promoted to a voting member
        time.sleep(LEARNER_SECONDS)
        api(server, "POST", "/nodes/%s/promote" % node, {})
    write(CA_FILE, ca, 0o644)
    return node


def heartbeat(server, node):
    notify_ready()
    while True:
        try:
            api(server, "POST", "/nodes/%s/heartbeat" % node, {})
        except SystemExit:
            pass
        time.sleep(5)


if args[:1] in (["--version"], ["-v"], ["version"]):
    print("k3s version %s (%s)" % (VERSION, COMMIT))
    print("go version go1.22.4")
elif args[:1] == ["server"]:
    o = options("server")
    node = o.get("node-name") or os.uname().nodename
    if not o.get("server"):
        import apiserver
        os.makedirs(os.path.dirname(apiserver.STATE), exist_ok=True)
        srv = apiserver.ThreadingHTTPServer(("0.0.0.0", 6443), apiserver.Handler)
        threading.Thread(target=srv.serve_forever, daemon=True).start()
        local = "http://127.0.0.1:6443"
        if not os.path.exists(CA_FILE):
            os.makedirs(os.path.dirname(CA_FILE), exist_ok=True)
            subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                            "-nodes", "-keyout", DATA + "/server/tls/server-ca.key", "-out", CA_FILE,
                            "-subj", "/CN=k3s-server-ca@%d" % time.time(), "-days", "3650"],
                           check=True, capture_output=True)
        ca = open(CA_FILE).read()
        if not os.path.exists(TOKEN_FILE):
            secret = str(o["token"]) if o.get("token") else os.urandom(16).hex()
            write(TOKEN_FILE, "K10%s::server:%s\n" % (hashlib.sha256(ca.encode()).hexdigest(), secret))
        secret = parse_token(open(TOKEN_FILE).read().strip())[1]
        st, r = api(local, "POST", "/k3s/bootstrap",
                    {"token": secret, "cacerts": ca, "cluster_init": bool(o.get("cluster-init"))})
        if st != 200:
            die('level=fatal msg="%s"' % r["message"])
        if not os.path.exists(JOINED):
            st, r = api(local, "POST", "/join", {"token": secret, "node": node, "control_plane": True,
                                                 "k3s": True, "init": True, "version": VERSION})
            if st != 201:
                die('level=fatal msg="%s"' % r["message"])
            write(JOINED, "server: https://127.0.0.1:6443\n")
        kubeconfig("https://127.0.0.1:6443", o.get("write-kubeconfig-mode", "0600"))
        heartbeat(local, node)
    else:
        server = str(o["server"])
        if not os.path.exists(JOINED):
            node = join(server, o, True)
            write(TOKEN_FILE, str(o["token"]).strip() + "\n")
            write(JOINED, "server: %s\n" % server)
        # (each real server serves the API itself; the stand-in API runs on the first only)
        kubeconfig(server, o.get("write-kubeconfig-mode", "0600"))
        heartbeat(server, node)
elif args[:1] == ["agent"]:
    o = options("agent")
    server = str(o["server"])
    node = o.get("node-name") or os.uname().nodename
    if not os.path.exists(JOINED):
        node = join(server, o, False)
        write(JOINED, "server: %s\n" % server)
    heartbeat(server, node)
else:
    die('Incorrect Usage: unknown command %r (stand-in k3s: server, agent, kubectl, --version)'
        % " ".join(args))
