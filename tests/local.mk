# Unit tests: tests/unit/test_<module>.c, cmocka with TAP output. Each links libdrover.a.
# Integration tests: tests/integration/*.sh start real daemons and print TAP.
LOG_DRIVER = env AM_TAP_AWK='$(AWK)' $(SHELL) $(top_srcdir)/build-aux/tap-driver.sh
AM_TESTS_ENVIRONMENT = \
	CMOCKA_MESSAGE_OUTPUT=TAP; export CMOCKA_MESSAGE_OUTPUT; \
	top_srcdir='$(abs_top_srcdir)'; export top_srcdir; \
	top_builddir='$(abs_top_builddir)'; export top_builddir;

UNIT_TESTS = tests/unit/test_base
INTEGRATION_TESTS = tests/integration/daemon.sh tests/integration/service.sh \
	tests/integration/template_cli.sh

# yaml and config
UNIT_TESTS += tests/unit/test_yaml tests/unit/test_config
EXTRA_DIST += daemon/droverd.yml

# template engine
UNIT_TESTS += tests/unit/test_template
EXTRA_DIST += tests/unit/template_cases.json

# cron
UNIT_TESTS += tests/unit/test_cron
INTEGRATION_TESTS += tests/integration/cron_cli.sh

# store, jobs, scheduler
UNIT_TESTS += tests/unit/test_store tests/unit/test_job tests/unit/test_schedule

# HTTP server and client
UNIT_TESTS += tests/unit/test_http

# certificate authority
UNIT_TESTS += tests/unit/test_ca
INTEGRATION_TESTS += tests/integration/ca.sh tests/integration/ca_schedule.sh
# playbook transport and facts (play-ssh): the SSH driver skips unless
# tests/integration/ssh_transport.sh runs it against test nodes
UNIT_TESTS += tests/unit/test_ssh_transport tests/unit/test_facts
INTEGRATION_TESTS += tests/integration/ssh_transport.sh
# content (repos/)
UNIT_TESTS += tests/unit/test_repo_meta
INTEGRATION_TESTS += tests/integration/repo_yum.sh tests/integration/repo_apt.sh \
	tests/integration/sync_plans.sh \
	tests/integration/repo_resume.sh

if ENABLE_TESTS
check_PROGRAMS += $(UNIT_TESTS)
TESTS += $(UNIT_TESTS)
LDADD = $(DROVER_LIBS) $(CMOCKA_LIBS)
endif
EXTRA_DIST += tests/unit/unit.h

TESTS += $(INTEGRATION_TESTS)
EXTRA_DIST += $(INTEGRATION_TESTS) tests/lib tests/fixtures

# tests/run-all's make distcheck runs these (the integration suites ran twice before it).
print-unit-tests:
	@echo $(UNIT_TESTS)
.PHONY: print-unit-tests

# web UI and REST API: search language and permissions; RBAC, lists, audits, OpenAPI; UI security
UNIT_TESTS += tests/unit/test_search
INTEGRATION_TESTS += tests/integration/api_rbac.sh tests/integration/ui_security.sh
INTEGRATION_TESTS += tests/integration/api_hosts.sh tests/integration/api_rows.sh
UNIT_TESTS += tests/unit/test_prov_api
INTEGRATION_TESTS += tests/integration/ui_pages.sh tests/integration/ui_jobs.sh \
	tests/integration/ui_jobs_nodes.sh

# Fuzz targets (tests/fuzz/): the corpus runs as a normal test in every build; the
# libFuzzer binary is built only when configured with CC=clang --enable-fuzz.
FUZZ_CORPUS_TESTS = tests/fuzz/fuzz_api_corpus
check_PROGRAMS += $(FUZZ_CORPUS_TESTS)
tests_fuzz_fuzz_api_corpus_SOURCES = tests/fuzz/fuzz_api.c tests/fuzz/standalone.c
tests_fuzz_fuzz_api_corpus_LDADD = $(DROVER_LIBS)
INTEGRATION_TESTS += tests/fuzz/corpus.sh
EXTRA_DIST += tests/fuzz/corpus
if ENABLE_FUZZ
noinst_PROGRAMS = tests/fuzz/fuzz_api
tests_fuzz_fuzz_api_SOURCES = tests/fuzz/fuzz_api.c
tests_fuzz_fuzz_api_LDADD = $(DROVER_LIBS)
tests_fuzz_fuzz_api_LDFLAGS = -fsanitize=fuzzer
endif

