"""Shared by Drover's stand-in Kubernetes tools (tests only; see tests/lib/k8s-standin/).

kubeadm, kubelet, kubectl, istioctl and linkerd are not packaged in Debian. The cluster
tests install these stand-ins instead: every call is recorded in CALLS, and the cluster's
state lives in one small HTTP API (apiserver.py, started by `kubeadm init` on the first
control plane at port 6443) that the stand-ins talk to, as the real tools talk to
kube-apiserver: tokens made by `kubeadm token create` are checked by `kubeadm join`, nodes
are Ready while their kubelet heartbeats, drains go through an eviction check that honours
PodDisruptionBudgets.
"""
import json
import os
import re
import sys
import time
import urllib.error
import urllib.request

CALLS = "/var/log/drover-standin/calls.log"


def record(tool):
    os.makedirs(os.path.dirname(CALLS), exist_ok=True)
    with open(CALLS, "a") as f:
        f.write("%d %s %s\n" % (time.time(), tool, " ".join(sys.argv[1:])))


def die(msg, code=1):
    sys.stderr.write(msg.rstrip("\n") + "\n")
    sys.exit(code)


def server_of(kubeconfig):
    paths = [kubeconfig] if kubeconfig else []
    if os.environ.get("KUBECONFIG"):
        paths.append(os.environ["KUBECONFIG"])
    paths += [os.path.expanduser("~/.kube/config"), "/etc/kubernetes/admin.conf"]
    for p in paths:
        try:
            with open(p) as f:
                m = re.search(r"server:\s*(\S+)", f.read())
                if m:
                    return m.group(1)
        except OSError:
            if p == kubeconfig:
                die("error: stat %s: no such file or directory" % p)
    die("The connection to the server localhost:8080 was refused - did you specify the right host or port?")


def api(server, method, path, body=None):
    """(status, decoded JSON) of one request; exits like kubectl when the server is down."""
    data = json.dumps(body).encode() if body is not None else None
    if server.startswith("https://"):  # k3s's URLs: the stand-in API speaks plain HTTP
        server = "http://" + server[8:]
    req = urllib.request.Request(server + path, data=data, method=method,
                                 headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, json.loads(r.read() or b"null")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"null")
    except (urllib.error.URLError, OSError) as e:
        die("The connection to the server %s was refused - did you specify the right host or port? (%s)"
            % (server.split("//")[-1], e))
