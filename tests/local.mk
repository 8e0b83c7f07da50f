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

# playbook transport and facts (play-ssh): the SSH driver skips unless
# tests/integration/ssh_transport.sh runs it against test nodes
UNIT_TESTS += tests/unit/test_ssh_transport tests/unit/test_facts
INTEGRATION_TESTS += tests/integration/ssh_transport.sh

if ENABLE_TESTS
check_PROGRAMS += $(UNIT_TESTS)
TESTS += $(UNIT_TESTS)
LDADD = $(DROVER_LIBS) $(CMOCKA_LIBS)
endif
EXTRA_DIST += tests/unit/unit.h

TESTS += $(INTEGRATION_TESTS)
EXTRA_DIST += $(INTEGRATION_TESTS) tests/lib tests/fixtures

# playbook engine
UNIT_TESTS += tests/unit/test_playbooks
INTEGRATION_TESTS += tests/integration/play_local.sh tests/integration/play_ssh.sh \
	tests/integration/play_job.sh