# Browser test of the UI: chromium + playwright-core (npm ci into tests/browser/ on demand)
INTEGRATION_TESTS += tests/browser/ui.sh
EXTRA_DIST += tests/browser/ui.cjs tests/browser/package.json tests/browser/package-lock.json
# The browser test's screenshots, and its npm install when built outside the source tree.
clean-local: browser-clean
browser-clean:
	rm -rf tests/browser/screenshots
	if test "$(abs_srcdir)" != "$(abs_builddir)"; then \
		rm -rf tests/browser/node_modules tests/browser/package.json \
			tests/browser/package-lock.json; \
	fi
.PHONY: browser-clean
# provisioner and pxe
UNIT_TESTS += tests/unit/test_prov_model tests/unit/test_prov_compute tests/unit/test_prov_tftp \
	tests/unit/test_prov_dnsmasq
INTEGRATION_TESTS += tests/integration/prov_hostcert.sh tests/integration/http_range.sh \
	tests/integration/prov_dhcp_boot.sh
INTEGRATION_TESTS += tests/integration/prov_host.sh tests/integration/prov_tftp.sh \
	tests/integration/prov_power.sh tests/integration/prov_bootfetch.sh \
	tests/integration/prov_compute.sh tests/integration/prov_compute_libvirtd.sh
# End to end, root only (they skip otherwise): network namespaces, dnsmasq, qemu.
E2E_TESTS = tests/e2e/pxe.sh
TESTS += $(E2E_TESTS)
EXTRA_DIST += $(E2E_TESTS)
# playbook engine
UNIT_TESTS += tests/unit/test_playbooks
INTEGRATION_TESTS += tests/integration/play_local.sh tests/integration/play_ssh.sh \
	tests/integration/play_job.sh tests/integration/nodes_systemd.sh
UNIT_TESTS += tests/unit/test_play_modules
# package, service and host modules on SSH test nodes, next to ansible-playbook (play-pkg)
INTEGRATION_TESTS += tests/integration/play_packages.sh tests/integration/play_services.sh \
	tests/integration/play_systemd.sh \
	tests/integration/play_hostconf.sh
# get_url, uri, unarchive, known_hosts, git, reboot against test nodes (play-net)
INTEGRATION_TESTS += tests/integration/play_net.sh tests/integration/play_inventory.sh
# jobs: remote execution on sshd nodes; patching end to end against droverd's publication
UNIT_TESTS += tests/unit/test_jobs
INTEGRATION_TESTS += tests/integration/jobs_remote.sh tests/integration/jobs_restart.sh \
	tests/integration/jobs_git.sh
E2E_TESTS += tests/e2e/jobs_patch.sh tests/e2e/jobs_patch_dnf.sh
# OS images (mmdebstrap) and the image provision method end to end
INTEGRATION_TESTS += tests/integration/prov_image.sh
INTEGRATION_TESTS += tests/integration/prov_postinstall.sh
E2E_SLOW_TESTS = tests/e2e/pxe_image.sh
# UEFI Secure Boot: Debian's signed shim and GRUB placed by pxe setup --from/--download
INTEGRATION_TESTS += tests/integration/pxe_bootfiles.sh
# Drover's installer as the discovery image (pxe setup --discovery)
INTEGRATION_TESTS += tests/integration/pxe_discovery.sh
E2E_SLOW_TESTS += tests/e2e/pxe_secureboot.sh
EXTRA_DIST += $(E2E_SLOW_TESTS)
# The network-install method with Debian's own installer (d-i) from a mirror the test serves
E2E_SLOW_TESTS += tests/e2e/pxe_netinstall.sh
