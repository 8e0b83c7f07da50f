# jobs/: remote execution, the playbook library, package profiles (issue 6).
libdrover_a_SOURCES += jobs/jobs.h jobs/jobs_int.h \
	jobs/jobs.c \
	jobs/identity.c \
	jobs/targets.c \
	jobs/remote.c \
	jobs/library.c \
	jobs/profile.c \
	jobs/patch.c \
	jobs/drift.c \
	jobs/git.c \
	jobs/gitcred.c \
	jobs/syncplan.c \
	jobs/api.c \
	jobs/ui.c
webui_asset_files += webui/templates/sync_plans.html webui/templates/job_runs.html \
	webui/templates/drift.html webui/templates/job_run_new.html \
	webui/templates/patch_run_new.html
