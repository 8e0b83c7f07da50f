#!/usr/bin/env python3
"""repogen.py - generated upstream repositories for the content tests and benchmark.

    repogen.py yum DIR COUNT SIZE   an rpm-md repository of COUNT packages of SIZE bytes
    repogen.py apt DIR COUNT SIZE   a Debian repository (bookworm/main/amd64) of the same

Package files are random bytes: a sync moves and verifies files, it does not open them,
so what is measured is metadata handling, transfers and the pool, as with real packages.
The metadata is complete rpm-md (primary, filelists, other) and Debian Packages/Release.
"""
import gzip
import hashlib
import lzma
import os
import sys
import time


def files(root, count, size, path_of):
    """Write COUNT files; yield (name, relative path, sha256, size)."""
    seed = os.urandom(size)
    for i in range(count):
        name = "pkg%05d" % i
        rel = path_of(name)
        os.makedirs(os.path.join(root, os.path.dirname(rel)), exist_ok=True)
        data = i.to_bytes(8, "little") + seed[8:]
        with open(os.path.join(root, rel), "wb") as f:
            f.write(data)
        yield name, rel, hashlib.sha256(data).hexdigest(), len(data)


def repomd_entry(root, kind, text):
    raw = text.encode()
    gz = gzip.compress(raw, 6)
    s = hashlib.sha256(gz).hexdigest()
    href = "repodata/%s-%s.xml.gz" % (s, kind)
    with open(os.path.join(root, href), "wb") as f:
        f.write(gz)
    return (
        '  <data type="%s">\n    <checksum type="sha256">%s</checksum>\n'
        '    <open-checksum type="sha256">%s</open-checksum>\n'
        '    <location href="%s"/>\n    <timestamp>%d</timestamp>\n'
        "    <size>%d</size>\n    <open-size>%d</open-size>\n  </data>\n"
        % (kind, s, hashlib.sha256(raw).hexdigest(), href, int(time.time()), len(gz), len(raw))
    )


def yum(root, count, size):
    os.makedirs(os.path.join(root, "repodata"), exist_ok=True)
    primary, filelists, other = [], [], []
    for name, rel, sha, n in files(root, count, size, lambda p: "Packages/%s/%s-1.0-1.noarch.rpm" % (p[-1], p)):
        primary.append(
            '<package type="rpm"><name>%s</name><arch>noarch</arch>'
            '<version epoch="0" ver="1.0" rel="1"/>'
            '<checksum type="sha256" pkgid="YES">%s</checksum>'
            "<summary>benchmark package %s</summary><description>A benchmark package.</description>"
            "<packager/><url/><time file=\"1700000000\" build=\"1700000000\"/>"
            '<size package="%d" installed="%d" archive="%d"/><location href="%s"/>'
            "<format><rpm:license>MIT</rpm:license><rpm:group>Unspecified</rpm:group>"
            "<rpm:buildhost>bench</rpm:buildhost><rpm:sourcerpm>%s-1.0-1.src.rpm</rpm:sourcerpm>"
            '<rpm:header-range start="4504" end="5000"/>'
            '<rpm:provides><rpm:entry name="%s" flags="EQ" epoch="0" ver="1.0" rel="1"/></rpm:provides>'
            "</format></package>" % (name, sha, name, n, n, n, rel, name, name)
        )
        filelists.append(
            '<package pkgid="%s" name="%s" arch="noarch"><version epoch="0" ver="1.0" rel="1"/>'
            "<file>/usr/share/%s/README</file></package>" % (sha, name, name)
        )
        other.append(
            '<package pkgid="%s" name="%s" arch="noarch"><version epoch="0" ver="1.0" rel="1"/>'
            "</package>" % (sha, name)
        )
    common = 'xmlns="http://linux.duke.edu/metadata/common" xmlns:rpm="http://linux.duke.edu/metadata/rpm"'
    md = '<?xml version="1.0" encoding="UTF-8"?>\n<repomd xmlns="http://linux.duke.edu/metadata/repo" xmlns:rpm="http://linux.duke.edu/metadata/rpm">\n'
    md += "  <revision>%d</revision>\n" % int(time.time())
    md += repomd_entry(root, "primary", '<?xml version="1.0" encoding="UTF-8"?>\n<metadata %s packages="%d">\n%s\n</metadata>\n' % (common, count, "\n".join(primary)))
    md += repomd_entry(root, "filelists", '<?xml version="1.0" encoding="UTF-8"?>\n<filelists xmlns="http://linux.duke.edu/metadata/filelists" packages="%d">\n%s\n</filelists>\n' % (count, "\n".join(filelists)))
    md += repomd_entry(root, "other", '<?xml version="1.0" encoding="UTF-8"?>\n<otherdata xmlns="http://linux.duke.edu/metadata/other" packages="%d">\n%s\n</otherdata>\n' % (count, "\n".join(other)))
    md += "</repomd>\n"
    with open(os.path.join(root, "repodata/repomd.xml"), "w") as f:
        f.write(md)


def apt(root, count, size):
    stanzas = []
    for name, rel, sha, n in files(root, count, size, lambda p: "pool/main/%s/%s/%s_1.0-1_all.deb" % (p[-1], p, p)):
        stanzas.append(
            "Package: %s\nVersion: 1.0-1\nArchitecture: all\nMaintainer: Bench <b@example.org>\n"
            "Installed-Size: 1\nFilename: %s\nSize: %d\nSHA256: %s\nSection: misc\nPriority: optional\n"
            "Description: benchmark package %s\n" % (name, rel, n, sha, name)
        )
    d = os.path.join(root, "dists/bookworm/main/binary-amd64")
    os.makedirs(d, exist_ok=True)
    text = "\n".join(stanzas).encode()
    index = {"main/binary-amd64/Packages": text, "main/binary-amd64/Packages.xz": lzma.compress(text), "main/binary-amd64/Packages.gz": gzip.compress(text)}
    for rel, data in index.items():
        with open(os.path.join(root, "dists/bookworm", rel), "wb") as f:
            f.write(data)
    release = "Origin: bench\nLabel: bench\nSuite: bookworm\nCodename: bookworm\nDate: %s\nArchitectures: amd64\nComponents: main\nSHA256:\n" % time.strftime("%a, %d %b %Y %H:%M:%S UTC", time.gmtime())
    for rel, data in index.items():
        release += " %s %d %s\n" % (hashlib.sha256(data).hexdigest(), len(data), rel)
    with open(os.path.join(root, "dists/bookworm/Release"), "w") as f:
        f.write(release)


if __name__ == "__main__":
    kind, root, count, size = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    {"yum": yum, "apt": apt}[kind](root, count, size)
