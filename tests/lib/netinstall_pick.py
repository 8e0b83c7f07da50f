#!/usr/bin/env python3
"""netinstall_pick.py - pick packages from a Debian Packages index (tests/lib/netinstall.sh).

  netinstall_pick.py udebs PACKAGES STATUS KVER [EXTRA...]
      the udebs d-i's anna and its components fetch from a mirror: those of priority
      standard or higher, every kernel-module udeb of kernel KVER (hw-detect installs
      the drivers of what it finds), the EXTRA names, and what they depend on; none the
      initrd already holds (STATUS, its /var/lib/dpkg/status) nor of another kernel.
      Prints one name a line.
  netinstall_pick.py index PACKAGES DIR [STATUS]
      the stanzas of PACKAGES whose files are in DIR (by basename, less the epoch
      apt-get download writes as "N%3a"), Filename rewritten to pool/main/<basename>: the
      mirror's own Packages file, keeping the archive's priorities (debootstrap and
      tasksel choose by them). With STATUS (the initrd's, for udebs), only those whose
      dependencies the others and STATUS satisfy: anna then installs what it can.
"""
import os
import re
import sys


def stanzas(path):
    """Yield (dict, text) for each stanza of a deb822 file."""
    with open(path, encoding="utf-8", errors="replace") as f:
        text = f.read()
    for block in text.split("\n\n"):
        if not block.strip():
            continue
        d = {}
        key = None
        for line in block.split("\n"):
            if line[:1] in (" ", "\t") and key:
                d[key] += "\n" + line
            elif ":" in line:
                key, val = line.split(":", 1)
                d[key] = val.strip()
        yield d, block.strip("\n")


def deps(field):
    """The alternatives of a Depends field: a list of lists of names."""
    out = []
    for alt in field.split(","):
        names = [re.sub(r"\s*[(\[].*", "", a).strip() for a in alt.split("|")]
        names = [n for n in names if n]
        if names:
            out.append(names)
    return out


def udebs(index, status, kver, extra):
    """Print the udebs to fetch."""
    installed = set()
    for d, _ in stanzas(status):
        installed.add(d.get("Package"))
        for p in deps(d.get("Provides", "")):
            installed.update(p)
    pkgs = {}
    provides = {}
    for d, _ in stanzas(index):
        kv = d.get("Kernel-Version")
        if kv and kv != kver:
            continue
        pkgs[d["Package"]] = d
        for p in deps(d.get("Provides", "")):
            provides.setdefault(p[0], d["Package"])
    want = [n for n, d in pkgs.items()
            if d.get("Priority") in ("required", "important", "standard")
            or d.get("Kernel-Version") == kver]
    want += [n for n in extra if n in pkgs]
    chosen = set()
    while want:
        n = want.pop()
        if n in chosen or n in installed:
            continue
        if n not in pkgs:
            if n in provides:
                want.append(provides[n])
            continue
        chosen.add(n)
        for alts in deps(pkgs[n].get("Depends", "")):
            if any(a in installed or a in chosen for a in alts):
                continue
            want.append(alts[0])
    for n in sorted(chosen):
        print(n)


def provided(stanza_list):
    """The names a list of stanzas installs or provides."""
    out = set()
    for d in stanza_list:
        out.add(d.get("Package"))
        for p in deps(d.get("Provides", "")):
            out.update(p)
    return out


def index(path, directory, status=None):
    """Print the stanzas of the files in directory."""
    have = set(re.sub(r"_[0-9]+%3a", "_", f) for f in os.listdir(directory))
    kept = []
    for d, text in stanzas(path):
        base = os.path.basename(d.get("Filename", ""))
        if base in have:
            have.discard(base)
            kept.append((d, re.sub(r"(?m)^Filename: .*$", "Filename: pool/main/" + base, text)))
    if status:
        installed = provided(d for d, _ in stanzas(status))
        while True:
            names = installed | provided(d for d, _ in kept)
            ok = [(d, t) for d, t in kept
                  if all(any(a in names for a in alts) for alts in deps(d.get("Depends", "")))]
            if len(ok) == len(kept):
                break
            kept = ok
    for _, text in kept:
        print(text)
        print()


if __name__ == "__main__":
    if len(sys.argv) >= 5 and sys.argv[1] == "udebs":
        udebs(sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5:])
    elif len(sys.argv) in (4, 5) and sys.argv[1] == "index":
        index(*sys.argv[2:])
    else:
        sys.exit(__doc__)
