#!/usr/bin/python3
"""Generate a kickstart-like template of about 1,000 lines over about 200 variables."""
import json
import sys

out_dir = sys.argv[1]
v = {"hostname": "node01", "domain": "example.com", "lang": "en_US.UTF-8", "keyboard": "us",
     "timezone": "Europe/Berlin", "ntp": ["0.pool.ntp.org", "1.pool.ntp.org"],
     "rootpw": "$6$salt$hash", "selinux": "enforcing", "firewall": True,
     "services": {"enabled": ["sshd", "chronyd"], "disabled": ["cups", "avahi-daemon"]}}
for i in range(100):
    v["opt_%d" % i] = "value-%d" % i
for i in range(40):
    v["flag_%d" % i] = (i % 3 == 0)
for i in range(40):
    v["size_%d" % i] = 1024 * (i + 1)
v["disks"] = [{"name": "sd%s" % c, "size": 100 + i, "ssd": i % 2 == 0} for i, c in enumerate("abcdefgh")]
v["ifaces"] = {"eth%d" % i: {"ip": "10.0.%d.%d" % (i, i + 10), "prefix": 24, "mtu": 1500 + i,
                              "vlan": (i * 10 if i % 2 else None)} for i in range(8)}
v["packages"] = ["pkg-%02d" % i for i in range(60)]
v["users"] = [{"name": "user%d" % i, "uid": 1000 + i, "groups": ["wheel", "g%d" % i], "admin": i % 4 == 0}
              for i in range(20)]
v["repos"] = [{"name": "repo%d" % i, "url": "http://mirror/%d/os" % i, "enabled": i % 5 != 0} for i in range(12)]

lines = ["{# generated kickstart benchmark #}", "#version=RHEL9",
         "lang {{ lang }}", "keyboard --vckeymap={{ keyboard }}",
         "timezone {{ timezone }} --utc --ntpservers={{ ntp | join(',') }}",
         "rootpw --iscrypted {{ rootpw }}", "selinux --{{ selinux }}",
         "{% if firewall %}firewall --enabled --service=ssh{% else %}firewall --disabled{% endif %}",
         "network --hostname={{ hostname }}.{{ domain }}"]
for i in range(60):
    lines.append("# option {{ loop_guard | default('x') }} %d: {{ opt_%d | upper }} {{ opt_%d | replace('value', 'v') }}" % (i, i, i))
for i in range(40):
    lines.append("{%% if flag_%d %%}flag %d on size={{ size_%d // 1024 }}M{%% else %%}flag %d off{%% endif %%}" % (i, i, i, i))
lines += ["{% for name, nic in ifaces | dictsort %}",
          "network --device={{ name }} --bootproto=static --ip={{ nic.ip }} --netmask=255.255.255.0 --mtu={{ nic.mtu }}{% if nic.vlan %} --vlanid={{ nic.vlan }}{% endif %}",
          "{% endfor %}"]
lines += ["{% for d in disks %}",
          "part /data{{ loop.index }} --ondisk={{ d.name }} --size={{ d.size * 1024 }}{{ ' --fsoptions=discard' if d.ssd else '' }}",
          "{% endfor %}",
          "bootloader --location=mbr --boot-drive={{ (disks | first).name }}",
          "{% for r in repos if r.enabled %}",
          "repo --name={{ r.name }} --baseurl={{ r.url }} # {{ loop.index }}/{{ loop.length }}",
          "{% endfor %}",
          "services --enabled={{ services.enabled | join(',') }} --disabled={{ services.disabled | join(',') }}",
          "%packages"]
lines += ["{% for p in packages | sort %}", "{{ p }}", "{% endfor %}", "%end", "%post --log=/root/ks-post.log"]
lines += ["{% macro user(u) %}useradd -u {{ u.uid }} -G {{ u.groups | join(',') }} {{ u.name }}{% if u.admin %} && echo '{{ u.name }} ALL=(ALL) ALL' > /etc/sudoers.d/{{ u.name }}{% endif %}{% endmacro %}"]
lines += ["{% for u in users %}", "{{ user(u) }}", "{% endfor %}",
          "admins: {{ users | selectattr('admin') | map(attribute='name') | join(' ') }}"]
# Fill up to ~1,000 lines with the kind of per-line templating a post section has.
i = 0
while len(lines) < 1000:
    k = i % 100
    lines.append("echo '{{ hostname }}-%d {{ opt_%d }} {{ size_%d }}' >> /root/post.log{%% if flag_%d %%} # f{%% endif %%}" % (i, k, i % 40, i % 40))
    i += 1
lines.append("%end")
open(out_dir + "/bench.tmpl", "w").write("\n".join(lines) + "\n")
json.dump(v, open(out_dir + "/bench.json", "w"))
print("%d lines, %d variables" % (len(lines), len(v)))
