#!/usr/bin/env python3
"""facts_compare.py OURS.json ANSIBLE_SETUP_OUTPUT - compare our facts with ansible-core's.

OURS is facts_gather's object (keys without the ansible_ prefix); the second file is what
`ansible HOST -m setup` printed ("host | SUCCESS => {...}"). Prints one line per fact that
differs and exits 1 when any does. Facts that change between two runs (free memory, time,
the SSH client's port) are compared for presence or within a margin only.
"""
import json
import sys

SAME = [
    "distribution", "distribution_version", "distribution_major_version",
    "distribution_minor_version", "distribution_release", "os_family", "pkg_mgr",
    "service_mgr", "hostname", "fqdn", "nodename", "domain", "default_ipv4", "default_ipv6",
    "architecture", "kernel", "kernel_version", "machine", "system", "processor_vcpus",
    "processor_count", "processor_cores", "processor_threads_per_core", "processor_nproc",
    "processor", "memtotal_mb", "swaptotal_mb", "mounts", "user_id", "user_uid",
    "user_gid", "user_dir", "user_shell", "user_gecos", "effective_user_id",
    "effective_group_id", "real_user_id", "real_group_id", "virtualization_type",
    "virtualization_role", "all_ipv4_addresses", "all_ipv6_addresses",
    "userspace_architecture",
]
SETS = ["interfaces"]
DATE_SAME = ["tz", "tz_dst", "tz_offset", "date", "year", "month", "day", "weekday",
             "weekday_number", "weeknumber"]
ENV_SAME = ["HOME", "USER", "LOGNAME", "SHELL", "PATH"]


def main():
    ours = json.load(open(sys.argv[1]))
    text = open(sys.argv[2]).read()
    theirs = json.loads(text[text.index("{"):])["ansible_facts"]
    bad = 0

    def differ(name, a, b):
        nonlocal bad
        bad += 1
        print(f"{name}: ours {json.dumps(a, sort_keys=True)} ansible {json.dumps(b, sort_keys=True)}")

    for k in SAME:
        a, b = ours.get(k, "MISSING"), theirs.get("ansible_" + k, "MISSING")
        if a != b:
            differ(k, a, b)
    for k in SETS:
        if sorted(ours.get(k, [])) != sorted(theirs.get("ansible_" + k, [])):
            differ(k, ours.get(k), theirs.get("ansible_" + k))
    for i in theirs.get("ansible_interfaces", []):
        key = i.replace("-", "_").replace(":", "_").replace(".", "_")
        a, b = dict(ours.get(key, {})), dict(theirs.get("ansible_" + key, {}))
        # Ansible adds driver details (module, pciid, features) we do not collect
        for extra in ("features", "module", "pciid", "timestamping", "hw_timestamp_filters",
                      "perm_macaddress"):
            b.pop(extra, None)
        if a != b:
            differ(key, a, b)
    for k in DATE_SAME:
        a = ours.get("date_time", {}).get(k)
        b = theirs.get("ansible_date_time", {}).get(k)
        if a != b:
            differ("date_time." + k, a, b)
    epoch_a = int(ours.get("date_time", {}).get("epoch", 0))
    epoch_b = int(theirs.get("ansible_date_time", {}).get("epoch", 0))
    if abs(epoch_a - epoch_b) > 300:
        differ("date_time.epoch", epoch_a, epoch_b)
    for k in ENV_SAME:
        a = ours.get("env", {}).get(k)
        b = theirs.get("ansible_env", {}).get(k)
        if a != b:
            differ("env." + k, a, b)
    # free memory moves with whatever else the machine runs: only its presence is checked
    if not isinstance(ours.get("memfree_mb"), int):
        differ("memfree_mb", ours.get("memfree_mb"), theirs.get("ansible_memfree_mb"))
    print(f"{len(SAME) + len(SETS) + len(DATE_SAME) + len(ENV_SAME)} facts compared, {bad} differ")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
