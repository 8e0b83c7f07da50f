#!/usr/bin/python3
"""Stand-in kube-apiserver for Drover's cluster tests (NOT Kubernetes): the cluster state
the stand-in tools share, as JSON over HTTP on :6443, kept in STATE across restarts."""
import json
import os
import re
import secrets
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

STATE = "/var/lib/drover-standin/cluster.json"
LOCK = threading.Lock()
READY_WINDOW = 30  # seconds since the kubelet's last heartbeat


def load():
    try:
        with open(STATE) as f:
            return json.load(f)
    except OSError:
        return {"tokens": {}, "certkey": None, "nodes": {}, "objects": {}}


def save(s):
    tmp = STATE + ".tmp"
    with open(tmp, "w") as f:
        json.dump(s, f, indent=1, sort_keys=True)
    os.replace(tmp, STATE)


def node_view(n, name):
    ready = time.time() - n.get("heartbeat", 0) < READY_WINDOW
    return {"name": name, "roles": n["roles"], "ready": ready,
            "unschedulable": n.get("unschedulable", False), "version": n.get("version", "")}


def pdb_blocks(s, pod):
    """The PDB that refuses evicting pod, or None."""
    for key, pdb in s["objects"].items():
        if not key.startswith("PodDisruptionBudget/"):
            continue
        sel = pdb.get("spec", {}).get("selector", {}).get("matchLabels", {})
        if pdb["metadata"].get("namespace") != pod["metadata"].get("namespace"):
            continue
        labels = pod["metadata"].get("labels", {})
        if not sel or any(labels.get(k) != v for k, v in sel.items()):
            continue
        healthy = sum(1 for k, p in s["objects"].items() if k.startswith("Pod/")
                      and p["metadata"].get("namespace") == pod["metadata"].get("namespace")
                      and all(p["metadata"].get("labels", {}).get(a) == b for a, b in sel.items()))
        if healthy - int(pdb["spec"].get("minAvailable", 0)) < 1:
            return pdb["metadata"]["name"]
    return None


