-- bench/api/seed-hosts.sql - :rows hosts in the shape droverd stores them (a JSON document
-- per host, the MAC/IP index), with what a real site has: 2 domains, 4 subnets, 24
-- hostgroups two levels deep, two NICs and a BMC per host, a dozen parameters, compute
-- attributes, a comment, and build state spread over new/building/installed/failed.
-- Run with sqlite3 against a store droverd has migrated and seeded; ROWS comes from a
-- one-row table bench_n(rows) the caller creates.
BEGIN;
INSERT INTO prov_domains (name, data, created_at, updated_at) VALUES
	('dc1.example.com', '{"fullname":"Data centre 1","parameters":{"ntp":"ntp1.dc1.example.com"}}', 1764000000, 1764000000),
	('dc2.example.com', '{"fullname":"Data centre 2","parameters":{"ntp":"ntp1.dc2.example.com"}}', 1764000000, 1764000000);
INSERT INTO prov_subnets (name, data, created_at, updated_at)
SELECT 'net' || s, json_object('network', '10.' || s || '.0.0', 'mask', '255.255.0.0',
	'gateway', '10.' || s || '.0.1', 'dns_primary', '10.' || s || '.0.2', 'from', '10.' || s || '.1.0',
	'to', '10.' || s || '.254.254', 'boot_mode', 'DHCP', 'pxe_loader', 'iPXE Chain UEFI', 'mtu', 9000,
	'vlanid', 100 + s, 'domain_id', (SELECT id FROM prov_domains WHERE name = 'dc' || (1 + s % 2) || '.example.com')),
	1764000000, 1764000000
FROM (SELECT 1 AS s UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL SELECT 4);
-- 4 parents (one per OS), 5 children each.
INSERT INTO prov_hostgroups (name, data, created_at, updated_at)
SELECT role, json_object('operatingsystem_id', os, 'architecture_id', 1, 'medium_id',
	(SELECT json_extract(data, '$.medium_ids[0]') FROM prov_operatingsystems WHERE id = os),
	'provision_method', 'build', 'parameters', json_object('team', role || '-team', 'tier', 'prod'),
	'comment', 'Hosts that run ' || role), 1764000000, 1764000000
FROM (SELECT 'k8s' AS role, 1 AS os UNION ALL SELECT 'web', 2 UNION ALL SELECT 'db', 3
	UNION ALL SELECT 'storage', 4);
INSERT INTO prov_hostgroups (name, data, created_at, updated_at)
SELECT p.name || '-' || c.n, json_object('parent_id', p.id, 'subnet_id', 1 + (p.id + c.n) % 4,
	'domain_id', 1 + c.n % 2, 'parameters', json_object('rack', 'r' || c.n)), 1764000000, 1764000000
FROM prov_hostgroups p, (SELECT 1 AS n UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL SELECT 4
	UNION ALL SELECT 5) c WHERE p.name IN ('k8s', 'web', 'db', 'storage');
CREATE TEMP TABLE g AS SELECT row_number() OVER (ORDER BY id) - 1 AS k, id FROM prov_hostgroups
	WHERE name LIKE '%-%';
CREATE TEMP TABLE h AS
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < (SELECT rows FROM bench_n))
SELECT i, (SELECT id FROM g WHERE k = i % 20) AS hg, 1 + i % 4 AS sn, 1 + i % 2 AS dom,
	printf('52:54:00:%02x:%02x:%02x', i / 65536 % 256, i / 256 % 256, i % 256) AS mac,
	printf('52:54:01:%02x:%02x:%02x', i / 65536 % 256, i / 256 % 256, i % 256) AS mac2,
	'10.' || (1 + i % 4) || '.' || (1 + i / 250 % 250) || '.' || (1 + i % 250) AS ip,
	CASE WHEN i % 20 = 0 THEN 'new' WHEN i % 20 = 1 THEN 'building' WHEN i % 20 = 2 THEN 'failed'
		ELSE 'installed' END AS status
FROM n;
INSERT INTO prov_hosts (id, name, data, created_at, updated_at)
SELECT i, printf('node%05d.dc%d.example.com', i, dom), json_patch('{}', json_object(
	'hostgroup_id', hg, 'domain_id', dom, 'subnet_id', sn,
	'owner', CASE i % 3 WHEN 0 THEN 'admin' WHEN 1 THEN 'ops' ELSE 'ci' END,
	'parameters', json_object('rack', 'r' || (i % 40), 'row', 'row' || (i % 8), 'serial',
		printf('SN%08d', i * 7919), 'asset_tag', 'A' || i, 'kernel_args', 'console=ttyS0,115200n8',
		'ntp_servers', 'ntp1.example.com ntp2.example.com', 'cpu_model', 'AMD EPYC 7443P',
		'cpus', 48, 'memory_mb', 262144, 'disk', 'nvme0n1', 'bios_version', '2.14.1',
		'bmc_firmware', '5.10.00'),
	'comment', 'Rack ' || (i % 40) || ', unit ' || (i % 42),
	'interfaces', json_array(
		json_object('type', 'interface', 'identifier', 'eno1', 'mac', mac, 'ip', ip,
			'subnet_id', sn, 'primary', json('true'), 'provision', json('true'),
			'managed', json('true')),
		json_object('type', 'interface', 'identifier', 'eno2', 'mac', mac2,
			'managed', json('false')),
		json_object('type', 'bmc', 'provider', 'redfish', 'url',
			'https://bmc-' || i || '.oob.example.com', 'username', 'root', 'password',
			'enc:v1:c2VhbGVkLXBhc3N3b3JkLW5vdC1zaG93bg')),
	'build', CASE status WHEN 'building' THEN json('true') ELSE json('false') END,
	'status', status,
	'build_started_at', 1764000000 + i,
	'installed_at', CASE status WHEN 'installed' THEN 1764003600 + i END)),
	1764000000 + i, 1764003600 + i
FROM h;
INSERT INTO prov_interfaces (mac, host_id, ip) SELECT mac, i, ip FROM h;
INSERT INTO prov_interfaces (mac, host_id, ip) SELECT mac2, i, NULL FROM h;
COMMIT;