class Handler(BaseHTTPRequestHandler):
    def reply(self, code, obj):
        b = json.dumps(obj).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(b)))
        self.end_headers()
        self.wfile.write(b)

    def body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return json.loads(self.rfile.read(n) or b"{}")

    def log_message(self, fmt, *args):
        sys.stderr.write("apiserver: " + fmt % args + "\n")

    def do_GET(self):
        with LOCK:
            s = load()
            p = self.path
            if p == "/nodes":
                return self.reply(200, [node_view(n, k) for k, n in sorted(s["nodes"].items())])
            m = re.fullmatch(r"/nodes/([^/]+)", p)
            if m:
                n = s["nodes"].get(m.group(1))
                return self.reply(200, node_view(n, m.group(1))) if n else \
                    self.reply(404, {"message": 'nodes "%s" not found' % m.group(1)})
            m = re.fullmatch(r"/objects/([^/]+)/([^/]*)/([^/]+)", p)
            if m:
                o = s["objects"].get("%s/%s/%s" % m.groups())
                return self.reply(200, o) if o else self.reply(404, {"message": "not found"})
            m = re.fullmatch(r"/objects/([^/]+)/([^/]*)", p)
            if m:
                pre = "%s/%s/" % m.groups()
                return self.reply(200, [o for k, o in sorted(s["objects"].items())
                                        if k.startswith(pre) or (m.group(2) == "*" and k.startswith(m.group(1) + "/"))])
            if p == "/cacerts":  # k3s: the cluster CA a joining node checks its token against
                k = s.get("k3s")
                return self.reply(200, k["cacerts"]) if k else self.reply(404, {"message": "no k3s server"})
            return self.reply(404, {"message": "no route " + p})

    def do_POST(self):
        with LOCK:
            s = load()
            p = self.path
            b = self.body()
            now = time.time()
            if p == "/tokens":
                t = "%s.%s" % (secrets.token_hex(3), secrets.token_hex(8))
                s["tokens"][t] = now + int(b.get("ttl", 86400))
                save(s)
                return self.reply(201, {"token": t})
            if p == "/certkey":
                s["certkey"] = secrets.token_hex(32)
                save(s)
                return self.reply(201, {"key": s["certkey"]})
            if p == "/k3s/bootstrap":  # the first k3s server (at every start): its token, CA, datastore
                k = s.get("k3s")
                if k and k["token"] != b["token"]:
                    return self.reply(409, {"message": "bootstrap data already exists with another token"})
                if k and k["cluster_init"] and not b.get("cluster_init"):
                    return self.reply(409, {"message": "embedded etcd cannot be turned back into SQLite"})
                s["k3s"] = {"token": b["token"], "cacerts": b["cacerts"],
                            "cluster_init": bool(b.get("cluster_init"))}
                s["tokens"][b["token"]] = now + 10 * 365 * 86400
                save(s)
                return self.reply(200, s["k3s"])
            if p == "/join":
                if s["tokens"].get(b.get("token"), 0) < now:
                    return self.reply(403, {"message": "token id %r is invalid or expired" % b.get("token")})
                k3s = s.get("k3s")
                if b.get("k3s") and not (k3s and k3s["token"] == b.get("token")):
                    return self.reply(403, {"message": "Node password rejected: the token is not this cluster's"})
                if b.get("k3s") and b.get("control_plane") and not b.get("init") and not k3s["cluster_init"]:
                    return self.reply(403, {"message": "ETCD join failed: etcd disabled: the first server runs "
                                                       "on SQLite (start it with --cluster-init to add servers)"})
                if b.get("k3s") and b.get("control_plane") and not b.get("init") and \
                        any(n.get("learner") for n in s["nodes"].values()):
                    # etcd: one learner at a time; k3s servers join as learners, then are promoted
                    return self.reply(409, {"message": "etcdserver: too many learner members in cluster"})
                if b.get("control_plane") and not b.get("k3s") and b.get("certificate_key") != s.get("certkey"):
                    return self.reply(403, {"message": "the certificate key does not decrypt kubeadm-certs"})
                name = b["node"]
                if name in s["nodes"]:
                    return self.reply(409, {"message": 'a Node with name "%s" already exists' % name})
                s["nodes"][name] = {"roles": ["control-plane"] if b.get("control_plane") else [],
                                    "joined": now, "version": b.get("version", "")}
                if b.get("k3s") and b.get("control_plane") and not b.get("init"):
                    s["nodes"][name]["learner"] = True
                save(s)
                return self.reply(201, node_view(s["nodes"][name], name))
            m = re.fullmatch(r"/nodes/([^/]+)/promote", p)
            if m and m.group(1) in s["nodes"]:  # k3s: the etcd learner caught up
                s["nodes"][m.group(1)].pop("learner", None)
                save(s)
                return self.reply(200, {})
            m = re.fullmatch(r"/nodes/([^/]+)/(heartbeat|cordon|uncordon|drain)", p)
            if m:
                name, verb = m.groups()
                n = s["nodes"].get(name)
                if not n:
                    return self.reply(404, {"message": 'nodes "%s" not found' % name})
                if verb == "heartbeat":
                    n["heartbeat"] = now
                    save(s)
                    return self.reply(200, {})
                if verb in ("cordon", "uncordon"):
                    want = verb == "cordon"
                    changed = n.get("unschedulable", False) != want
                    n["unschedulable"] = want
                    save(s)
                    return self.reply(200, {"changed": changed})
                # drain: evict every pod on the node, unless a PDB refuses one
                pods = [k for k, o in s["objects"].items() if k.startswith("Pod/")
                        and o.get("spec", {}).get("nodeName") == name]
                evicted = []
                for k in sorted(pods):
                    pod = s["objects"][k]
                    pdb = pdb_blocks(s, pod)
                    if pdb:
                        return self.reply(429, {"message": "Cannot evict pod as it would violate the pod's disruption budget.",
                                                "pod": "%s/%s" % (pod["metadata"]["namespace"], pod["metadata"]["name"]),
                                                "pdb": pdb, "evicted": evicted})
                    del s["objects"][k]
                    evicted.append("%s/%s" % (pod["metadata"]["namespace"], pod["metadata"]["name"]))
                save(s)
                return self.reply(200, {"evicted": evicted})
            return self.reply(404, {"message": "no route " + p})

    def do_PUT(self):
        with LOCK:
            s = load()
            m = re.fullmatch(r"/objects/([^/]+)/([^/]*)/([^/]+)", self.path)
            if not m:
                return self.reply(404, {"message": "no route"})
            key = "%s/%s/%s" % m.groups()
            b = self.body()
            old = s["objects"].get(key)
            s["objects"][key] = b
            save(s)
            return self.reply(200, {"result": "created" if old is None else
                                    ("unchanged" if old == b else "configured")})

    def do_DELETE(self):
        with LOCK:
            s = load()
            m = re.fullmatch(r"/objects/([^/]+)/([^/]*)/([^/]+)", self.path)
            key = "%s/%s/%s" % m.groups() if m else ""
            if key not in s["objects"]:
                return self.reply(404, {"message": "not found"})
            del s["objects"][key]
            save(s)
            return self.reply(200, {})


if __name__ == "__main__":
    os.makedirs(os.path.dirname(STATE), exist_ok=True)
    ThreadingHTTPServer(("0.0.0.0", 6443), Handler).serve_forever()
